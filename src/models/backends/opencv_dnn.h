// OpenCV DNN backend (DNN_BACKEND_OPENCV on the CPU):
//  - detectors from Darknet (.cfg + .weights: YOLOv2 [region], YOLOv3/v4 and
//    Yolo-Fastest [yolo]) or ONNX (YOLOv5 / YOLOv8 exports): input "image"
//    UINT8 [H,W,3] BGR of any size, output "detections" FP32 [N,6] in that
//    image's pixels (see models/detector_head.h for the decoding);
//  - classifiers from ONNX graphs that take UINT8 [N,H,W,3] BGR and do the
//    cast/scale/normalise/transpose themselves, output FP32 [N,1]. The input
//    and output names are the graph's own (read from the ONNX file; "images"
//    and "confidence" when the file declares none).
//
// Thread-safety: as Model (one instance per thread; cv::dnn::Net is not
// thread-safe).
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "models/model.h"
#include "models/model_config.h"

namespace dnoscope::models {

// Loads config.model_file (and weights/names) resolved against
// `version_dir`, resolves input sizes left at 0 from the model, and runs one
// warm-up inference to check that the outputs match the class names.
// NotFound for missing files; InvalidArgument for unsupported or corrupt
// models, or outputs that do not match the configuration.
absl::StatusOr<std::unique_ptr<Model>> CreateOpenCvDnnModel(const ModelConfig& config,
                                                            const std::string& version_dir,
                                                            int64_t version);

}  // namespace dnoscope::models
