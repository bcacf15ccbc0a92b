// KServe v2 endpoints of RestHandler: metadata, readiness, config, infer.
#include <charconv>
#include <chrono>
#include <memory>
#include <optional>

#include "common/status_macros.h"
#include "fmt/format.h"
#include "models/model_config.h"
#include "protocol/kserve.h"
#include "serving/rest/responses.h"
#include "serving/rest/rest_handler.h"

namespace dnoscope::serving::rest {
namespace {

constexpr char kHeaderLengthHeader[] = "inference-header-content-length";

std::vector<protocol::TensorMetadata> ToWire(const std::vector<models::TensorSpec>& specs) {
  std::vector<protocol::TensorMetadata> out;
  for (const models::TensorSpec& s : specs) out.push_back({s.name, s.dtype, s.shape});
  return out;
}

protocol::ModelMetadataResponse ModelMetadata(const ModelDescription& d) {
  protocol::ModelMetadataResponse m;
  m.name = d.model.name;
  for (const VersionState& v : d.model.versions) m.versions.push_back(std::to_string(v.version));
  m.platform = d.model.config.backend;
  m.state = d.status.ok() ? "READY" : "UNAVAILABLE";
  if (!d.status.ok()) {
    m.reason = std::string(d.status.message());
    return m;
  }
  m.platform = d.metadata.platform;
  m.inputs = ToWire(d.metadata.inputs);
  m.outputs = ToWire(d.metadata.outputs);
  m.class_names = d.metadata.class_names;
  return m;
}

absl::StatusOr<std::optional<size_t>> HeaderLength(const http::HttpRequest& request) {
  const std::string* value = request.Header(kHeaderLengthHeader);
  if (value == nullptr) return std::nullopt;
  size_t length = 0;
  auto [end, ec] = std::from_chars(value->data(), value->data() + value->size(), length);
  if (ec != std::errc() || end != value->data() + value->size() || length > request.body.size()) {
    return absl::InvalidArgumentError(fmt::format(
        "Inference-Header-Content-Length must be an integer from 0 to the body size ({} bytes), "
        "got '{}'",
        request.body.size(), *value));
  }
  return std::optional<size_t>(length);
}

// The request's "timeout" parameter (microseconds, as Triton); 0 when absent.
absl::StatusOr<std::chrono::microseconds> RequestTimeout(const protocol::InferRequest& request) {
  auto it = request.parameters.find("timeout");
  if (it == request.parameters.end()) return std::chrono::microseconds(0);
  int64_t us = 0;
  const std::string& s = it->second;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), us);
  if (ec != std::errc() || end != s.data() + s.size() || us < 0) {
    return absl::InvalidArgumentError(fmt::format(
        "parameter 'timeout' must be a non-negative integer of microseconds, got {}", s));
  }
  return std::chrono::microseconds(us);
}

http::HttpResponse InferResponse(absl::StatusOr<InferenceResponse> result,
                                 const protocol::InferRequest& request) {
  if (!result.ok()) return StatusResponse(result.status());
  protocol::InferResponse response{result->model, std::to_string(result->version), request.id,
                                   std::move(result->outputs)};
  absl::StatusOr<protocol::EncodedMessage> encoded =
      protocol::EncodeInferResponse(response, request);
  if (!encoded.ok()) return StatusResponse(absl::InternalError(encoded.status().message()));
  http::HttpResponse http = JsonResponse(std::move(encoded->body));
  if (encoded->json_length) {
    http.content_type = "application/octet-stream";
    http.headers.emplace_back("Inference-Header-Content-Length",
                              std::to_string(*encoded->json_length));
  }
  return http;
}

// The request's tensors and options for the service; what stays in `request`
// (id, requested output parameters) is what encoding the response needs.
absl::StatusOr<InferenceRequest> ToServiceRequest(protocol::InferRequest& request) {
  DNS_ASSIGN_OR_RETURN(std::chrono::microseconds timeout, RequestTimeout(request));
  InferenceRequest native{.inputs = std::move(request.inputs), .timeout = timeout};
  for (const protocol::RequestedOutput& o : request.outputs) {
    native.requested_outputs.push_back(o.name);
  }
  return native;
}

}  // namespace

void RestHandler::HandleKserveGet(const Route& route, const http::Responder& respond) const {
  switch (route.endpoint) {
    case Endpoint::kServerMetadata: {
      const ServerInfo info = service_->server_info();
      return respond(JsonResponse(protocol::EncodeServerMetadata(
          {info.name,
           info.version,
           {"binary_tensor_data", "model_configuration", "parameters", "model_repository",
            "statistics"}})));
    }
    case Endpoint::kModelReady: {
      const absl::Status ready = service_->ModelReady(route.model, route.version);
      return respond(ready.ok() ? JsonResponse("{\"ready\":true}") : StatusResponse(ready));
    }
    case Endpoint::kModelConfig: {
      absl::StatusOr<models::ModelConfig> config = service_->GetModelConfig(route.model);
      if (!config.ok()) return respond(StatusResponse(config.status()));
      return respond(JsonResponse(models::ModelConfigToJson(*config)));
    }
    default: {
      absl::StatusOr<ModelDescription> d = service_->DescribeModel(route.model, route.version);
      if (!d.ok()) return respond(StatusResponse(d.status()));
      return respond(JsonResponse(protocol::EncodeModelMetadata(ModelMetadata(*d))));
    }
  }
}

void RestHandler::HandleInfer(const Route& route, http::HttpRequest& request,
                              http::Responder respond) const {
  absl::StatusOr<ModelHandle> model = service_->Resolve(route.model, route.version);
  if (!model.ok()) return respond(StatusResponse(model.status()));
  auto reject = [&](absl::Status error) {
    respond(StatusResponse(service_->Reject(*model, std::move(error))));
  };
  absl::StatusOr<std::optional<size_t>> header_length = HeaderLength(request);
  if (!header_length.ok()) return reject(header_length.status());
  absl::StatusOr<protocol::InferRequest> decoded =
      protocol::DecodeInferRequest(request.body, *header_length);
  if (!decoded.ok()) return reject(decoded.status());
  absl::StatusOr<InferenceRequest> native = ToServiceRequest(*decoded);
  if (!native.ok()) return reject(native.status());
  auto shell = std::make_shared<protocol::InferRequest>(std::move(*decoded));
  service_->Infer(*model, std::move(*native),
                  [shell, respond = std::move(respond)](absl::StatusOr<InferenceResponse> result) {
                    respond(InferResponse(std::move(result), *shell));
                  });
}

}  // namespace dnoscope::serving::rest
