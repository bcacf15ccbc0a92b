#include "models/triton_export.h"

#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <utility>

#include "common/file.h"
#include "common/status_macros.h"
#include "fmt/format.h"
#include "fmt/ranges.h"
#include "models/backends/backend_util.h"
#include "models/model_repository.h"

namespace dnoscope::models {
namespace {

namespace fs = std::filesystem;

constexpr char kTritonModelFile[] = "model.onnx";
constexpr char kTritonConfigFile[] = "config.pbtxt";
// Triton's max_batch_size when neither the caller nor config.json gives one.
constexpr int kDefaultMaxBatchSize = 64;

absl::Status Annotate(const absl::Status& status, const std::string& context) {
  return absl::Status(status.code(), fmt::format("{}: {}", context, std::string(status.message())));
}

// Triton batches along the first dimension only when every tensor has it
// symbolic; one fixed first dimension means the graph has no batch axis.
bool HasDynamicBatch(const OnnxGraphInfo& graph) {
  auto dynamic = [](const OnnxValueInfo& v) { return !v.dims.empty() && v.dims[0] < 0; };
  return std::all_of(graph.inputs.begin(), graph.inputs.end(), dynamic) &&
         std::all_of(graph.outputs.begin(), graph.outputs.end(), dynamic);
}

absl::StatusOr<TritonTensorConfig> TensorConfig(const OnnxValueInfo& v, bool batched) {
  if (v.dims.empty()) {
    return absl::InvalidArgumentError(fmt::format(
        "graph tensor '{}' declares no shape; Triton needs its dims (re-export the ONNX model "
        "with shapes)",
        v.name));
  }
  absl::StatusOr<std::string> type = TritonDataType(v.elem_type);
  if (!type.ok()) return Annotate(type.status(), fmt::format("graph tensor '{}'", v.name));
  TritonTensorConfig t;
  t.name = v.name;
  t.data_type = *type;
  t.dims.assign(v.dims.begin() + (batched ? 1 : 0), v.dims.end());
  if (t.dims.empty()) {
    t.dims = {1};
    t.reshape_to_scalar = true;
  }
  return t;
}

absl::StatusOr<std::vector<TritonTensorConfig>> TensorConfigs(
    const std::vector<OnnxValueInfo>& values, bool batched, const char* what) {
  if (values.empty()) return absl::InvalidArgumentError(fmt::format("the graph has no {}", what));
  std::vector<TritonTensorConfig> out;
  for (const OnnxValueInfo& v : values) {
    DNS_ASSIGN_OR_RETURN(TritonTensorConfig t, TensorConfig(v, batched));
    out.push_back(std::move(t));
  }
  return out;
}

// A protobuf text-format string literal.
std::string Quoted(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (u < 0x20 || u == 0x7f) {
      out += fmt::format("\\{:03o}", u);
    } else {
      out += c;
    }
  }
  return out + "\"";
}

std::string TensorsPbtxt(const char* field, const std::vector<TritonTensorConfig>& tensors) {
  std::vector<std::string> items;
  for (const TritonTensorConfig& t : tensors) {
    std::string item = fmt::format("  {{\n    name: {}\n    data_type: {}\n    dims: [ {} ]\n",
                                   Quoted(t.name), t.data_type, fmt::join(t.dims, ", "));
    if (t.reshape_to_scalar) item += "    reshape: { shape: [ ] }\n";
    items.push_back(item + "  }");
  }
  return fmt::format("{} [\n{}\n]\n", field, fmt::join(items, ",\n"));
}

// Refuses to change the config other versions of the Triton model use.
absl::Status CheckConfigCompatible(const fs::path& model_dir, const std::string& pbtxt,
                                   int64_t version) {
  const fs::path path = model_dir / kTritonConfigFile;
  std::error_code ec;
  if (!fs::exists(path, ec)) return absl::OkStatus();
  DNS_ASSIGN_OR_RETURN(std::string existing, ReadFile(path.string()));
  std::vector<int64_t> others = VersionFolders(model_dir.string());
  std::erase(others, version);
  if (existing == pbtxt || others.empty()) return absl::OkStatus();
  return absl::FailedPreconditionError(fmt::format(
      "'{}' differs from the config this export needs, and Triton serves versions {} of that "
      "model with it: export under another Triton model name, or remove those versions",
      path.string(), fmt::join(others, ", ")));
}

// Moves the graph into <model_dir>/<version>/model.onnx through a hidden
// staging folder, so Triton's repository polling never sees a partial file.
absl::Status WriteVersion(const fs::path& model_dir, int64_t version,
                          const std::string& onnx_bytes) {
  const fs::path final_dir = model_dir / std::to_string(version);
  std::error_code ec;
  if (fs::exists(final_dir, ec)) {
    absl::StatusOr<std::string> existing = ReadFile((final_dir / kTritonModelFile).string());
    if (existing.ok() && *existing == onnx_bytes) return absl::OkStatus();
    return absl::AlreadyExistsError(fmt::format(
        "'{}' already holds another model: remove it or export under another Triton model name",
        final_dir.string()));
  }
  const fs::path staging = model_dir / fmt::format(".incoming-{}-{}", version, getpid());
  absl::Status status = WriteFile((staging / kTritonModelFile).string(), onnx_bytes);
  if (status.ok()) fs::rename(staging, final_dir, ec);
  if (status.ok() && ec) {
    status = absl::AbortedError(
        fmt::format("cannot move the new version into '{}': {}", final_dir.string(), ec.message()));
  }
  if (!status.ok()) fs::remove_all(staging, ec);
  return status;
}

// The ONNX file of a repository model; FailedPrecondition for other kinds.
absl::StatusOr<std::string> OnnxModelPath(const ModelConfig& config, const std::string& dir) {
  std::string extension = fs::path(config.model_file).extension().string();
  std::transform(extension.begin(), extension.end(), extension.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (config.backend != "opencv_dnn" || extension != ".onnx") {
    return absl::FailedPreconditionError(fmt::format(
        "model '{}' is a {} model{}: only ONNX models can be served by Triton's ONNX Runtime "
        "backend",
        config.name, config.backend,
        config.model_file.empty() ? "" : fmt::format(" ({})", config.model_file)));
  }
  return ResolvePath(dir, config.model_file);
}

}  // namespace

absl::StatusOr<std::string> TritonDataType(int onnx_elem_type) {
  // onnx.TensorProto.DataType -> Triton's DataType names.
  static constexpr std::pair<int, const char*> kTypes[] = {
      {1, "TYPE_FP32"},    {2, "TYPE_UINT8"}, {3, "TYPE_INT8"},  {4, "TYPE_UINT16"},
      {5, "TYPE_INT16"},   {6, "TYPE_INT32"}, {7, "TYPE_INT64"}, {8, "TYPE_STRING"},
      {9, "TYPE_BOOL"},    {10, "TYPE_FP16"}, {11, "TYPE_FP64"}, {12, "TYPE_UINT32"},
      {13, "TYPE_UINT64"}, {16, "TYPE_BF16"}};
  for (const auto& [onnx, triton] : kTypes) {
    if (onnx == onnx_elem_type) return std::string(triton);
  }
  return absl::InvalidArgumentError(
      fmt::format("ONNX element type {} has no Triton data type (unknown, complex or 8-bit float)",
                  onnx_elem_type));
}

absl::StatusOr<TritonModelConfig> MakeTritonConfig(const OnnxGraphInfo& graph,
                                                   const std::string& name, int max_batch_size,
                                                   const ModelConfig& serving) {
  if (max_batch_size < 1) return absl::InvalidArgumentError("max batch size must be >= 1");
  TritonModelConfig c;
  c.name = name;
  const bool batched = HasDynamicBatch(graph);
  DNS_ASSIGN_OR_RETURN(c.inputs, TensorConfigs(graph.inputs, batched, "inputs"));
  DNS_ASSIGN_OR_RETURN(c.outputs, TensorConfigs(graph.outputs, batched, "outputs"));
  c.instance_count = serving.instance_count;
  if (!batched) return c;
  c.max_batch_size = max_batch_size;
  c.max_queue_delay_us = serving.max_queue_delay_us;
  for (int size : serving.preferred_batch_sizes) {
    if (size < 1 || size > max_batch_size) {
      return absl::InvalidArgumentError(
          fmt::format("preferred batch size {} of config.json is not in 1..{} (the max batch size)",
                      size, max_batch_size));
    }
  }
  c.preferred_batch_sizes = serving.preferred_batch_sizes;
  return c;
}

std::string TritonConfigToPbtxt(const TritonModelConfig& c) {
  std::string text = fmt::format(
      "name: {}\nplatform: \"onnxruntime_onnx\"\nbackend: \"onnxruntime\"\nmax_batch_size: {}\n",
      Quoted(c.name), c.max_batch_size);
  text += TensorsPbtxt("input", c.inputs);
  text += TensorsPbtxt("output", c.outputs);
  if (c.instance_count > 0) {
    text += fmt::format("instance_group [\n  {{\n    count: {}\n  }}\n]\n", c.instance_count);
  }
  if (c.max_batch_size > 0) {
    text += "dynamic_batching {\n";
    if (!c.preferred_batch_sizes.empty()) {
      text +=
          fmt::format("  preferred_batch_size: [ {} ]\n", fmt::join(c.preferred_batch_sizes, ", "));
    }
    if (c.max_queue_delay_us > 0) {
      text += fmt::format("  max_queue_delay_microseconds: {}\n", c.max_queue_delay_us);
    }
    text += "}\n";
  }
  return text;
}

absl::StatusOr<TritonExport> ExportForTriton(const TritonExportOptions& options) {
  if (options.triton_repository.empty())
    return absl::InvalidArgumentError("no Triton repository given");
  if (options.max_batch_size < 0) return absl::InvalidArgumentError("max batch size must be >= 0");
  DNS_ASSIGN_OR_RETURN(std::unique_ptr<ModelRepository> repository,
                       ModelRepository::Open(options.repository));
  TritonExport out;
  DNS_ASSIGN_OR_RETURN(out.version, repository->ResolveVersion(options.model, options.version));
  DNS_ASSIGN_OR_RETURN(const RepositoryEntry* entry, repository->Find(options.model));
  const ModelConfig& serving = entry->config;
  DNS_ASSIGN_OR_RETURN(std::string source,
                       OnnxModelPath(serving, repository->VersionDir(options.model, out.version)));
  DNS_ASSIGN_OR_RETURN(std::string onnx_bytes, ReadFile(source));
  absl::StatusOr<OnnxGraphInfo> graph = ParseOnnxGraphInfo(onnx_bytes);
  if (!graph.ok()) return Annotate(graph.status(), source);
  const std::string name = options.triton_name.empty() ? options.model : options.triton_name;
  DNS_RETURN_IF_ERROR(ValidateModelName(name));
  const int max_batch_size = options.max_batch_size > 0   ? options.max_batch_size
                             : serving.max_batch_size > 0 ? serving.max_batch_size
                                                          : kDefaultMaxBatchSize;
  absl::StatusOr<TritonModelConfig> config =
      MakeTritonConfig(*graph, name, max_batch_size, serving);
  if (!config.ok()) return Annotate(config.status(), source);
  out.config = *std::move(config);

  const fs::path model_dir = fs::path(options.triton_repository) / name;
  const std::string pbtxt = TritonConfigToPbtxt(out.config);
  DNS_RETURN_IF_ERROR(CheckConfigCompatible(model_dir, pbtxt, out.version));
  DNS_RETURN_IF_ERROR(WriteVersion(model_dir, out.version, onnx_bytes));
  out.config_path = (model_dir / kTritonConfigFile).string();
  DNS_RETURN_IF_ERROR(WriteFileAtomically(out.config_path, pbtxt));
  out.onnx_path = (model_dir / std::to_string(out.version) / kTritonModelFile).string();
  return out;
}

}  // namespace dnoscope::models
