// The REST front end: KServe v2 (Open Inference Protocol) and TF Serving v1
// endpoints plus Prometheus metrics, as a function of one HTTP request (see
// serving/rest/routes.h for the endpoints). It decodes with src/protocol,
// checks tensors against the model's metadata, queues the work on the
// model's scheduler and answers when the scheduler completes it — the I/O
// thread that calls Handle never runs a model.
//
// Status codes: 400 bad request (malformed JSON/binary, wrong datatype or
// shape, unknown input/output, bad version), 404 unknown route/model/version,
// 405 wrong method, 413 body over the limit, 503 model unavailable, queue
// full or shutting down, 504 request timeout, 500 model failure. Bodies of
// errors are {"error": "..."}.
//
// Thread-safety: Handle is thread-safe and non-blocking.
#pragma once

#include <chrono>
#include <cstddef>
#include <string>

#include "absl/status/status.h"
#include "common/clock.h"
#include "serving/http/server.h"
#include "serving/metrics.h"
#include "serving/model_manager.h"
#include "serving/rest/routes.h"

namespace dnoscope::serving::rest {

struct RestOptions {
  // Requests with larger bodies get 413 (the HTTP server enforces its own
  // limit too; this one also covers front ends without one).
  size_t max_body_bytes = 64 << 20;
  // Deadline for requests that do not set the KServe "timeout" parameter
  // (microseconds, as Triton); 0: none.
  std::chrono::microseconds default_timeout{0};
  // Reported by GET /v2.
  std::string server_name = "dnoscope";
  std::string server_version = "0.1.0";
};

// The HTTP status for a non-OK status (InvalidArgument 400, NotFound 404,
// ResourceExhausted 429, Unimplemented 501, Unavailable 503,
// DeadlineExceeded 504, others 500).
int HttpStatusFor(const absl::Status& status);

class RestHandler {
 public:
  // `models`, `metrics` and `clock` are not owned and must outlive the handler.
  RestHandler(const ModelManager* models, MetricsRegistry* metrics, const RestOptions& options,
              Clock* clock = Clock::Real());

  // Answers `request` through `respond`, now or when its inference completes.
  void Handle(http::HttpRequest request, http::Responder respond) const;

 private:
  void HandleKserveGet(const Route& route, const http::Responder& respond) const;
  void HandleInfer(const Route& route, http::HttpRequest& request,
                   http::Responder respond) const;
  void HandleTfGet(const Route& route, const http::Responder& respond) const;
  void HandlePredict(const Route& route, http::HttpRequest& request,
                     http::Responder respond) const;
  Clock::TimePoint Deadline(std::chrono::microseconds timeout) const;
  // The ready version `route` names for an inference; nullptr after
  // answering the error (unknown model/version, unavailable) itself.
  const ServedVersion* ResolveForInference(const Route& route,
                                           const http::Responder& respond) const;
  // Counts a request rejected before it reached the scheduler and answers it.
  void Fail(const Route& route, const ServedVersion& version, const absl::Status& status,
            const http::Responder& respond) const;

  const ModelManager* const models_;
  MetricsRegistry* const metrics_;
  const RestOptions options_;
  Clock* const clock_;
};

}  // namespace dnoscope::serving::rest
