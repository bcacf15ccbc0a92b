// Adds an exported specialized classifier to a model repository (layout in
// models/model_repository.h) as a new version:
//
//   <repository>/<name>/config.json        opencv_dnn classifier, files.model
//                                          "model.onnx", max batch, input size
//   <repository>/<name>/<version>/model.onnx
//   <repository>/<name>/<version>/training_summary.json
//
// version = highest existing version + 1 (1 for a new model). The version
// folder is assembled under a hidden name, loaded once through
// models::CreateModel, and only then renamed into place, so readers never
// see a half-written or unloadable version. An existing config.json is kept
// when it describes the same kind of model, else the write is refused.
//
// Thread-safety: one writer per model name at a time (a concurrent writer
// of the same name gets an error, never a mixed version).
#pragma once

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"

namespace dnoscope::train {

struct RepositoryWriteOptions {
  // Repository root (created when missing) and model name (letters, digits,
  // '.', '_', '-'; not starting with '.').
  std::string repository;
  std::string name;
  // config.json max_batch_size of a new model.
  int max_batch_size = 64;
};

struct WrittenModel {
  std::string config_path;
  std::string version_dir;
  std::string onnx_path;
  std::string summary_path;
  int64_t version = 0;
};

// Writes `onnx_bytes` (a classifier taking UINT8 [N,height,width,3]) and
// `summary_json`. Errors: InvalidArgument for a bad name or a model that
// does not load; FailedPrecondition when <name> exists as another kind of
// model or input size; PermissionDenied/Internal for I/O failures.
absl::StatusOr<WrittenModel> WriteModelToRepository(const RepositoryWriteOptions& options,
                                                    const std::string& onnx_bytes, int width,
                                                    int height, const std::string& summary_json);

}  // namespace dnoscope::train
