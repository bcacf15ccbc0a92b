// ONNX export of a trained specialized classifier (libonnx protobuf classes;
// no libtorch). The graph carries its own preprocessing so that any ONNX
// runtime serves it as it is:
//
//   "images" UINT8 [N,H,W,3] BGR          (N symbolic)
//   -> Cast(float) -> Mul(1/255) -> Transpose(0,3,1,2)
//   -> BatchNormalization(scale 1, bias 0, mean, var = std^2)   per channel
//   -> conv_layers x { Conv 3x3 pad 1 -> Relu -> MaxPool 2x2 }
//   -> Flatten -> Gemm -> Relu -> Gemm -> Sigmoid
//   -> "confidence" FP32 [N,1]
//
// Per-channel BatchNormalization rather than a broadcast Sub of a mean
// image: OpenCV 4.6's importer fails on that broadcast for batches > 1.
// Opset 13, IR version 7. The result passes onnx::checker.
//
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/clock.h"
#include "train/trained_model.h"

namespace dnoscope::train {

inline constexpr char kOnnxInputName[] = "images";
inline constexpr char kOnnxOutputName[] = "confidence";

// The serialized ModelProto. InvalidArgument for an invalid model (see
// ValidateTrainedModel); Internal when the checker rejects the graph.
absl::StatusOr<std::string> ExportOnnx(const TrainedModel& model);

// Runs serialized ONNX classifier bytes with OpenCV DNN (CPU) on `count`
// uint8 BGR HWC images of width x height stored back to back; returns one
// confidence per image. InvalidArgument when OpenCV cannot import the graph
// or the output is not [count,1]; Internal for inference failures.
absl::StatusOr<std::vector<float>> RunOnnxWithOpenCv(const std::string& onnx_bytes,
                                                     const uint8_t* images, int64_t count,
                                                     int width, int height);

// Inference cost of serialized ONNX classifier bytes under OpenCV DNN:
// median wall time per frame, in milliseconds, of `repetitions` (>= 1)
// calls on `count` images each, after one warm-up call. `clock` is not
// owned. Errors as RunOnnxWithOpenCv.
absl::StatusOr<double> MeasureOpenCvMsPerFrame(const std::string& onnx_bytes, const uint8_t* images,
                                               int64_t count, int width, int height,
                                               int repetitions, Clock* clock);

}  // namespace dnoscope::train
