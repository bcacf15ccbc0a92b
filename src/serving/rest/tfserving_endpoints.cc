// TF Serving v1 REST endpoints of RestHandler: model status, metadata, predict.
#include <memory>

#include "fmt/format.h"
#include "protocol/tfserving.h"
#include "serving/rest/responses.h"
#include "serving/rest/rest_handler.h"
#include "serving/rest/tensor_checks.h"

namespace dnoscope::serving::rest {
namespace {

std::vector<protocol::TensorInfo> ToInfo(const std::vector<models::TensorSpec>& specs) {
  std::vector<protocol::TensorInfo> out;
  for (const models::TensorSpec& s : specs) {
    out.push_back({s.name, s.dtype, s.shape, s.accepts_encoded_image});
  }
  return out;
}

// TF Serving's error_code names for the codes a model load can fail with.
std::string TfErrorCode(const absl::Status& status) {
  return absl::StatusCodeToString(status.code());
}

protocol::ModelVersionStatus VersionStatus(int64_t version, const absl::Status& status) {
  protocol::ModelVersionStatus s;
  s.version = std::to_string(version);
  s.state = status.ok() ? "AVAILABLE" : "END";
  s.error_code = status.ok() ? "OK" : TfErrorCode(status);
  s.error_message = std::string(status.message());
  return s;
}

absl::StatusOr<std::string> ModelStatus(const ServedModel& model, int64_t version) {
  std::vector<protocol::ModelVersionStatus> statuses;
  if (!model.status.ok()) statuses.push_back(VersionStatus(0, model.status));
  for (const ServedVersion& v : model.versions) {
    if (version < 0 || v.version == version) statuses.push_back(VersionStatus(v.version, v.status));
  }
  if (version >= 0 && statuses.empty()) return model.Resolve(version).status();
  return protocol::EncodeModelStatus(statuses);
}

// Row format for a model without a batch dimension: exactly one instance,
// whose leading dimension of 1 is dropped.
absl::Status DropInstanceDimension(std::vector<Tensor>& inputs, const std::string& model) {
  for (Tensor& t : inputs) {
    if (t.shape.empty() || t.shape[0] != 1) {
      return absl::InvalidArgumentError(fmt::format(
          "model '{}' takes one instance per request (it has no batch dimension), got {}", model,
          t.shape.empty() ? 0 : t.shape[0]));
    }
    t.shape.erase(t.shape.begin());
  }
  return absl::OkStatus();
}

http::HttpResponse PredictResponse(absl::StatusOr<std::vector<Tensor>> result,
                                   protocol::TfFormat format, bool add_instance_dimension) {
  if (!result.ok()) return StatusResponse(result.status());
  if (add_instance_dimension) {
    for (Tensor& t : *result) t.shape.insert(t.shape.begin(), 1);
  }
  absl::StatusOr<std::string> body = protocol::EncodePredictResponse(*result, format);
  if (!body.ok()) return StatusResponse(absl::InternalError(body.status().message()));
  return JsonResponse(std::move(*body));
}

}  // namespace

void RestHandler::HandleTfGet(const Route& route, const http::Responder& respond) const {
  absl::StatusOr<const ServedModel*> model = models_->Find(route.model);
  if (!model.ok()) return respond(StatusResponse(model.status()));
  if (route.endpoint == Endpoint::kTfStatus) {
    absl::StatusOr<std::string> body = ModelStatus(**model, route.version);
    return respond(body.ok() ? JsonResponse(std::move(*body)) : StatusResponse(body.status()));
  }
  absl::StatusOr<const ServedVersion*> version = (*model)->Resolve(route.version);
  if (!version.ok()) return respond(StatusResponse(version.status()));
  const models::ModelMetadata& m = (*version)->metadata;
  respond(JsonResponse(protocol::EncodeTfModelMetadata(
      route.model, (*version)->version, ToInfo(m.inputs), ToInfo(m.outputs))));
}

void RestHandler::HandlePredict(const Route& route, http::HttpRequest& request,
                                http::Responder respond) const {
  const ServedVersion* served = ResolveForInference(route, respond);
  if (served == nullptr) return;
  const ServedVersion& version = *served;
  auto fail = [&](const absl::Status& status) { Fail(route, version, status, respond); };
  const std::vector<protocol::TensorInfo> inputs = ToInfo(version.metadata.inputs);
  absl::StatusOr<protocol::PredictRequest> decoded =
      protocol::DecodePredictRequest(request.body, inputs);
  if (!decoded.ok()) return fail(decoded.status());
  const bool unbatched_rows =
      decoded->format == protocol::TfFormat::kRow && version.metadata.max_batch_size == 0;
  if (unbatched_rows) {
    if (absl::Status s = DropInstanceDimension(decoded->inputs, route.model); !s.ok()) {
      return fail(s);
    }
  }
  if (absl::Status s = CheckInputs(version.metadata, decoded->inputs); !s.ok()) return fail(s);
  absl::StatusOr<std::vector<std::string>> outputs = ResolveOutputs(version.metadata, {});
  if (!outputs.ok()) return fail(outputs.status());

  InferenceJob job;
  job.inputs = std::move(decoded->inputs);
  job.requested_outputs = std::move(*outputs);
  job.deadline = Deadline(std::chrono::microseconds(0));
  job.done = [respond = std::move(respond), format = decoded->format,
              unbatched_rows](absl::StatusOr<std::vector<Tensor>> result) {
    respond(PredictResponse(std::move(result), format, unbatched_rows));
  };
  version.scheduler->Submit(std::move(job));
}

}  // namespace dnoscope::serving::rest
