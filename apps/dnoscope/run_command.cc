// `dnoscope run`: the local cascade over a video.
#include <cstdio>
#include <fstream>
#include <iostream>

#include "cascade/cascade.h"
#include "cascade/summary.h"
#include "commands.h"
#include "common/progress.h"
#include "common/status_macros.h"
#include "common_options.h"
#include "fmt/format.h"
#include "labels/prediction_csv.h"
#include "spdlog/spdlog.h"

namespace dnoscope::app {
namespace {

struct RunArgs {
  VideoArgs video;
  std::string config_path;
  std::string out;
  std::string summary_json;
  bool compare_decode = false;
  std::string progress = "auto";
  // Overrides of the cascade config; applied only when given.
  std::string model_repository, object, reference, reference_weights, reference_names;
  std::string specialized, diff_metric, diff_reference, diff_resolution, background;
  float min_confidence = 0, c_low = 0, c_high = 1;
  double diff_threshold = 0;
  bool no_diff = false;
};

template <typename T>
void Override(CLI::App* app, const char* flag, const T& value, T* target) {
  if (app->count(flag) > 0) *target = value;
}

absl::Status ParseResolution(const std::string& text, int* w, int* h) {
  if (std::sscanf(text.c_str(), "%dx%d", w, h) != 2 || *w < 1 || *h < 1) {
    return absl::InvalidArgumentError(
        fmt::format("bad resolution '{}': expected WIDTHxHEIGHT, e.g. 100x100", text));
  }
  return absl::OkStatus();
}

absl::Status ApplyOverrides(CLI::App* app, const RunArgs& a, cascade::CascadeConfig* c) {
  Override(app, "--model-repository", a.model_repository, &c->model_repository);
  Override(app, "--object", a.object, &c->object);
  Override(app, "--min-confidence", a.min_confidence, &c->min_confidence);
  Override(app, "--reference", a.reference, &c->reference.model);
  Override(app, "--reference-weights", a.reference_weights, &c->reference.weights);
  Override(app, "--reference-names", a.reference_names, &c->reference.names);
  Override(app, "--specialized", a.specialized, &c->specialized.model);
  Override(app, "--c-low", a.c_low, &c->c_low);
  Override(app, "--c-high", a.c_high, &c->c_high);
  Override(app, "--diff-threshold", a.diff_threshold, &c->diff.threshold);
  Override(app, "--background", a.background, &c->diff_background);
  if (a.no_diff) c->diff_enabled = false;
  if (app->count("--skip") > 0) c->skip = a.video.skip;
  if (!a.video.roi.empty()) {
    DNS_ASSIGN_OR_RETURN(c->roi, ToRoi(a.video.roi));
  }
  if (!a.diff_metric.empty()) {
    DNS_ASSIGN_OR_RETURN(c->diff.metric, detect::ParseDiffMetric(a.diff_metric));
  }
  if (!a.diff_reference.empty())
    DNS_RETURN_IF_ERROR(detect::ParseReferenceMode(a.diff_reference, &c->diff));
  if (!a.diff_resolution.empty()) {
    DNS_RETURN_IF_ERROR(ParseResolution(a.diff_resolution, &c->diff.width, &c->diff.height));
  }
  return cascade::ValidateCascadeConfig(*c);
}

void AddOverrideOptions(CLI::App* sub, RunArgs* a) {
  sub->add_option("--model-repository", a->model_repository,
                  "Model repository root for model names");
  sub->add_option("--object", a->object, "Object class the query asks for (default: person)");
  sub->add_option("--min-confidence", a->min_confidence,
                  "Reference detections below this score are ignored (default: 0)");
  sub->add_option(
      "--reference", a->reference,
      "Reference detector: hog, a .onnx/.cfg file or a repository model name (default: hog)");
  sub->add_option("--reference-weights", a->reference_weights,
                  "Darknet .weights for a .cfg reference");
  sub->add_option("--reference-names", a->reference_names, "Class names file for the reference");
  sub->add_option("--specialized", a->specialized,
                  "Specialized classifier (.onnx file or repository name); off by default");
  sub->add_option("--c-low", a->c_low,
                  "Specialized confidence at or below which a frame is absent (default: 0)");
  sub->add_option("--c-high", a->c_high,
                  "Specialized confidence at or above which a frame is present (default: 1)");
  sub->add_option("--diff-threshold", a->diff_threshold,
                  "Difference threshold: a frame whose MSE to its reference frame is at most this "
                  "reuses that frame's label (default: 0 = only identical frames)");
  sub->add_option("--diff-metric", a->diff_metric, "global or blocked MSE (default: global)");
  sub->add_option(
      "--diff-reference", a->diff_reference,
      "Reference frame: anchor (last model-labelled frame), delta:N (N processed frames "
      "earlier) or background (needs --background) (default: anchor)");
  sub->add_option("--diff-resolution", a->diff_resolution,
                  "Resolution the difference detector compares at, WxH (default: 100x100)");
  sub->add_option("--background", a->background,
                  "Empty-scene image for --diff-reference background");
  sub->add_flag("--no-diff", a->no_diff, "Disable the difference detector");
}

absl::Status ExecuteRun(CLI::App* app, const RunArgs& a) {
  cascade::CascadeConfig config;
  if (!a.config_path.empty()) {
    DNS_ASSIGN_OR_RETURN(config, cascade::ReadCascadeConfig(a.config_path));
  }
  DNS_RETURN_IF_ERROR(ApplyOverrides(app, a, &config));
  DNS_ASSIGN_OR_RETURN(video::FrameSourceOptions source_options, ToFrameSourceOptions(a.video));
  source_options.skip = config.skip;
  DNS_ASSIGN_OR_RETURN(auto source, video::OpenFrameSource(source_options));

  models::ModelSpec reference_spec = config.reference;
  reference_spec.repository = config.model_repository;
  DNS_ASSIGN_OR_RETURN(auto reference, models::LoadModel(reference_spec));
  std::unique_ptr<models::Model> specialized;
  if (config.specialized_enabled()) {
    models::ModelSpec spec = config.specialized;
    spec.repository = config.model_repository;
    DNS_ASSIGN_OR_RETURN(specialized, models::LoadModel(spec));
  }
  DNS_ASSIGN_OR_RETURN(auto cascade, cascade::Cascade::Create(config, {}, std::move(specialized),
                                                              std::move(reference), Clock::Real()));

  std::unique_ptr<labels::PredictionCsvWriter> writer;
  if (!a.out.empty()) {
    DNS_ASSIGN_OR_RETURN(writer, labels::PredictionCsvWriter::Open(a.out));
  }
  const video::VideoInfo info = source->info();
  spdlog::info(
      "run: {} ({}x{}, {:.2f} fps, {} frames), reference '{}'{}", info.uri, info.width, info.height,
      info.fps, info.frame_count, config.reference.model,
      config.specialized_enabled() ? ", specialized '" + config.specialized.model + "'" : "");
  std::optional<ProgressReporter> progress =
      MakeFrameProgress(a.progress, info, source_options.range);
  auto on_result = [&](const labels::FrameResult& r) {
    return writer ? writer->Write(r) : absl::OkStatus();
  };
  auto on_progress = [&](const cascade::CascadeSummary& s) {
    if (progress) progress->Update(s.frames, cascade::StatusShareLine(s));
  };
  absl::StatusOr<cascade::CascadeSummary> summary = cascade->Run(*source, on_result, on_progress);
  progress.reset();
  if (writer) DNS_RETURN_IF_ERROR(writer->Close());
  if (!summary.ok()) return summary.status();
  if (a.compare_decode) {
    if (info.live)
      return absl::InvalidArgumentError("--compare-decode needs a file, not a live stream");
    DNS_ASSIGN_OR_RETURN(auto again, video::OpenFrameSource(source_options));
    DNS_ASSIGN_OR_RETURN(summary->decode_only_frames_per_second,
                         cascade::MeasureDecodeOnly(*again, config, {}, Clock::Real()));
  }
  std::FILE* table_out = a.out == "-" ? stderr : stdout;
  std::fputs(cascade::SummaryToTable(*summary, info).c_str(), table_out);
  if (!a.summary_json.empty()) {
    std::ofstream json(a.summary_json);
    json << cascade::SummaryToJson(*summary, info) << "\n";
    if (!json) return absl::PermissionDeniedError(fmt::format("cannot write '{}'", a.summary_json));
  }
  return absl::OkStatus();
}

}  // namespace

Command AddRunCommand(CLI::App& root) {
  auto args = std::make_shared<RunArgs>();
  CLI::App* sub = root.add_subcommand(
      "run",
      "Run the cascade (difference detector -> specialized model -> reference detector) over a "
      "video and write one row per frame: frame,label,status,diff_score,"
      "specialized_confidence,reference_confidence");
  AddVideoOptions(*sub, &args->video);
  sub->add_option("--config", args->config_path,
                  "Cascade config JSON (models, thresholds, resolutions, ROI, object); options "
                  "below override it");
  sub->add_option("--out", args->out, "Output CSV, '-' for stdout (default: none, summary only)");
  sub->add_option("--summary-json", args->summary_json,
                  "Write the run summary as JSON to this file");
  sub->add_flag("--compare-decode", args->compare_decode,
                "After the run, time a decode-and-resize-only pass over the same input and report "
                "cascade frames/s relative to it");
  AddProgressOption(*sub, &args->progress);
  AddOverrideOptions(sub, args.get());
  return {sub, [sub, args] { return ExecuteRun(sub, *args); }};
}

}  // namespace dnoscope::app
