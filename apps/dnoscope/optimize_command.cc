// `dnoscope optimize`: choose the cascade's thresholds on a fitting range and
// write the cascade config.
#include <cstdio>

#include "commands.h"
#include "common/status_macros.h"
#include "common_options.h"
#include "fmt/format.h"
#include "optimizer/optimizer.h"
#include "optimizer/report.h"
#include "spdlog/spdlog.h"

namespace dnoscope::app {
namespace {

struct OptimizeArgs {
  std::string video, frames, labels, out, roi, progress = "auto";
  std::string object = "person";
  std::string model_repository = "models";
  std::string specialized;  // default: specialized-<object>
  std::string reference = "hog", reference_weights, reference_names;
  float min_confidence = 0;
  std::string diff_metric = "global", diff_reference = "anchor", diff_resolution = "100x100";
  std::string background;
  double target_fp = 0.01, target_fn = 0.01;
  std::vector<int> skip_candidates = {1};
  bool window_targets = false, fail_if_unmet = false;
  int window = 30, window_min = 28;
  double confidence = 0;
  double cost_diff_ms = 0, cost_specialized_ms = 0, cost_reference_ms = 0;
  int reference_timing_frames = 8, specialized_timing_frames = 32;
};

absl::Status ParseResolution(const std::string& text, int* w, int* h) {
  if (std::sscanf(text.c_str(), "%dx%d", w, h) != 2 || *w < 1 || *h < 1) {
    return absl::InvalidArgumentError(
        fmt::format("bad resolution '{}': expected WIDTHxHEIGHT, e.g. 100x100", text));
  }
  return absl::OkStatus();
}

absl::StatusOr<cascade::CascadeConfig> BaseConfig(const OptimizeArgs& a) {
  cascade::CascadeConfig c;
  c.object = a.object;
  c.min_confidence = a.min_confidence;
  DNS_ASSIGN_OR_RETURN(c.roi, ToRoi(a.roi));
  c.model_repository = a.model_repository;
  c.specialized.model = a.specialized.empty() ? "specialized-" + a.object : a.specialized;
  if (c.specialized.model == "none") c.specialized.model.clear();
  c.reference.model = a.reference;
  c.reference.weights = a.reference_weights;
  c.reference.names = a.reference_names;
  DNS_ASSIGN_OR_RETURN(c.diff.metric, detect::ParseDiffMetric(a.diff_metric));
  DNS_RETURN_IF_ERROR(detect::ParseReferenceMode(a.diff_reference, &c.diff));
  DNS_RETURN_IF_ERROR(ParseResolution(a.diff_resolution, &c.diff.width, &c.diff.height));
  c.diff_background = a.background;
  return c;
}

absl::StatusOr<optimizer::OptimizeOptions> ToOptions(CLI::App* app, const OptimizeArgs& a) {
  optimizer::OptimizeOptions o;
  DNS_ASSIGN_OR_RETURN(o.base, BaseConfig(a));
  o.video = a.video;
  DNS_ASSIGN_OR_RETURN(o.range, ParseFrameRange(a.frames));
  o.labels_path = a.labels;
  o.targets = {.max_fp_rate = a.target_fp,
               .max_fn_rate = a.target_fn,
               .per_window = a.window_targets,
               .window = a.window,
               .window_min_positive = a.window_min,
               .confidence = a.confidence};
  o.skip_candidates = a.skip_candidates;
  if (app->count("--cost-diff-ms")) o.cost_difference_ms = a.cost_diff_ms;
  if (app->count("--cost-specialized-ms")) o.cost_specialized_ms = a.cost_specialized_ms;
  if (app->count("--cost-reference-ms")) o.cost_reference_ms = a.cost_reference_ms;
  o.reference_timing_frames = o.cost_reference_ms ? 0 : a.reference_timing_frames;
  o.specialized_timing_frames = o.cost_specialized_ms ? 0 : a.specialized_timing_frames;
  return o;
}

absl::Status ExecuteOptimize(CLI::App* app, const OptimizeArgs& a) {
  DNS_ASSIGN_OR_RETURN(optimizer::OptimizeOptions options, ToOptions(app, a));
  DNS_ASSIGN_OR_RETURN(video::VideoInfo info, video::ProbeVideo(a.video));
  std::optional<ProgressReporter> progress = MakeFrameProgress(a.progress, info, options.range);
  auto on_frame = [&](int64_t done) {
    if (progress) progress->Update(done, "reading the fitting range");
  };
  absl::StatusOr<optimizer::OptimizeResult> result =
      optimizer::Optimize(options, Clock::Real(), on_frame);
  progress.reset();
  if (!result.ok()) return result.status();
  DNS_RETURN_IF_ERROR(optimizer::WriteOptimizedConfig(a.out, *result, options));
  std::fputs(optimizer::FormatReport(*result, options).c_str(), stdout);
  std::printf("wrote %s\n", a.out.c_str());
  if (!result->search.met_targets) {
    spdlog::warn("optimize: targets not met; {} holds the safe fallback setting", a.out);
    if (a.fail_if_unmet) {
      return absl::FailedPreconditionError(
          "no setting meets the targets (--fail-if-unmet); the fallback config was written");
    }
  }
  return absl::OkStatus();
}

void AddQueryOptions(CLI::App* sub, OptimizeArgs* a) {
  sub->add_option("--video", a->video, "Video file the fitting range is read from")->required();
  sub->add_option("--frames", a->frames,
                  "Threshold-fitting range START:END (0-based, END exclusive); keep it disjoint "
                  "from the training range")
      ->required();
  sub->add_option("--labels", a->labels,
                  "Reference label CSV (NoScope format, e.g. from 'dnoscope label') covering the "
                  "range")
      ->required();
  sub->add_option("--object", a->object, "Object class the query asks for")->capture_default_str();
  sub->add_option("--out", a->out, "Cascade config JSON to write (for 'dnoscope run --config')")
      ->required();
  sub->add_option("--roi", a->roi,
                  "Region of interest X0,Y0,X1,Y1: an object counts when its box centre lies "
                  "inside; the cheap stages see only this crop (default: whole frame)");
  sub->add_option("--min-confidence", a->min_confidence,
                  "Reference detections (and label rows) below this score do not count")
      ->capture_default_str();
}

void AddModelChoiceOptions(CLI::App* sub, OptimizeArgs* a) {
  sub->add_option("--model-repository", a->model_repository,
                  "Model repository root for model names")
      ->capture_default_str();
  sub->add_option("--specialized", a->specialized,
                  "Specialized classifier: repository name or .onnx file; 'none' to tune the "
                  "cascade without it (default: specialized-<object>)");
  sub->add_option("--reference", a->reference,
                  "Reference detector: hog, a .onnx/.cfg file or a repository model name")
      ->capture_default_str();
  sub->add_option("--reference-weights", a->reference_weights,
                  "Darknet .weights for a .cfg reference");
  sub->add_option("--reference-names", a->reference_names,
                  "Class names file for the reference (default for Darknet/ONNX: COCO's 80)");
}

void AddDifferenceOptions(CLI::App* sub, OptimizeArgs* a) {
  sub->add_option("--diff-metric", a->diff_metric, "Difference metric: global or blocked MSE")
      ->capture_default_str();
  sub->add_option("--diff-reference", a->diff_reference,
                  "Reference frame: anchor (last model-labelled frame), delta:N (N processed "
                  "frames earlier) or background (needs --background)")
      ->capture_default_str();
  sub->add_option("--diff-resolution", a->diff_resolution,
                  "Resolution the difference detector compares at, WxH; the optimizer keeps one "
                  "image of this size per fitting frame (30 KB at 100x100)")
      ->capture_default_str();
  sub->add_option("--background", a->background,
                  "Empty-scene image for --diff-reference background");
}

void AddSearchOptions(CLI::App* sub, OptimizeArgs* a) {
  sub->add_option("--target-fp", a->target_fp,
                  "Highest acceptable false-positive rate FP/(FP+TN) against the labels")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 1.0));
  sub->add_option("--target-fn", a->target_fn,
                  "Highest acceptable false-negative rate FN/(FN+TP) against the labels")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 1.0));
  sub->add_option("--confidence", a->confidence,
                  "0: the fitting range's FP/FN rates must meet the targets (NoScope). In (0,1): "
                  "the upper end of each rate's one-sided Wilson interval at this confidence must, "
                  "a margin for frames the fitting range did not show")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 0.999));
  sub->add_flag("--window-targets", a->window_targets,
                "Apply the targets to NoScope's per-window rates instead of per-frame rates");
  sub->add_option("--window", a->window, "Window length in frames for --window-targets")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  sub->add_option("--window-min", a->window_min,
                  "Positive frames a window needs to count as positive")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  sub->add_option("--skip-candidates", a->skip_candidates,
                  "Sampling periods to try, e.g. 1,2,5 (frames not sampled copy the previous "
                  "label)")
      ->delimiter(',')
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  sub->add_flag("--fail-if-unmet", a->fail_if_unmet,
                "Exit with an error when no setting meets the targets (the safe fallback config "
                "is still written); by default only a warning is printed");
}

void AddCostOptions(CLI::App* sub, OptimizeArgs* a) {
  sub->add_option("--cost-diff-ms", a->cost_diff_ms,
                  "Difference-detector cost per frame in ms, incl. crop and resize (default: "
                  "measured on every fitting frame)");
  sub->add_option("--cost-specialized-ms", a->cost_specialized_ms,
                  "Specialized-model cost per frame in ms at batch 1, incl. crop and resize "
                  "(default: measured on --specialized-timing-frames frames)");
  sub->add_option("--cost-reference-ms", a->cost_reference_ms,
                  "Reference cost per frame in ms (default: measured on --reference-timing-frames "
                  "frames spread over the range)");
  sub->add_option("--reference-timing-frames", a->reference_timing_frames,
                  "Frames the reference is timed on (plus one warm-up run)")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  sub->add_option("--specialized-timing-frames", a->specialized_timing_frames,
                  "Frames the specialized model is timed on at batch 1")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
}

}  // namespace

Command AddOptimizeCommand(CLI::App& root) {
  auto args = std::make_shared<OptimizeArgs>();
  CLI::App* sub = root.add_subcommand(
      "optimize",
      "Choose the cascade's difference threshold, specialized thresholds c_low/c_high (and "
      "optionally the frame skip) on a threshold-fitting range so that FP and FN rates against "
      "the reference labels stay under the targets at the lowest expected cost per frame; "
      "stage costs are measured on this machine. Writes the cascade config for 'dnoscope run "
      "--config' with an \"optimizer\" report. When no setting meets the targets it says so and "
      "writes the safe setting (difference threshold 0, every changed frame to the reference)");
  AddQueryOptions(sub, args.get());
  AddModelChoiceOptions(sub, args.get());
  AddDifferenceOptions(sub, args.get());
  AddSearchOptions(sub, args.get());
  AddCostOptions(sub, args.get());
  AddProgressOption(*sub, &args->progress);
  return {sub, [sub, args] { return ExecuteOptimize(sub, *args); }};
}

}  // namespace dnoscope::app
