// TF Serving v1 REST endpoints of RestHandler: model status, metadata, predict.
#include <memory>

#include "fmt/format.h"
#include "protocol/tfserving.h"
#include "serving/rest/responses.h"
#include "serving/rest/rest_handler.h"

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

std::string ModelStatus(const ModelState& model) {
  std::vector<protocol::ModelVersionStatus> statuses;
  if (!model.status.ok()) statuses.push_back(VersionStatus(0, model.status));
  for (const VersionState& v : model.versions) statuses.push_back(VersionStatus(v.version, v.status));
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

http::HttpResponse PredictResponse(absl::StatusOr<InferenceResponse> result,
                                   protocol::TfFormat format, bool add_instance_dimension) {
  if (!result.ok()) return StatusResponse(result.status());
  if (add_instance_dimension) {
    for (Tensor& t : result->outputs) t.shape.insert(t.shape.begin(), 1);
  }
  absl::StatusOr<std::string> body = protocol::EncodePredictResponse(result->outputs, format);
  if (!body.ok()) return StatusResponse(absl::InternalError(body.status().message()));
  return JsonResponse(std::move(*body));
}

}  // namespace

void RestHandler::HandleTfGet(const Route& route, const http::Responder& respond) const {
  if (route.endpoint == Endpoint::kTfStatus) {
    absl::StatusOr<ModelState> state = service_->GetModelState(route.model, route.version);
    if (!state.ok()) return respond(StatusResponse(state.status()));
    return respond(JsonResponse(ModelStatus(*state)));
  }
  absl::StatusOr<ModelHandle> model = service_->Resolve(route.model, route.version);
  if (!model.ok()) return respond(StatusResponse(model.status()));
  const models::ModelMetadata& m = model->metadata();
  respond(JsonResponse(protocol::EncodeTfModelMetadata(model->model(), model->version(),
                                                       ToInfo(m.inputs), ToInfo(m.outputs))));
}

void RestHandler::HandlePredict(const Route& route, http::HttpRequest& request,
                                http::Responder respond) const {
  absl::StatusOr<ModelHandle> model = service_->Resolve(route.model, route.version);
  if (!model.ok()) return respond(StatusResponse(model.status()));
  auto reject = [&](absl::Status error) {
    respond(StatusResponse(service_->Reject(*model, std::move(error))));
  };
  const models::ModelMetadata& metadata = model->metadata();
  absl::StatusOr<protocol::PredictRequest> decoded =
      protocol::DecodePredictRequest(request.body, ToInfo(metadata.inputs));
  if (!decoded.ok()) return reject(decoded.status());
  const bool unbatched_rows =
      decoded->format == protocol::TfFormat::kRow && metadata.max_batch_size == 0;
  if (unbatched_rows) {
    if (absl::Status s = DropInstanceDimension(decoded->inputs, model->model()); !s.ok()) {
      return reject(std::move(s));
    }
  }
  service_->Infer(*model, {.inputs = std::move(decoded->inputs)},
                  [respond = std::move(respond), format = decoded->format,
                   unbatched_rows](absl::StatusOr<InferenceResponse> result) {
                    respond(PredictResponse(std::move(result), format, unbatched_rows));
                  });
}

}  // namespace dnoscope::serving::rest
