// Label-replay models: answer requests from a NoScope label CSV after an
// emulated service time, so that experiments can run "the reference model"
// (or a zero-cost specialized model) at scale on a machine too small to run
// the real one.
//
// Detector (CreateReplayModel, config "kind": "detector"):
//   Inputs: "frame_index" INT64 [1] (required); "image" is optional and ignored.
//   Output: "detections" FP32 [N,6] with the CSV rows of that frame (only
//   rows of ReplayOptions::object_name when set); score = the CSV
//   confidence. Boxes are in pixels of the image sent, as a real detector's,
//   when ReplayOptions gives the labelled video's frame size; otherwise in
//   the CSV's full-frame pixels whatever image was sent.
//   class_names: the sorted unique object names of the CSV (just object_name
//   when set).
// Classifier (CreateReplayClassifier, config "kind": "classifier"), the
// specialized-model contract of models/model.h plus the frame numbers:
//   Inputs: "image" UINT8 [N,H,W,3] (required, content ignored) and
//   "frame_index" INT64 [N] (required, the 0-based frame of each row).
//   Output: "confidence" FP32 [N,1]: per row, the highest CSV confidence of
//   that frame's rows (of object_name when set), 0 for frames without rows.
//   models::Classify cannot drive it (it sends only the image input); build
//   the request with both tensors.
// Both sleep options.service_time_ms once per Infer call (per request or
// per batch) on the injected Clock.
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

// The replay classifier's output name.
inline constexpr char kReplayConfidenceOutput[] = "confidence";

// Reads `labels_path` once. `clock` (not owned; must outlive the model)
// performs the service-time sleep. NotFound / InvalidArgument from reading
// the CSV.
absl::StatusOr<std::unique_ptr<Model>> CreateReplayModel(const std::string& labels_path,
                                                         const ReplayOptions& options,
                                                         const std::string& name, int64_t version,
                                                         Clock* clock = Clock::Real());

// The classifier described above. `max_batch_size` becomes
// metadata().max_batch_size (0: no server-side batching; any N is accepted
// per call); with a positive value Infer rejects N above it. Errors and
// `clock` as CreateReplayModel; InvalidArgument for a negative max_batch_size.
absl::StatusOr<std::unique_ptr<Model>> CreateReplayClassifier(const std::string& labels_path,
                                                              const ReplayOptions& options,
                                                              const std::string& name,
                                                              int64_t version, int max_batch_size,
                                                              Clock* clock = Clock::Real());

}  // namespace dnoscope::models
