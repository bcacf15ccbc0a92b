// Reads the graph inputs and outputs (names, element types, shapes) of an
// ONNX model by walking the protobuf wire format directly: OpenCV 4.6's DNN
// API does not expose them, and the names are what clients must send.
// Pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace dnoscope::models {

struct OnnxValueInfo {
  std::string name;
  // onnx.TensorProto.DataType: 1 FLOAT, 2 UINT8, 7 INT64, ... (0: unknown).
  int elem_type = 0;
  // -1 for symbolic or unknown dimensions.
  std::vector<int64_t> dims;
};

struct OnnxGraphInfo {
  // Graph inputs that are not initializers (older exporters list weights too).
  std::vector<OnnxValueInfo> inputs;
  std::vector<OnnxValueInfo> outputs;
};

// InvalidArgument when `model_bytes` is not a well-formed ModelProto with a graph.
absl::StatusOr<OnnxGraphInfo> ParseOnnxGraphInfo(std::string_view model_bytes);

// NotFound when the file cannot be read; otherwise as ParseOnnxGraphInfo.
absl::StatusOr<OnnxGraphInfo> ReadOnnxGraphInfo(const std::string& path);

}  // namespace dnoscope::models
