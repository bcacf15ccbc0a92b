// Label-replay model: answers detector requests from a NoScope label CSV
// after an emulated service time, so that experiments can run "the reference
// model" at scale on a machine too small to run the real one.
//
// Inputs: "frame_index" INT64 [1] (required); "image" is optional and ignored.
// Output: "detections" FP32 [N,6] with the CSV rows of that frame (only
// rows of ReplayOptions::object_name when set). Boxes are the CSV's
// full-frame pixels whatever image was sent; score = the CSV confidence.
// class_names: the sorted unique object names of the CSV (just object_name
// when set).
//
// Thread-safety: as Model (one instance per thread).
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "common/clock.h"
#include "models/model.h"
#include "models/model_config.h"

namespace dnoscope::models {

// Reads `labels_path` once. `clock` (not owned; must outlive the model)
// performs the service-time sleep. NotFound / InvalidArgument from reading
// the CSV.
absl::StatusOr<std::unique_ptr<Model>> CreateReplayModel(const std::string& labels_path,
                                                         const ReplayOptions& options,
                                                         const std::string& name, int64_t version,
                                                         Clock* clock = Clock::Real());

}  // namespace dnoscope::models
