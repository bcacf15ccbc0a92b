#include "client/wire.h"

#include <algorithm>

#include <charconv>

#include "common/status_macros.h"
#include "fmt/format.h"
#include "protocol/kserve.h"
#include "protocol/tfserving.h"

namespace dnoscope::client {
namespace {

constexpr char kHeaderLength[] = "Inference-Header-Content-Length";

std::string VersionPath(int64_t version) {
  return version < 0 ? "" : fmt::format("/versions/{}", version);
}

std::vector<protocol::TensorInfo> ToInfo(const std::vector<models::TensorSpec>& specs) {
  std::vector<protocol::TensorInfo> out;
  for (const models::TensorSpec& s : specs) out.push_back({s.name, s.dtype, s.shape});
  return out;
}

// TF Serving's JSON writes an empty tensor as [], which loses every
// dimension after the first: give a decoded empty tensor the declared
// shape with its variable dimensions at 0 (e.g. "detections" [0,6]).
void RestoreEmptyShapes(const std::vector<protocol::TensorInfo>& declared,
                        std::vector<Tensor>* tensors) {
  for (Tensor& t : *tensors) {
    if (t.NumElements() != 0 || t.dtype == DataType::kBytes) continue;
    for (const protocol::TensorInfo& d : declared) {
      if (d.name != t.name || d.shape.size() <= t.shape.size()) continue;
      t.shape = d.shape;
      for (int64_t& dim : t.shape) dim = std::max<int64_t>(dim, 0);
    }
  }
}

std::vector<models::TensorSpec> FromWire(const std::vector<protocol::TensorMetadata>& tensors) {
  std::vector<models::TensorSpec> out;
  for (const protocol::TensorMetadata& t : tensors) out.push_back({t.name, t.datatype, t.shape});
  return out;
}

std::vector<models::TensorSpec> FromInfo(const std::vector<protocol::TensorInfo>& tensors) {
  std::vector<models::TensorSpec> out;
  for (const protocol::TensorInfo& t : tensors) out.push_back({t.name, t.dtype, t.shape});
  return out;
}

absl::StatusOr<HttpCall> KserveInferCall(bool binary, const std::string& model, int64_t version,
                                         const std::vector<Tensor>& inputs,
                                         const std::vector<std::string>& outputs) {
  protocol::InferRequest request;
  request.inputs = inputs;
  for (const std::string& name : outputs) request.outputs.push_back({name, std::nullopt});
  request.binary_data_output = binary;
  DNS_ASSIGN_OR_RETURN(protocol::EncodedMessage message,
                       protocol::EncodeInferRequest(request, binary));
  HttpCall call;
  call.target = fmt::format("/v2/models/{}{}/infer", model, VersionPath(version));
  call.body = std::move(message.body);
  if (message.json_length) {
    call.content_type = "application/octet-stream";
    call.headers.emplace_back(kHeaderLength, std::to_string(*message.json_length));
  }
  return call;
}

// The JSON length a binary KServe response declares; nullopt when absent.
absl::StatusOr<std::optional<size_t>> ResponseHeaderLength(const HttpResult& result) {
  const std::string* value = result.Header("inference-header-content-length");
  if (value == nullptr) return std::nullopt;
  size_t length = 0;
  auto [end, ec] = std::from_chars(value->data(), value->data() + value->size(), length);
  if (ec != std::errc() || end != value->data() + value->size()) {
    return absl::InternalError(fmt::format("bad Inference-Header-Content-Length '{}'", *value));
  }
  return std::optional<size_t>(length);
}

// Codec errors on a 2xx response mean a broken server reply, not a bad request.
absl::Status BrokenReply(const absl::Status& s) {
  return absl::InternalError(fmt::format("malformed response: {}", std::string(s.message())));
}

}  // namespace

absl::StatusOr<WireFormat> ParseWireFormat(std::string_view name) {
  if (name == "kserve") return WireFormat::kKserveBinary;
  if (name == "kserve-json") return WireFormat::kKserveJson;
  if (name == "tfserving") return WireFormat::kTfServing;
  if (name == "kserve-grpc") return WireFormat::kKserveGrpc;
  return absl::InvalidArgumentError(fmt::format(
      "unknown protocol '{}' (expected kserve, kserve-json, tfserving or kserve-grpc)",
      std::string(name)));
}

std::string_view WireFormatName(WireFormat format) {
  switch (format) {
    case WireFormat::kKserveBinary:
      return "kserve";
    case WireFormat::kKserveJson:
      return "kserve-json";
    case WireFormat::kKserveGrpc:
      return "kserve-grpc";
    case WireFormat::kTfServing:
      break;
  }
  return "tfserving";
}

absl::StatusOr<HttpCall> EncodeInferCall(WireFormat format, const std::string& model,
                                         int64_t version, const std::vector<Tensor>& inputs,
                                         const std::vector<std::string>& outputs) {
  if (format != WireFormat::kTfServing) {
    return KserveInferCall(format == WireFormat::kKserveBinary, model, version, inputs, outputs);
  }
  DNS_ASSIGN_OR_RETURN(std::string body,
                       protocol::EncodePredictRequest(inputs, protocol::TfFormat::kColumnar));
  HttpCall call;
  call.target = fmt::format("/v1/models/{}{}:predict", model, VersionPath(version));
  call.body = std::move(body);
  return call;
}

absl::StatusOr<std::vector<Tensor>> DecodeInferResult(WireFormat format, const HttpResult& result,
                                                      const models::ModelMetadata& model) {
  if (result.status < 200 || result.status > 299) return StatusFromHttp(result);
  if (format == WireFormat::kTfServing) {
    const std::vector<protocol::TensorInfo> outputs = ToInfo(model.outputs);
    absl::StatusOr<std::vector<Tensor>> tensors =
        protocol::DecodePredictResponse(result.body, protocol::TfFormat::kColumnar, outputs);
    if (!tensors.ok()) return BrokenReply(tensors.status());
    RestoreEmptyShapes(outputs, &*tensors);
    return tensors;
  }
  DNS_ASSIGN_OR_RETURN(std::optional<size_t> header_length, ResponseHeaderLength(result));
  absl::StatusOr<protocol::InferResponse> response =
      protocol::DecodeInferResponse(result.body, header_length);
  if (!response.ok()) return BrokenReply(response.status());
  return std::move(response->outputs);
}

HttpCall ReadinessCall(WireFormat format, const std::string& model) {
  HttpCall call;
  call.method = "GET";
  call.content_type.clear();
  call.target = format == WireFormat::kTfServing ? fmt::format("/v1/models/{}", model)
                                                 : std::string("/v2/health/ready");
  return call;
}

HttpCall MetadataCall(WireFormat format, const std::string& model, int64_t version) {
  HttpCall call;
  call.method = "GET";
  call.content_type.clear();
  call.target = format == WireFormat::kTfServing
                    ? fmt::format("/v1/models/{}{}/metadata", model, VersionPath(version))
                    : fmt::format("/v2/models/{}{}", model, VersionPath(version));
  return call;
}

absl::StatusOr<models::ModelMetadata> DecodeMetadataResult(WireFormat format,
                                                           const HttpResult& result) {
  if (result.status < 200 || result.status > 299) return StatusFromHttp(result);
  models::ModelMetadata m;
  if (format == WireFormat::kTfServing) {
    absl::StatusOr<protocol::TfModelMetadata> tf = protocol::DecodeTfModelMetadata(result.body);
    if (!tf.ok()) return BrokenReply(tf.status());
    m.name = tf->name;
    m.inputs = FromInfo(tf->inputs);
    m.outputs = FromInfo(tf->outputs);
    return m;
  }
  absl::StatusOr<protocol::ModelMetadataResponse> kserve =
      protocol::DecodeModelMetadata(result.body);
  if (!kserve.ok()) return BrokenReply(kserve.status());
  m.name = kserve->name;
  m.platform = kserve->platform;
  m.inputs = FromWire(kserve->inputs);
  m.outputs = FromWire(kserve->outputs);
  m.class_names = kserve->class_names;
  return m;
}

absl::Status StatusFromHttp(const HttpResult& result) {
  absl::StatusOr<std::string> error = protocol::DecodeError(result.body);
  const std::string message =
      fmt::format("HTTP {}: {}", result.status,
                  error.ok() ? *error : result.body.substr(0, 200));
  switch (result.status) {
    case 400:
      return absl::InvalidArgumentError(message);
    case 404:
      return absl::NotFoundError(message);
    case 429:
      return absl::ResourceExhaustedError(message);
    case 501:
      return absl::UnimplementedError(message);
    case 503:
      return absl::UnavailableError(message);
    case 504:
      return absl::DeadlineExceededError(message);
    default:
      return absl::InternalError(message);
  }
}

}  // namespace dnoscope::client
