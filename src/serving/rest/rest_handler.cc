#include "serving/rest/rest_handler.h"

#include "fmt/format.h"
#include "serving/rest/responses.h"

namespace dnoscope::serving::rest {

RestHandler::RestHandler(const ModelManager* models, MetricsRegistry* metrics,
                         const RestOptions& options, Clock* clock)
    : models_(models), metrics_(metrics), options_(options), clock_(clock) {}

Clock::TimePoint RestHandler::Deadline(std::chrono::microseconds timeout) const {
  if (timeout.count() <= 0) timeout = options_.default_timeout;
  if (timeout.count() <= 0) return Clock::TimePoint::max();
  return clock_->Now() + timeout;
}

const ServedVersion* RestHandler::ResolveForInference(const Route& route,
                                                     const http::Responder& respond) const {
  absl::StatusOr<const ServedModel*> model = models_->Find(route.model);
  if (!model.ok()) {
    respond(StatusResponse(model.status()));
    return nullptr;
  }
  absl::StatusOr<const ServedVersion*> version = (*model)->Resolve(route.version);
  if (!version.ok()) {
    respond(StatusResponse(version.status()));
    return nullptr;
  }
  return *version;
}

void RestHandler::Fail(const Route& route, const ServedVersion& version,
                       const absl::Status& status, const http::Responder& respond) const {
  metrics_->GetOrCreate(route.model, version.version)->RecordFailure();
  respond(StatusResponse(status));
}

void RestHandler::Handle(http::HttpRequest request, http::Responder respond) const {
  RouteMatch match = MatchRoute(request.method, request.target);
  if (match.http_status != 0) {
    respond(ErrorResponse(match.http_status, match.error));
    return;
  }
  if (request.body.size() > options_.max_body_bytes) {
    respond(ErrorResponse(413, fmt::format("request body of {} bytes exceeds the limit of {} bytes",
                                           request.body.size(), options_.max_body_bytes)));
    return;
  }
  const Route& route = match.route;
  switch (route.endpoint) {
    case Endpoint::kLive:
      respond(JsonResponse("{\"live\":true}"));
      return;
    case Endpoint::kReady:
      respond(models_->ready() ? JsonResponse("{\"ready\":true}")
                               : ErrorResponse(503, "server is not ready (see the model states)"));
      return;
    case Endpoint::kMetrics: {
      http::HttpResponse metrics = JsonResponse(metrics_->RenderPrometheus());
      metrics.content_type = "text/plain; version=0.0.4; charset=utf-8";
      respond(std::move(metrics));
      return;
    }
    case Endpoint::kInfer:
      HandleInfer(route, request, std::move(respond));
      return;
    case Endpoint::kTfPredict:
      HandlePredict(route, request, std::move(respond));
      return;
    case Endpoint::kTfStatus:
    case Endpoint::kTfMetadata:
      HandleTfGet(route, respond);
      return;
    default:
      HandleKserveGet(route, respond);
      return;
  }
}

}  // namespace dnoscope::serving::rest
