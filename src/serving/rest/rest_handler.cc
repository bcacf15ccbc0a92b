#include "serving/rest/rest_handler.h"

#include "fmt/format.h"
#include "serving/rest/responses.h"

namespace dnoscope::serving::rest {

RestHandler::RestHandler(const InferenceService* service, const RestOptions& options)
    : service_(service), options_(options) {}

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
      respond(service_->live() ? JsonResponse("{\"live\":true}")
                               : ErrorResponse(503, "server is not live"));
      return;
    case Endpoint::kReady:
      respond(service_->ready()
                  ? JsonResponse("{\"ready\":true}")
                  : ErrorResponse(503, "server is not ready (see the model states)"));
      return;
    case Endpoint::kMetrics: {
      http::HttpResponse metrics = JsonResponse(service_->metrics().RenderPrometheus());
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
