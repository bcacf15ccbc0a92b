// Option groups several subcommands share: video input (range, sampling,
// ROI) and model selection. They fill library structs directly.
#pragma once

#include <optional>
#include <string>

#include "CLI/CLI.hpp"
#include "absl/status/statusor.h"
#include "common/progress.h"
#include "common/roi.h"
#include "models/model_repository.h"
#include "video/frame_source.h"

namespace dnoscope::app {

struct VideoArgs {
  std::string video;
  std::string frames;  // "START:END"
  int skip = 1;
  std::string roi;  // "X0,Y0,X1,Y1"
};

// Adds --video, --frames, --skip, --roi to `app`.
void AddVideoOptions(CLI::App& app, VideoArgs* args);

// Parsed --frames/--skip/--video as FrameSourceOptions.
absl::StatusOr<video::FrameSourceOptions> ToFrameSourceOptions(const VideoArgs& args);
// Parsed --roi (nullopt when not given).
absl::StatusOr<std::optional<Roi>> ToRoi(const std::string& text);

// Adds --model (default `default_model`), --weights, --names,
// --model-repository and --model-version to `app`.
void AddModelOptions(CLI::App& app, models::ModelSpec* spec, const std::string& default_model);

// Whether a terminal progress bar should be drawn.
bool UseTerminalProgress();

// Adds --progress (auto, bar, log, off) to `app`.
void AddProgressOption(CLI::App& app, std::string* mode);

// A progress display for `mode` over the frames of `range` in a video of
// `info` (no total when the frame count is unknown); nullopt for "off".
std::optional<ProgressReporter> MakeFrameProgress(const std::string& mode,
                                                  const video::VideoInfo& info,
                                                  const FrameRange& range);

}  // namespace dnoscope::app
