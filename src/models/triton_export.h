// Exports an ONNX model of a dnoscope model repository in the layout of
// Triton Inference Server's model repository, for its ONNX Runtime backend:
//
//   <triton_repository>/<name>/config.pbtxt
//   <triton_repository>/<name>/<version>/model.onnx     (a copy of the graph)
//
// config.pbtxt is derived from the graph itself (names, element types and
// shapes of its inputs and outputs, read from the ONNX file) plus the
// serving settings of the model's config.json (max batch size, instance
// count, dynamic batching delay and preferred sizes).
//
// Batch dimension: when the first dimension of every graph input and output
// is symbolic, Triton batches along it (max_batch_size > 0, dims without
// it, dynamic_batching on). A graph with a fixed first dimension is exported
// as it is with max_batch_size 0 and its full shapes: rewriting the
// dimension would be wrong for graphs whose Reshape constants bake the batch
// size in, and max_batch_size 0 is how Triton serves fixed-shape models.
//
// Thread-safety: pure functions; concurrent exports must name different
// Triton models.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "models/backends/onnx_info.h"
#include "models/model_config.h"

namespace dnoscope::models {

struct TritonTensorConfig {
  std::string name;
  // Triton data type, e.g. "TYPE_FP32", "TYPE_UINT8".
  std::string data_type;
  // Without the batch dimension when max_batch_size > 0; -1 = variable.
  std::vector<int64_t> dims;
  // Set for a per-item scalar ([N] in the graph): Triton needs dims [1]
  // and a reshape to the empty shape.
  bool reshape_to_scalar = false;
};

struct TritonModelConfig {
  std::string name;
  // 0: the graph has no batch dimension Triton may use (see the file comment).
  int max_batch_size = 0;
  std::vector<TritonTensorConfig> inputs;
  std::vector<TritonTensorConfig> outputs;
  // Instances per device; 0 leaves instance_group out (Triton's default).
  int instance_count = 1;
  // dynamic_batching {} is written when max_batch_size > 0.
  int64_t max_queue_delay_us = 0;
  std::vector<int> preferred_batch_sizes;
};

// The Triton type name of an onnx.TensorProto.DataType (1 -> "TYPE_FP32",
// 2 -> "TYPE_UINT8", ...). InvalidArgument for unknown or unsupported types.
absl::StatusOr<std::string> TritonDataType(int onnx_elem_type);

// The Triton config for serving `graph` as `name`. `max_batch_size` (>= 1)
// applies when the graph is batchable; `serving` supplies instance count and
// dynamic batching settings. InvalidArgument for a graph without inputs or
// outputs, with an unsupported type, or with an unknown rank.
absl::StatusOr<TritonModelConfig> MakeTritonConfig(const OnnxGraphInfo& graph,
                                                   const std::string& name, int max_batch_size,
                                                   const ModelConfig& serving);

// config.pbtxt text (protobuf text format of Triton's ModelConfig) with
// platform "onnxruntime_onnx" and backend "onnxruntime".
std::string TritonConfigToPbtxt(const TritonModelConfig& config);

struct TritonExportOptions {
  // dnoscope model repository and the model to export from it.
  std::string repository;
  std::string model;
  // Version to export; -1 = the highest. The Triton version keeps the number.
  int64_t version = -1;
  // Triton model repository root (created when missing).
  std::string triton_repository;
  // Triton model name; empty = `model`.
  std::string triton_name;
  // 0 = config.json's max_batch_size (64 when that is 0 too).
  int max_batch_size = 0;
};

struct TritonExport {
  std::string config_path;
  std::string onnx_path;
  int64_t version = 0;
  TritonModelConfig config;
};

// Writes the export. An existing identical version is accepted as it is
// (exporting twice is harmless). Errors: NotFound for an unknown model or
// version; FailedPrecondition for a model that is not ONNX (Darknet, HOG,
// replay, identity), and when the Triton model already has other versions
// under a different config.pbtxt (Triton serves all versions of a model
// with one config); AlreadyExists when the Triton version holds a different
// graph; InvalidArgument as MakeTritonConfig or for a bad name;
// PermissionDenied/Internal for I/O failures.
absl::StatusOr<TritonExport> ExportForTriton(const TritonExportOptions& options);

}  // namespace dnoscope::models
