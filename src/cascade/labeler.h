// `dnoscope label`: runs a reference detector over a video and produces
// NoScope label CSV rows. Frames not sampled (skip > 1) get a copy of the
// last sampled frame's rows with their own frame number, as NoScope's
// sampling does; undecodable frames get no rows and are counted.
//
// Thread-safety: LabelVideo runs on the calling thread only.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/clock.h"
#include "labels/label_csv.h"
#include "models/model.h"
#include "video/frame_source.h"

namespace dnoscope::cascade {

struct LabelRunSummary {
  int64_t frames = 0;
  // Frames the detector ran on (sampled and decodable).
  int64_t detected_frames = 0;
  int64_t frames_with_detections = 0;
  int64_t detections = 0;
  int64_t corrupt_frames = 0;
  double wall_seconds = 0;
  double detector_seconds = 0;
};

// Called with each frame's kept detections, in frame order.
using DetectionsCallback = std::function<absl::Status(const std::vector<labels::Detection>&)>;
using LabelProgressCallback = std::function<void(const LabelRunSummary&)>;

// Detections are kept when `filter` matches them (class name mapped through
// the model's class_names). `model` and `clock` are not owned.
absl::StatusOr<LabelRunSummary> LabelVideo(video::FrameSource& source, models::Model& model,
                                           const labels::LabelFilter& filter, Clock* clock,
                                           const DetectionsCallback& on_frame,
                                           const LabelProgressCallback& on_progress = {});

}  // namespace dnoscope::cascade
