// Model status, model metadata and error documents of tfserving.h. Small and off the hot path,
// so they go through an nlohmann DOM.
#include <charconv>

#include "absl/status/status.h"
#include "common/status_macros.h"
#include "fmt/format.h"
#include "protocol/json_reader.h"
#include "protocol/tfserving.h"

namespace dnoscope::protocol {
namespace {

constexpr std::string_view kDefaultSignature = "serving_default";
constexpr std::string_view kPredictMethod = "tensorflow/serving/predict";

absl::Status Invalid(std::string message) {
  return absl::InvalidArgumentError(std::move(message));
}

std::string_view TfDtypeName(DataType dtype) {
  switch (dtype) {
    case DataType::kUint8:
      return "DT_UINT8";
    case DataType::kInt32:
      return "DT_INT32";
    case DataType::kInt64:
      return "DT_INT64";
    case DataType::kFp32:
      return "DT_FLOAT";
    case DataType::kBytes:
      return "DT_STRING";
  }
  return "DT_INVALID";
}

absl::StatusOr<DataType> TfDtypeFromName(std::string_view name, std::string_view context) {
  for (DataType t :
       {DataType::kUint8, DataType::kInt32, DataType::kInt64, DataType::kFp32, DataType::kBytes}) {
    if (TfDtypeName(t) == name) return t;
  }
  return Invalid(fmt::format("{}: unsupported dtype '{}' (expected DT_UINT8, DT_INT32, DT_INT64, "
                             "DT_FLOAT or DT_STRING)", context, name));
}

absl::StatusOr<Json> ParseObject(std::string_view body, std::string_view what) {
  DNS_ASSIGN_OR_RETURN(ParsedJson parsed, ParseJson(body, /*capture_tensor_data=*/false));
  if (!parsed.root.is_object()) {
    return Invalid(fmt::format("{} must be a JSON object, got {}", what, parsed.root.type_name()));
  }
  return std::move(parsed.root);
}

absl::StatusOr<const Json*> GetObject(const Json& object, std::string_view key,
                                      std::string_view context) {
  DNS_ASSIGN_OR_RETURN(const Json* v, GetOptionalObject(object, key, context));
  if (v == nullptr) return Invalid(fmt::format("{}: missing required field '{}'", context, key));
  return v;
}

Json TensorMap(const std::vector<TensorInfo>& tensors) {
  Json map = Json::object();
  for (const TensorInfo& t : tensors) {
    Json dims = Json::array();
    for (int64_t d : t.shape) dims.push_back({{"size", std::to_string(d)}, {"name", ""}});
    map[t.name] = {{"dtype", std::string(TfDtypeName(t.dtype))},
                   {"tensor_shape", {{"dim", std::move(dims)}, {"unknown_rank", false}}},
                   {"name", t.name}};
  }
  return map;
}

absl::StatusOr<int64_t> ParseDimSize(const Json& size, std::string_view context) {
  int64_t value = 0;
  if (size.is_number_integer() && !(size.is_number_unsigned() && size.get<uint64_t>() > INT64_MAX)) {
    value = size.get<int64_t>();
  } else if (size.is_string()) {
    const std::string& s = size.get_ref<const std::string&>();
    const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
    if (ec != std::errc() || end != s.data() + s.size()) value = -2;
  } else {
    value = -2;
  }
  if (value < -1) {
    return Invalid(fmt::format("{}: bad dimension size {}", context, DumpJson(size)));
  }
  return value;
}

absl::StatusOr<std::vector<int64_t>> ParseTensorShape(const Json& info, std::string_view context) {
  DNS_ASSIGN_OR_RETURN(const Json* shape, GetObject(info, "tensor_shape", context));
  DNS_ASSIGN_OR_RETURN(const bool unknown_rank,
                       GetOptionalBool(*shape, "unknown_rank", context, false));
  std::vector<int64_t> dims;
  DNS_ASSIGN_OR_RETURN(const Json* dim_list, GetOptionalArray(*shape, "dim", context));
  if (unknown_rank || dim_list == nullptr) return dims;
  if (dim_list->size() > static_cast<size_t>(kMaxRank)) {
    return Invalid(fmt::format("{}: more than {} dimensions", context, kMaxRank));
  }
  for (const Json& dim : *dim_list) {
    const Json* size = FindField(dim, "size");
    if (size == nullptr) return Invalid(fmt::format("{}: dimension without 'size'", context));
    DNS_ASSIGN_OR_RETURN(const int64_t d, ParseDimSize(*size, context));
    dims.push_back(d);
  }
  return dims;
}

absl::StatusOr<std::vector<TensorInfo>> ParseTensorMap(const Json& signature, std::string_view key) {
  DNS_ASSIGN_OR_RETURN(const Json* map, GetObject(signature, key, "signature"));
  std::vector<TensorInfo> tensors;
  for (const auto& [name, info] : map->items()) {
    const std::string context = fmt::format("signature {} '{}'", key, name);
    TensorInfo t;
    t.name = name;
    DNS_ASSIGN_OR_RETURN(const std::string dtype, GetString(info, "dtype", context));
    DNS_ASSIGN_OR_RETURN(t.dtype, TfDtypeFromName(dtype, context));
    DNS_ASSIGN_OR_RETURN(t.shape, ParseTensorShape(info, context));
    tensors.push_back(std::move(t));
  }
  return tensors;
}

absl::StatusOr<const Json*> FindSignature(const Json& root) {
  DNS_ASSIGN_OR_RETURN(const Json* metadata, GetObject(root, "metadata", "model metadata"));
  DNS_ASSIGN_OR_RETURN(const Json* outer, GetObject(*metadata, "signature_def", "metadata"));
  DNS_ASSIGN_OR_RETURN(const Json* defs, GetObject(*outer, "signature_def", "signature_def"));
  if (const Json* def = FindField(*defs, kDefaultSignature); def != nullptr) return def;
  if (defs->size() == 1) return &defs->begin().value();
  return Invalid(fmt::format("model metadata has no '{}' signature", kDefaultSignature));
}

absl::StatusOr<ModelVersionStatus> DecodeVersionStatus(const Json& v, size_t index) {
  const std::string context = fmt::format("model_version_status #{}", index);
  ModelVersionStatus status;
  DNS_ASSIGN_OR_RETURN(status.version, GetString(v, "version", context));
  DNS_ASSIGN_OR_RETURN(status.state, GetString(v, "state", context));
  DNS_ASSIGN_OR_RETURN(const Json* s, GetOptionalObject(v, "status", context));
  if (s != nullptr) {
    DNS_ASSIGN_OR_RETURN(status.error_code, GetOptionalString(*s, "error_code", context, "OK"));
    DNS_ASSIGN_OR_RETURN(status.error_message, GetOptionalString(*s, "error_message", context));
  }
  return status;
}

}  // namespace

std::string EncodeModelStatus(std::span<const ModelVersionStatus> versions) {
  Json list = Json::array();
  for (const ModelVersionStatus& v : versions) {
    list.push_back({{"version", v.version},
                    {"state", v.state},
                    {"status", {{"error_code", v.error_code}, {"error_message", v.error_message}}}});
  }
  return DumpJson(Json{{"model_version_status", std::move(list)}});
}

absl::StatusOr<std::vector<ModelVersionStatus>> DecodeModelStatus(std::string_view body) {
  DNS_ASSIGN_OR_RETURN(const Json root, ParseObject(body, "model status"));
  DNS_ASSIGN_OR_RETURN(const Json* list, GetArray(root, "model_version_status", "model status"));
  std::vector<ModelVersionStatus> out;
  for (size_t i = 0; i < list->size(); ++i) {
    DNS_ASSIGN_OR_RETURN(ModelVersionStatus status, DecodeVersionStatus((*list)[i], i));
    out.push_back(std::move(status));
  }
  return out;
}

std::string EncodeTfModelMetadata(const TfModelMetadata& metadata) {
  Json signature = {{"inputs", TensorMap(metadata.inputs)},
                    {"outputs", TensorMap(metadata.outputs)},
                    {"method_name", kPredictMethod}};
  Json defs = Json::object();
  defs[std::string(kDefaultSignature)] = std::move(signature);
  const Json doc = {
      {"model_spec",
       {{"name", metadata.name}, {"signature_name", ""}, {"version", metadata.version}}},
      {"metadata", {{"signature_def", {{"signature_def", std::move(defs)}}}}}};
  return DumpJson(doc);
}

std::string EncodeTfModelMetadata(std::string_view name, int64_t version,
                                  std::span<const TensorInfo> inputs,
                                  std::span<const TensorInfo> outputs) {
  return EncodeTfModelMetadata(TfModelMetadata{std::string(name), std::to_string(version),
                                               {inputs.begin(), inputs.end()},
                                               {outputs.begin(), outputs.end()}});
}

absl::StatusOr<TfModelMetadata> DecodeTfModelMetadata(std::string_view body) {
  DNS_ASSIGN_OR_RETURN(const Json root, ParseObject(body, "model metadata"));
  DNS_ASSIGN_OR_RETURN(const Json* spec, GetObject(root, "model_spec", "model metadata"));
  TfModelMetadata metadata;
  DNS_ASSIGN_OR_RETURN(metadata.name, GetString(*spec, "name", "model_spec"));
  DNS_ASSIGN_OR_RETURN(metadata.version, GetOptionalString(*spec, "version", "model_spec"));
  DNS_ASSIGN_OR_RETURN(const Json* signature, FindSignature(root));
  DNS_ASSIGN_OR_RETURN(metadata.inputs, ParseTensorMap(*signature, "inputs"));
  DNS_ASSIGN_OR_RETURN(metadata.outputs, ParseTensorMap(*signature, "outputs"));
  return metadata;
}

std::string EncodeTfError(std::string_view message) {
  return DumpJson(Json{{"error", std::string(message)}});
}

}  // namespace dnoscope::protocol
