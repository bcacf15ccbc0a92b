// Option groups several subcommands share: video input (range, sampling,
// ROI) and model selection. They fill library structs directly.
#pragma once

#include <optional>
#include <string>

#include "CLI/CLI.hpp"
#include "absl/status/statusor.h"
#include "common/roi.h"
#include "models/model_repository.h"
#include "video/frame_source.h"

namespace dnoscope::app {

struct VideoArgs {
  std::string video;
  std::string frames;  // "START:END"
  int skip = 1;
  std::string roi;     // "X0,Y0,X1,Y1"
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

}  // namespace dnoscope::app
