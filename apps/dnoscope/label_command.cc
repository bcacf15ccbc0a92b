// `dnoscope label`: reference labels for a video, as NoScope's label CSV.
#include <cstdio>

#include "cascade/labeler.h"
#include "commands.h"
#include "common/progress.h"
#include "common/status_macros.h"
#include "common_options.h"
#include "fmt/format.h"
#include "spdlog/spdlog.h"

namespace dnoscope::app {
namespace {

struct LabelArgs {
  VideoArgs video;
  models::ModelSpec model;
  std::string object;
  float min_confidence = 0;
  std::string out;
  std::string progress = "auto";
};

absl::Status ExecuteLabel(const LabelArgs& a) {
  DNS_ASSIGN_OR_RETURN(video::FrameSourceOptions options, ToFrameSourceOptions(a.video));
  labels::LabelFilter filter;
  filter.object_name = a.object;
  filter.min_confidence = a.min_confidence;
  DNS_ASSIGN_OR_RETURN(filter.roi, ToRoi(a.video.roi));
  DNS_ASSIGN_OR_RETURN(auto model, models::LoadModel(a.model));
  DNS_ASSIGN_OR_RETURN(auto source, video::OpenFrameSource(options));
  const video::VideoInfo& info = source->info();
  if (filter.roi) DNS_RETURN_IF_ERROR(CheckRoiInFrame(*filter.roi, info.width, info.height));
  DNS_ASSIGN_OR_RETURN(auto writer, labels::LabelCsvWriter::Open(a.out));

  std::optional<ProgressReporter> progress = MakeFrameProgress(a.progress, info, options.range);
  auto on_frame = [&](const std::vector<labels::Detection>& rows) {
    for (const labels::Detection& d : rows) DNS_RETURN_IF_ERROR(writer->Write(d));
    return absl::OkStatus();
  };
  auto on_progress = [&](const cascade::LabelRunSummary& s) {
    if (progress) {
      progress->Update(s.frames,
                       fmt::format("{} frames with detections", s.frames_with_detections));
    }
  };
  absl::StatusOr<cascade::LabelRunSummary> s =
      cascade::LabelVideo(*source, *model, filter, Clock::Real(), on_frame, on_progress);
  progress.reset();
  DNS_RETURN_IF_ERROR(writer->Close());
  if (!s.ok()) return s.status();
  std::printf(
      "labelled %lld frames of %s with '%s': %lld detections, %lld frames with detections "
      "(%.1f%%), %lld corrupt; %.2f s (%.1f frames/s, detector %.1f ms/frame) -> %s\n",
      static_cast<long long>(s->frames), info.uri.c_str(), a.model.model.c_str(),
      static_cast<long long>(s->detections), static_cast<long long>(s->frames_with_detections),
      s->frames ? 100.0 * s->frames_with_detections / s->frames : 0.0,
      static_cast<long long>(s->corrupt_frames), s->wall_seconds,
      s->wall_seconds > 0 ? s->frames / s->wall_seconds : 0.0,
      s->detected_frames ? 1000.0 * s->detector_seconds / s->detected_frames : 0.0,
      a.out.c_str());
  return absl::OkStatus();
}

}  // namespace

Command AddLabelCommand(CLI::App& root) {
  auto args = std::make_shared<LabelArgs>();
  CLI::App* sub = root.add_subcommand(
      "label",
      "Run a reference detector over a video and write NoScope's label CSV "
      "(frame,object_name,confidence,xmin,ymin,xmax,ymax; one row per detection)");
  AddVideoOptions(*sub, &args->video);
  AddModelOptions(*sub, &args->model, "hog");
  sub->add_option("--object", args->object, "Keep only detections of this class (default: all)");
  sub->add_option("--min-confidence", args->min_confidence,
                  "Keep only detections scoring at least this")
      ->capture_default_str();
  sub->add_option("--out", args->out, "Label CSV to write")->required();
  AddProgressOption(*sub, &args->progress);
  return {sub, [args] { return ExecuteLabel(*args); }};
}

}  // namespace dnoscope::app
