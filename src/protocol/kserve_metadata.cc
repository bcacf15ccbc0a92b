// Metadata and error documents of kserve.h. These are small and off the hot path, so they go
// through an nlohmann DOM.
#include "absl/status/status.h"
#include "common/status_macros.h"
#include "fmt/format.h"
#include "protocol/json_reader.h"
#include "protocol/kserve.h"

namespace dnoscope::protocol {
namespace {

absl::StatusOr<Json> ParseObject(std::string_view body, std::string_view what) {
  DNS_ASSIGN_OR_RETURN(ParsedJson parsed, ParseJson(body, /*capture_tensor_data=*/false));
  if (!parsed.root.is_object()) {
    return absl::InvalidArgumentError(
        fmt::format("{} must be a JSON object, got {}", what, parsed.root.type_name()));
  }
  return std::move(parsed.root);
}

absl::StatusOr<std::vector<std::string>> GetStringList(const Json& object, std::string_view key,
                                                       std::string_view context) {
  DNS_ASSIGN_OR_RETURN(const Json* list, GetOptionalArray(object, key, context));
  std::vector<std::string> out;
  if (list == nullptr) return out;
  for (const Json& v : *list) {
    if (!v.is_string()) {
      return absl::InvalidArgumentError(fmt::format("{}: '{}' must contain strings, got {}",
                                                    context, key, v.type_name()));
    }
    out.push_back(v.get<std::string>());
  }
  return out;
}

Json TensorMetadataJson(const std::vector<TensorMetadata>& tensors) {
  Json list = Json::array();
  for (const TensorMetadata& t : tensors) {
    list.push_back({{"name", t.name},
                    {"datatype", std::string(DataTypeName(t.datatype))},
                    {"shape", t.shape}});
  }
  return list;
}

absl::StatusOr<TensorMetadata> DecodeTensorMetadata(const Json& v, std::string_view context) {
  if (!v.is_object()) {
    return absl::InvalidArgumentError(
        fmt::format("{}: must be an object, got {}", context, v.type_name()));
  }
  TensorMetadata t;
  DNS_ASSIGN_OR_RETURN(t.name, GetString(v, "name", context));
  const std::string named = fmt::format("{} '{}'", context.substr(0, context.find(" #")), t.name);
  DNS_ASSIGN_OR_RETURN(const std::string datatype, GetString(v, "datatype", named));
  auto dtype = DataTypeFromName(datatype);
  if (!dtype.ok()) {
    return absl::InvalidArgumentError(fmt::format("{}: {}", named, StatusMessage(dtype.status())));
  }
  t.datatype = *dtype;
  const Json* shape = FindField(v, "shape");
  if (shape == nullptr) {
    return absl::InvalidArgumentError(fmt::format("{}: missing required field 'shape'", named));
  }
  DNS_ASSIGN_OR_RETURN(t.shape, ParseShape(*shape, named, -1));
  return t;
}

absl::StatusOr<std::vector<TensorMetadata>> DecodeTensorMetadataList(const Json& root,
                                                                     std::string_view key,
                                                                     std::string_view kind) {
  DNS_ASSIGN_OR_RETURN(const Json* list, GetArray(root, key, "model metadata"));
  std::vector<TensorMetadata> out;
  for (size_t i = 0; i < list->size(); ++i) {
    DNS_ASSIGN_OR_RETURN(TensorMetadata t,
                         DecodeTensorMetadata((*list)[i], fmt::format("{} #{}", kind, i)));
    out.push_back(std::move(t));
  }
  return out;
}

}  // namespace

std::string EncodeServerMetadata(const ServerMetadata& metadata) {
  const Json doc = {
      {"name", metadata.name}, {"version", metadata.version}, {"extensions", metadata.extensions}};
  return DumpJson(doc);
}

absl::StatusOr<ServerMetadata> DecodeServerMetadata(std::string_view body) {
  DNS_ASSIGN_OR_RETURN(const Json root, ParseObject(body, "server metadata"));
  ServerMetadata metadata;
  DNS_ASSIGN_OR_RETURN(metadata.name, GetString(root, "name", "server metadata"));
  DNS_ASSIGN_OR_RETURN(metadata.version, GetString(root, "version", "server metadata"));
  DNS_ASSIGN_OR_RETURN(metadata.extensions,
                       GetStringList(root, "extensions", "server metadata"));
  return metadata;
}

std::string EncodeModelMetadata(const ModelMetadataResponse& metadata) {
  Json doc = {{"name", metadata.name},
              {"versions", metadata.versions},
              {"platform", metadata.platform},
              {"inputs", TensorMetadataJson(metadata.inputs)},
              {"outputs", TensorMetadataJson(metadata.outputs)}};
  if (!metadata.state.empty()) doc["state"] = metadata.state;
  if (!metadata.reason.empty()) doc["reason"] = metadata.reason;
  if (!metadata.class_names.empty()) doc["class_names"] = metadata.class_names;
  return DumpJson(doc);
}

absl::StatusOr<ModelMetadataResponse> DecodeModelMetadata(std::string_view body) {
  DNS_ASSIGN_OR_RETURN(const Json root, ParseObject(body, "model metadata"));
  ModelMetadataResponse metadata;
  DNS_ASSIGN_OR_RETURN(metadata.name, GetString(root, "name", "model metadata"));
  DNS_ASSIGN_OR_RETURN(metadata.versions, GetStringList(root, "versions", "model metadata"));
  DNS_ASSIGN_OR_RETURN(metadata.platform, GetString(root, "platform", "model metadata"));
  DNS_ASSIGN_OR_RETURN(metadata.inputs, DecodeTensorMetadataList(root, "inputs", "input"));
  DNS_ASSIGN_OR_RETURN(metadata.outputs, DecodeTensorMetadataList(root, "outputs", "output"));
  DNS_ASSIGN_OR_RETURN(metadata.state, GetOptionalString(root, "state", "model metadata"));
  DNS_ASSIGN_OR_RETURN(metadata.reason, GetOptionalString(root, "reason", "model metadata"));
  DNS_ASSIGN_OR_RETURN(metadata.class_names,
                       GetStringList(root, "class_names", "model metadata"));
  return metadata;
}

std::string EncodeError(std::string_view message) {
  return DumpJson(Json{{"error", std::string(message)}});
}

absl::StatusOr<std::string> DecodeError(std::string_view body) {
  DNS_ASSIGN_OR_RETURN(const Json root, ParseObject(body, "error body"));
  return GetString(root, "error", "error body");
}

}  // namespace dnoscope::protocol
