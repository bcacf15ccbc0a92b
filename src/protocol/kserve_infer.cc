// Inference request/response codecs of kserve.h.
#include <unordered_set>

#include "absl/status/status.h"
#include "common/status_macros.h"
#include "fmt/format.h"
#include "protocol/json_reader.h"
#include "protocol/json_writer.h"
#include "protocol/kserve.h"
#include "protocol/kserve_tensors.h"

namespace dnoscope::protocol {
namespace {

constexpr std::string_view kBinaryDataOutput = "binary_data_output";

absl::StatusOr<ParsedJson> ParseRoot(std::string_view json, std::string_view what) {
  DNS_ASSIGN_OR_RETURN(ParsedJson parsed, ParseJson(json, /*capture_tensor_data=*/true));
  if (!parsed.root.is_object()) {
    return absl::InvalidArgumentError(
        fmt::format("{} must be a JSON object, got {}", what, parsed.root.type_name()));
  }
  return parsed;
}

absl::Status DecodeRequestParameters(const Json& root, InferRequest* request) {
  DNS_ASSIGN_OR_RETURN(const Json* params, GetOptionalObject(root, "parameters", "request"));
  if (params == nullptr) return absl::OkStatus();
  for (const auto& [key, value] : params->items()) {
    if (key == kBinaryDataOutput) {
      if (!value.is_boolean()) {
        return absl::InvalidArgumentError(fmt::format(
            "request: parameter 'binary_data_output' must be a boolean, got {}", value.type_name()));
      }
      request->binary_data_output = value.get<bool>();
    } else {
      request->parameters.emplace(key, ParameterString(value));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<RequestedOutput> DecodeRequestedOutput(const Json& object, size_t index) {
  const std::string context = fmt::format("requested output #{}", index);
  if (!object.is_object()) {
    return absl::InvalidArgumentError(
        fmt::format("{}: must be an object, got {}", context, object.type_name()));
  }
  RequestedOutput output;
  DNS_ASSIGN_OR_RETURN(output.name, GetString(object, "name", context));
  const std::string named = fmt::format("requested output '{}'", output.name);
  DNS_ASSIGN_OR_RETURN(const Json* params, GetOptionalObject(object, "parameters", named));
  if (params != nullptr && FindField(*params, "binary_data") != nullptr) {
    DNS_ASSIGN_OR_RETURN(output.binary_data, GetOptionalBool(*params, "binary_data", named, false));
  }
  return output;
}

absl::Status DecodeRequestedOutputs(const Json& root, InferRequest* request) {
  DNS_ASSIGN_OR_RETURN(const Json* outputs, GetOptionalArray(root, "outputs", "request"));
  if (outputs == nullptr) return absl::OkStatus();
  std::unordered_set<std::string> names;
  for (size_t i = 0; i < outputs->size(); ++i) {
    DNS_ASSIGN_OR_RETURN(RequestedOutput output, DecodeRequestedOutput((*outputs)[i], i));
    if (!names.insert(output.name).second) {
      return absl::InvalidArgumentError(
          fmt::format("duplicate requested output name '{}'", output.name));
    }
    request->outputs.push_back(std::move(output));
  }
  return absl::OkStatus();
}

absl::Status ValidateAll(const std::vector<Tensor>& tensors) {
  for (const Tensor& t : tensors) DNS_RETURN_IF_ERROR(t.Validate());
  return absl::OkStatus();
}

// Whether output `name` goes binary under `request`'s choices.
bool WantsBinary(const InferRequest& request, const std::string& name) {
  for (const RequestedOutput& o : request.outputs) {
    if (o.name == name && o.binary_data.has_value()) return *o.binary_data;
  }
  return request.binary_data_output;
}

// Writes `"key":"value",` pairs for optional string fields.
void AppendStringField(std::string* out, std::string_view key, std::string_view value) {
  AppendJsonString(out, key);
  out->push_back(':');
  AppendJsonString(out, value);
  out->push_back(',');
}

void AppendRequestParameters(std::string* out, const InferRequest& request) {
  if (!request.binary_data_output && request.parameters.empty()) return;
  out->append("\"parameters\":{");
  bool first = true;
  if (request.binary_data_output) {
    out->append("\"binary_data_output\":true");
    first = false;
  }
  for (const auto& [key, value] : request.parameters) {
    if (key == kBinaryDataOutput) continue;
    if (!first) out->push_back(',');
    first = false;
    AppendJsonString(out, key);
    out->push_back(':');
    AppendJsonString(out, value);
  }
  out->append("},");
}

void AppendRequestedOutputs(std::string* out, const std::vector<RequestedOutput>& outputs) {
  if (outputs.empty()) return;
  out->append(",\"outputs\":[");
  for (size_t i = 0; i < outputs.size(); ++i) {
    if (i > 0) out->push_back(',');
    out->append("{\"name\":");
    AppendJsonString(out, outputs[i].name);
    if (outputs[i].binary_data.has_value()) {
      out->append(*outputs[i].binary_data ? ",\"parameters\":{\"binary_data\":true}"
                                          : ",\"parameters\":{\"binary_data\":false}");
    }
    out->push_back('}');
  }
  out->push_back(']');
}

// Appends `"<key>":[tensors...]`, then the binary sections; `binary[i]` says which go binary.
EncodedMessage FinishTensors(std::string out, std::string_view key,
                             const std::vector<Tensor>& tensors, const std::vector<bool>& binary) {
  AppendJsonString(&out, key);
  out.append(":[");
  for (size_t i = 0; i < tensors.size(); ++i) {
    if (i > 0) out.push_back(',');
    AppendTensorJson(&out, tensors[i], binary[i]);
  }
  out.append("]");
  return {std::move(out), std::nullopt};
}

void AppendSections(EncodedMessage* message, const std::vector<Tensor>& tensors,
                    const std::vector<bool>& binary) {
  for (size_t i = 0; i < tensors.size(); ++i) {
    if (!binary[i]) continue;
    if (!message->json_length.has_value()) message->json_length = message->body.size();
    AppendBinarySection(&message->body, tensors[i]);
  }
}

}  // namespace

absl::StatusOr<InferRequest> DecodeInferRequest(std::string_view body,
                                                std::optional<size_t> header_length) {
  DNS_ASSIGN_OR_RETURN(const BodyParts parts, SplitBody(body, header_length));
  DNS_ASSIGN_OR_RETURN(ParsedJson parsed, ParseRoot(parts.json, "request"));
  const Json& root = parsed.root;
  InferRequest request;
  DNS_ASSIGN_OR_RETURN(request.id, GetOptionalString(root, "id", "request"));
  DNS_RETURN_IF_ERROR(DecodeRequestParameters(root, &request));
  DNS_ASSIGN_OR_RETURN(const Json* inputs, GetArray(root, "inputs", "request"));
  DNS_ASSIGN_OR_RETURN(request.inputs, DecodeTensorList(*inputs, "input", &parsed, parts.binary));
  DNS_RETURN_IF_ERROR(DecodeRequestedOutputs(root, &request));
  return request;
}

absl::StatusOr<InferResponse> DecodeInferResponse(std::string_view body,
                                                  std::optional<size_t> header_length) {
  DNS_ASSIGN_OR_RETURN(const BodyParts parts, SplitBody(body, header_length));
  DNS_ASSIGN_OR_RETURN(ParsedJson parsed, ParseRoot(parts.json, "response"));
  const Json& root = parsed.root;
  InferResponse response;
  DNS_ASSIGN_OR_RETURN(response.model_name, GetString(root, "model_name", "response"));
  DNS_ASSIGN_OR_RETURN(response.model_version,
                       GetOptionalString(root, "model_version", "response"));
  DNS_ASSIGN_OR_RETURN(response.id, GetOptionalString(root, "id", "response"));
  DNS_ASSIGN_OR_RETURN(const Json* outputs, GetArray(root, "outputs", "response"));
  DNS_ASSIGN_OR_RETURN(response.outputs,
                       DecodeTensorList(*outputs, "output", &parsed, parts.binary));
  return response;
}

absl::StatusOr<EncodedMessage> EncodeInferResponse(const InferResponse& response,
                                                   const InferRequest& request) {
  DNS_RETURN_IF_ERROR(ValidateAll(response.outputs));
  std::vector<bool> binary;
  binary.reserve(response.outputs.size());
  for (const Tensor& t : response.outputs) binary.push_back(WantsBinary(request, t.name));
  std::string out = "{";
  AppendStringField(&out, "model_name", response.model_name);
  if (!response.model_version.empty()) {
    AppendStringField(&out, "model_version", response.model_version);
  }
  if (!response.id.empty()) AppendStringField(&out, "id", response.id);
  EncodedMessage message = FinishTensors(std::move(out), "outputs", response.outputs, binary);
  message.body.push_back('}');
  AppendSections(&message, response.outputs, binary);
  return message;
}

absl::StatusOr<EncodedMessage> EncodeInferRequest(const InferRequest& request,
                                                  bool binary_inputs) {
  DNS_RETURN_IF_ERROR(ValidateAll(request.inputs));
  const std::vector<bool> binary(request.inputs.size(), binary_inputs);
  std::string out = "{";
  if (!request.id.empty()) AppendStringField(&out, "id", request.id);
  AppendRequestParameters(&out, request);
  EncodedMessage message = FinishTensors(std::move(out), "inputs", request.inputs, binary);
  AppendRequestedOutputs(&message.body, request.outputs);
  message.body.push_back('}');
  AppendSections(&message, request.inputs, binary);
  return message;
}

}  // namespace dnoscope::protocol
