// `dnoscope eval`: accuracy of a run's output against reference labels.
#include <cstdio>

#include "commands.h"
#include "common/status_macros.h"
#include "common_options.h"
#include "labels/evaluation.h"
#include "spdlog/spdlog.h"

namespace dnoscope::app {
namespace {

struct EvalArgs {
  std::string labels, predictions, object = "person", roi, frames;
  float min_confidence = 0;
  int window = 30;
  int window_min = 28;
  bool json = false;
};

absl::Status ExecuteEval(const EvalArgs& a) {
  DNS_ASSIGN_OR_RETURN(std::vector<labels::Detection> truth_rows, labels::ReadLabelCsv(a.labels));
  DNS_ASSIGN_OR_RETURN(std::vector<labels::FrameResult> predictions,
                       labels::ReadPredictionCsv(a.predictions));
  labels::EvalOptions options;
  options.window = a.window;
  options.window_min_positive = a.window_min;
  if (!a.frames.empty()) {
    DNS_ASSIGN_OR_RETURN(options.range, ParseFrameRange(a.frames));
  }
  labels::LabelFilter filter{a.object, a.min_confidence, std::nullopt};
  DNS_ASSIGN_OR_RETURN(filter.roi, ToRoi(a.roi));
  int64_t num_frames = options.range.end.value_or(0);
  for (const labels::FrameResult& r : predictions) num_frames = std::max(num_frames, r.frame + 1);
  labels::LabelIndex truth = labels::LabelIndex::Build(truth_rows, filter, num_frames);
  DNS_ASSIGN_OR_RETURN(labels::EvalResult r, labels::Evaluate(truth, predictions, options));
  if (r.end_clipped) {
    spdlog::warn(
        "no predictions for frames {}:{} (past the end of the video?): evaluating frames {}:{}",
        r.end, *options.range.end, r.start, r.end);
  }
  if (a.json) {
    std::printf("%s\n", labels::EvalResultToJson(r).c_str());
    return absl::OkStatus();
  }
  std::printf(
      "frames      %lld (TP %lld, FP %lld, TN %lld, FN %lld)\n"
      "per frame   accuracy %.4f, FP rate %.4f, FN rate %.4f\n"
      "per window  %lld windows of %d (positive with >= %d): accuracy %.4f, FP rate %.4f, FN "
      "rate %.4f\n",
      static_cast<long long>(r.frames), static_cast<long long>(r.true_positives),
      static_cast<long long>(r.false_positives), static_cast<long long>(r.true_negatives),
      static_cast<long long>(r.false_negatives), r.accuracy, r.fp_rate, r.fn_rate,
      static_cast<long long>(r.windows), a.window, a.window_min, r.window_accuracy,
      r.window_fp_rate, r.window_fn_rate);
  return absl::OkStatus();
}

}  // namespace

Command AddEvalCommand(CLI::App& root) {
  auto args = std::make_shared<EvalArgs>();
  CLI::App* sub = root.add_subcommand(
      "eval",
      "Compare a run's output CSV with a label CSV: per-frame FP rate (FP/(FP+TN)), FN rate "
      "(FN/(FN+TP)), accuracy, and NoScope's per-window figures");
  sub->add_option("--labels", args->labels, "Reference label CSV (NoScope format)")->required();
  sub->add_option("--predictions", args->predictions, "Output CSV of 'dnoscope run'")->required();
  sub->add_option("--object", args->object, "Object class that counts as positive")
      ->capture_default_str();
  sub->add_option("--min-confidence", args->min_confidence,
                  "Reference detections below this score do not count")
      ->capture_default_str();
  sub->add_option("--roi", args->roi, "Only boxes whose centre lies in X0,Y0,X1,Y1 count");
  sub->add_option("--frames", args->frames,
                  "Frame range START:END to compare (default: every predicted frame)");
  sub->add_option("--window", args->window, "Window length in frames for per-window figures")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  sub->add_option("--window-min", args->window_min,
                  "Positive frames a window needs to count as positive")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  sub->add_flag("--json", args->json, "Print the figures as JSON");
  return {sub, [args] { return ExecuteEval(*args); }};
}

}  // namespace dnoscope::app
