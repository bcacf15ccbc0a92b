#include "serving/rest/rest_handler.h"

#include "fmt/format.h"
#include "serving/http/content_coding.h"
#include "serving/rest/responses.h"

namespace dnoscope::serving::rest {
namespace {

// Repository operations allowed to wait for the worker.
constexpr size_t kMaxQueuedRepositoryOperations = 64;

// Compresses what `respond` sends when `coding` is not identity.
http::Responder CompressingResponder(http::ContentCoding coding, http::Responder respond) {
  if (coding == http::ContentCoding::kIdentity) return respond;
  return [coding, respond = std::move(respond)](http::HttpResponse response) {
    if (!response.body.empty()) {
      response.body = http::Compress(coding, response.body);
      response.headers.emplace_back("Content-Encoding",
                                    std::string(http::ContentCodingName(coding)));
    }
    respond(std::move(response));
  };
}

// Replaces a compressed body by its decoded bytes; the error response when it
// cannot be decoded within the limit.
std::optional<http::HttpResponse> DecodeBody(http::HttpRequest& request, size_t max_body_bytes) {
  const std::string* encoding = request.Header("content-encoding");
  absl::StatusOr<http::ContentCoding> coding =
      http::ParseContentEncoding(encoding == nullptr ? "" : *encoding);
  if (!coding.ok()) return ErrorResponse(415, std::string(coding.status().message()));
  absl::StatusOr<std::string> body = http::Decompress(*coding, request.body, max_body_bytes);
  if (body.ok()) {
    request.body = std::move(*body);
    return std::nullopt;
  }
  if (body.status().code() == absl::StatusCode::kResourceExhausted) {
    if (*coding == http::ContentCoding::kIdentity) {
      return ErrorResponse(413, fmt::format("request body of {} bytes exceeds the limit of {} bytes",
                                            request.body.size(), max_body_bytes));
    }
    return ErrorResponse(413, fmt::format("request body exceeds the limit of {} bytes once "
                                          "decompressed ({} bytes compressed)",
                                          max_body_bytes, request.body.size()));
  }
  return ErrorResponse(400, std::string(body.status().message()));
}

}  // namespace

RestHandler::RestHandler(InferenceService* service, const RestOptions& options)
    : service_(service),
      options_(options),
      work_(kMaxQueuedRepositoryOperations),
      worker_([this] { WorkerLoop(); }) {}

RestHandler::~RestHandler() {
  work_.Close();
  worker_.join();
}

void RestHandler::WorkerLoop() {
  while (std::optional<std::function<void()>> work = work_.Pop()) (*work)();
}

void RestHandler::Handle(http::HttpRequest request, http::Responder respond) const {
  const std::string* accept = request.Header("accept-encoding");
  respond = CompressingResponder(
      accept == nullptr ? http::ContentCoding::kIdentity : http::NegotiateResponseCoding(*accept),
      std::move(respond));
  RouteMatch match = MatchRoute(request.method, request.target);
  if (match.http_status != 0) {
    respond(ErrorResponse(match.http_status, match.error));
    return;
  }
  if (std::optional<http::HttpResponse> error = DecodeBody(request, options_.max_body_bytes)) {
    respond(std::move(*error));
    return;
  }
  Dispatch(match.route, request, std::move(respond));
}

void RestHandler::Dispatch(const Route& route, http::HttpRequest& request,
                           http::Responder respond) const {
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
    case Endpoint::kStatistics:
      HandleStatistics(route, respond);
      return;
    case Endpoint::kRepositoryIndex:
      HandleRepositoryIndex(request, respond);
      return;
    case Endpoint::kRepositoryLoad:
    case Endpoint::kRepositoryUnload:
      HandleLoadUnload(route, std::move(respond));
      return;
    default:
      HandleKserveGet(route, respond);
      return;
  }
}

void RestHandler::HandleLoadUnload(const Route& route, http::Responder respond) const {
  const bool load = route.endpoint == Endpoint::kRepositoryLoad;
  auto shared = std::make_shared<http::Responder>(std::move(respond));
  const bool queued = work_.TryPush([this, load, model = route.model, shared] {
    const absl::Status status = load ? service_->LoadModel(model) : service_->UnloadModel(model);
    http::HttpResponse ok = JsonResponse("");
    ok.content_type.clear();
    (*shared)(status.ok() ? std::move(ok) : StatusResponse(status));
  });
  if (!queued) {
    (*shared)(ErrorResponse(503, "too many repository operations are waiting; retry later"));
  }
}

}  // namespace dnoscope::serving::rest
