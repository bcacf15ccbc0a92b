// Built-in HOG people detector: OpenCV's HOGDescriptor with its default
// people SVM (weights ship inside OpenCV, nothing to download), as a detector
// Model ("image" in, "detections" out, class_names {"person"}).
//
// A detection's score is the SVM decision value detectMultiScale returns for
// the box: larger is more certain, but it is NOT a probability (values above
// 1 are common), so do not mix it with YOLO confidences.
//
// Thread-safety: as Model (one instance per thread).
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "models/model.h"
#include "models/model_config.h"

namespace dnoscope::models {

// Never fails today; StatusOr keeps the factory shape of the other backends.
absl::StatusOr<std::unique_ptr<Model>> CreateHogModel(const HogOptions& options,
                                                      const std::string& name, int64_t version);

}  // namespace dnoscope::models
