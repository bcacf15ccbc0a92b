#include "common_options.h"

#include "common/progress.h"
#include "common/status_macros.h"

namespace dnoscope::app {

void AddVideoOptions(CLI::App& app, VideoArgs* args) {
  app.add_option("--video", args->video,
                 "Video file (mp4, avi, mkv...) or stream/device URL FFmpeg opens "
                 "(udp://, tcp://, rtsp://, /dev/video0)")
      ->required();
  app.add_option("--frames", args->frames,
                 "Frame range START:END, 0-based, END exclusive; START: or :END allowed "
                 "(default: the whole video)");
  app.add_option("--skip", args->skip,
                 "Process every Nth frame; the others copy the label of the processed frame "
                 "before them, as NoScope does")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  app.add_option("--roi", args->roi,
                 "Region of interest X0,Y0,X1,Y1 in frame pixels: an object counts when its box "
                 "centre lies inside; the cheap stages see only this crop (default: whole frame)");
}

absl::StatusOr<video::FrameSourceOptions> ToFrameSourceOptions(const VideoArgs& args) {
  video::FrameSourceOptions options;
  options.uri = args.video;
  options.skip = args.skip;
  if (!args.frames.empty()) {
    DNS_ASSIGN_OR_RETURN(options.range, ParseFrameRange(args.frames));
  }
  return options;
}

absl::StatusOr<std::optional<Roi>> ToRoi(const std::string& text) {
  if (text.empty()) return std::optional<Roi>();
  DNS_ASSIGN_OR_RETURN(Roi roi, ParseRoi(text));
  return std::optional<Roi>(roi);
}

void AddModelOptions(CLI::App& app, models::ModelSpec* spec, const std::string& default_model) {
  spec->model = default_model;
  app.add_option("--model", spec->model,
                 "Model: 'hog' (OpenCV's built-in people detector), a .onnx file, a Darknet .cfg "
                 "(with --weights), or a model name in --model-repository")
      ->capture_default_str();
  app.add_option("--weights", spec->weights, "Darknet .weights file for a .cfg model");
  app.add_option("--names", spec->names,
                 "Class names file, one per line (default for Darknet/ONNX detectors: COCO's 80)");
  app.add_option("--model-repository", spec->repository,
                 "Model repository root (<repo>/<model>/config.json + <repo>/<model>/<version>/)");
  app.add_option("--model-version", spec->version, "Repository model version (-1: the highest)")
      ->capture_default_str();
}

bool UseTerminalProgress() { return ProgressReporter::StderrIsTerminal(); }

void AddProgressOption(CLI::App& app, std::string* mode) {
  app.add_option(
         "--progress", *mode,
         "Progress display: auto (a bar on a terminal, log lines otherwise), bar, log or off")
      ->capture_default_str()
      ->check(CLI::IsMember({"auto", "bar", "log", "off"}));
}

std::optional<ProgressReporter> MakeFrameProgress(const std::string& mode,
                                                  const video::VideoInfo& info,
                                                  const FrameRange& range) {
  if (mode == "off") return std::nullopt;
  ProgressReporter::Options options;
  options.terminal = mode == "bar" || (mode == "auto" && UseTerminalProgress());
  if (info.frame_count > 0) {
    const int64_t end = std::min(range.end.value_or(info.frame_count), info.frame_count);
    options.total = std::max<int64_t>(0, end - range.start);
  }
  return std::optional<ProgressReporter>(std::in_place, options, Clock::Real());
}

}  // namespace dnoscope::app
