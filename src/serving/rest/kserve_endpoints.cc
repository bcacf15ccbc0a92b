// KServe v2 endpoints of RestHandler: metadata, readiness, config, infer.
#include <charconv>
#include <memory>

#include "fmt/format.h"
#include "models/model_config.h"
#include "protocol/kserve.h"
#include "serving/rest/responses.h"
#include "serving/rest/rest_handler.h"
#include "serving/rest/tensor_checks.h"

namespace dnoscope::serving::rest {
namespace {

constexpr char kHeaderLengthHeader[] = "inference-header-content-length";

std::vector<protocol::TensorMetadata> ToWire(const std::vector<models::TensorSpec>& specs) {
  std::vector<protocol::TensorMetadata> out;
  for (const models::TensorSpec& s : specs) out.push_back({s.name, s.dtype, s.shape});
  return out;
}

protocol::ModelMetadataResponse ModelMetadata(const ServedModel& model,
                                              const ServedVersion* version) {
  protocol::ModelMetadataResponse m;
  m.name = model.name;
  for (const ServedVersion& v : model.versions) m.versions.push_back(std::to_string(v.version));
  m.platform = model.config.backend;
  const absl::Status status = version != nullptr ? version->status : model.status;
  m.state = status.ok() ? "READY" : "UNAVAILABLE";
  if (!status.ok()) m.reason = std::string(status.message());
  if (version != nullptr && version->status.ok()) {
    m.platform = version->metadata.platform;
    m.inputs = ToWire(version->metadata.inputs);
    m.outputs = ToWire(version->metadata.outputs);
    m.class_names = version->metadata.class_names;
  }
  return m;
}

// The version a metadata request names, or the one served by default (the
// highest ready one, else the highest).
absl::StatusOr<const ServedVersion*> MetadataVersion(const ServedModel& model, int64_t version) {
  absl::StatusOr<const ServedVersion*> resolved = model.Resolve(version);
  if (resolved.ok() || resolved.status().code() == absl::StatusCode::kNotFound) return resolved;
  if (version < 0) return model.versions.empty() ? nullptr : &model.versions.back();
  for (const ServedVersion& v : model.versions) {
    if (v.version == version) return &v;
  }
  return resolved;
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

http::HttpResponse InferResponse(absl::StatusOr<std::vector<Tensor>> result,
                                 const protocol::InferRequest& request, const std::string& model,
                                 int64_t version) {
  if (!result.ok()) return StatusResponse(result.status());
  protocol::InferResponse response{model, std::to_string(version), request.id, std::move(*result)};
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

}  // namespace

void RestHandler::HandleKserveGet(const Route& route, const http::Responder& respond) const {
  if (route.endpoint == Endpoint::kServerMetadata) {
    respond(JsonResponse(protocol::EncodeServerMetadata(
        {options_.server_name, options_.server_version,
         {"binary_tensor_data", "model_configuration", "parameters"}})));
    return;
  }
  absl::StatusOr<const ServedModel*> model = models_->Find(route.model);
  if (!model.ok()) return respond(StatusResponse(model.status()));
  if (route.endpoint == Endpoint::kModelReady) {
    absl::StatusOr<const ServedVersion*> version = (*model)->Resolve(route.version);
    if (version.ok()) return respond(JsonResponse("{\"ready\":true}"));
    return respond(StatusResponse(version.status()));
  }
  if (route.endpoint == Endpoint::kModelConfig) {
    if (!(*model)->status.ok()) return respond(StatusResponse((*model)->Resolve(-1).status()));
    return respond(JsonResponse(models::ModelConfigToJson((*model)->config)));
  }
  absl::StatusOr<const ServedVersion*> version = MetadataVersion(**model, route.version);
  if (!version.ok()) return respond(StatusResponse(version.status()));
  respond(JsonResponse(protocol::EncodeModelMetadata(ModelMetadata(**model, *version))));
}

void RestHandler::HandleInfer(const Route& route, http::HttpRequest& request,
                              http::Responder respond) const {
  const ServedVersion* served = ResolveForInference(route, respond);
  if (served == nullptr) return;
  const ServedVersion& version = *served;
  auto fail = [&](const absl::Status& status) { Fail(route, version, status, respond); };
  absl::StatusOr<std::optional<size_t>> header_length = HeaderLength(request);
  if (!header_length.ok()) return fail(header_length.status());
  absl::StatusOr<protocol::InferRequest> decoded =
      protocol::DecodeInferRequest(request.body, *header_length);
  if (!decoded.ok()) return fail(decoded.status());
  if (absl::Status s = CheckInputs(version.metadata, decoded->inputs); !s.ok()) return fail(s);
  std::vector<std::string> requested;
  for (const protocol::RequestedOutput& o : decoded->outputs) requested.push_back(o.name);
  absl::StatusOr<std::vector<std::string>> outputs = ResolveOutputs(version.metadata, requested);
  if (!outputs.ok()) return fail(outputs.status());
  absl::StatusOr<std::chrono::microseconds> timeout = RequestTimeout(*decoded);
  if (!timeout.ok()) return fail(timeout.status());

  InferenceJob job;
  job.inputs = std::move(decoded->inputs);
  job.requested_outputs = std::move(*outputs);
  job.deadline = Deadline(*timeout);
  // The request minus its inputs: what encoding the response needs.
  auto shell = std::make_shared<protocol::InferRequest>(std::move(*decoded));
  job.done = [shell, respond = std::move(respond), name = route.model,
              number = version.version](absl::StatusOr<std::vector<Tensor>> result) {
    respond(InferResponse(std::move(result), *shell, name, number));
  };
  version.scheduler->Submit(std::move(job));
}

}  // namespace dnoscope::serving::rest
