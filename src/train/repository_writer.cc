#include "train/repository_writer.h"

#include <unistd.h>

#include <filesystem>

#include "common/file.h"
#include "common/status_macros.h"
#include "fmt/format.h"
#include "models/model_config.h"
#include "models/model_repository.h"

namespace dnoscope::train {
namespace {

namespace fs = std::filesystem;

constexpr char kOnnxFile[] = "model.onnx";
constexpr char kSummaryFile[] = "training_summary.json";

models::ModelConfig MakeConfig(const RepositoryWriteOptions& o, int width, int height) {
  models::ModelConfig c;
  c.name = o.name;
  c.backend = "opencv_dnn";
  c.kind = "classifier";
  c.model_file = kOnnxFile;
  c.max_batch_size = o.max_batch_size;
  c.classifier_width = width;
  c.classifier_height = height;
  return c;
}

// The config to use: the existing one when compatible, else `fresh`.
absl::StatusOr<models::ModelConfig> ResolveConfig(const fs::path& config_path,
                                                  const models::ModelConfig& fresh) {
  std::error_code ec;
  if (!fs::exists(config_path, ec)) return fresh;
  DNS_ASSIGN_OR_RETURN(std::string text, ReadFile(config_path.string()));
  DNS_ASSIGN_OR_RETURN(models::ModelConfig existing,
                       models::ParseModelConfig(text, config_path.string(), fresh.name));
  const bool size_ok =
      (existing.classifier_width == 0 || existing.classifier_width == fresh.classifier_width) &&
      (existing.classifier_height == 0 || existing.classifier_height == fresh.classifier_height);
  if (existing.backend != "opencv_dnn" || existing.kind != "classifier" ||
      existing.model_file != kOnnxFile || !size_ok) {
    return absl::FailedPreconditionError(fmt::format(
        "'{}' describes a {} {} ({}, input {}x{}), not a {}x{} opencv_dnn classifier in {}: "
        "choose another model name",
        config_path.string(), existing.backend, existing.kind, existing.model_file,
        existing.classifier_width, existing.classifier_height, fresh.classifier_width,
        fresh.classifier_height, kOnnxFile));
  }
  return existing;
}

// Writes the files into `dir` and checks that the model loads from there.
absl::Status StageVersion(const fs::path& dir, const models::ModelConfig& config, int64_t version,
                          const std::string& onnx_bytes, const std::string& summary_json) {
  std::error_code ec;
  if (!fs::create_directories(dir, ec) || ec) {
    return absl::PermissionDeniedError(
        fmt::format("cannot create '{}': {}", dir.string(), ec ? ec.message() : "it exists"));
  }
  DNS_RETURN_IF_ERROR(WriteFile((dir / kOnnxFile).string(), onnx_bytes));
  DNS_RETURN_IF_ERROR(WriteFile((dir / kSummaryFile).string(), summary_json));
  absl::StatusOr<std::unique_ptr<models::Model>> loaded =
      models::CreateModel(config, dir.string(), version);
  if (!loaded.ok()) {
    return absl::InvalidArgumentError(fmt::format("the exported model does not load: {}",
                                                  std::string(loaded.status().message())));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<WrittenModel> WriteModelToRepository(const RepositoryWriteOptions& options,
                                                    const std::string& onnx_bytes, int width,
                                                    int height, const std::string& summary_json) {
  DNS_RETURN_IF_ERROR(models::ValidateModelName(options.name));
  if (options.repository.empty()) return absl::InvalidArgumentError("no repository given");
  if (options.max_batch_size < 1) return absl::InvalidArgumentError("max batch size must be >= 1");
  const fs::path model_dir = fs::path(options.repository) / options.name;
  std::error_code ec;
  fs::create_directories(model_dir, ec);
  if (ec || !fs::is_directory(model_dir, ec)) {
    return absl::PermissionDeniedError(
        fmt::format("cannot create model folder '{}'", model_dir.string()));
  }
  WrittenModel w;
  w.config_path = (model_dir / "config.json").string();
  DNS_ASSIGN_OR_RETURN(models::ModelConfig config,
                       ResolveConfig(w.config_path, MakeConfig(options, width, height)));
  const std::vector<int64_t> versions = models::VersionFolders(model_dir.string());
  w.version = versions.empty() ? 1 : versions.back() + 1;
  const fs::path staging = model_dir / fmt::format(".incoming-{}-{}", w.version, getpid());
  absl::Status staged = StageVersion(staging, config, w.version, onnx_bytes, summary_json);
  if (staged.ok()) {
    staged = WriteFileAtomically(w.config_path, models::ModelConfigToJson(config) + "\n");
  }
  const fs::path final_dir = model_dir / std::to_string(w.version);
  // rename() refuses an existing non-empty folder: a concurrent writer won.
  if (staged.ok()) fs::rename(staging, final_dir, ec);
  if (staged.ok() && ec) {
    staged = absl::AbortedError(
        fmt::format("cannot move the new version into '{}': {}", final_dir.string(), ec.message()));
  }
  if (!staged.ok()) {
    fs::remove_all(staging, ec);
    return staged;
  }
  w.version_dir = final_dir.string();
  w.onnx_path = (final_dir / kOnnxFile).string();
  w.summary_path = (final_dir / kSummaryFile).string();
  return w;
}

}  // namespace dnoscope::train
