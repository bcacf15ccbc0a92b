// The REST front end: KServe v2 (Open Inference Protocol) and TF Serving v1
// endpoints plus Prometheus metrics, as a function of one HTTP request (see
// serving/rest/routes.h for the endpoints). It only translates: it decodes
// the wire format with src/protocol, calls the InferenceService (which
// resolves the model, checks the tensors and queues the work), and encodes
// the answer; the I/O thread that calls Handle never runs a model.
//
// Status codes: 400 bad request (malformed JSON/binary, wrong datatype or
// shape, unknown input/output, bad version), 404 unknown route/model/version,
// 405 wrong method, 413 body over the limit, 503 model unavailable, queue
// full or shutting down, 504 request timeout, 500 model failure. Bodies of
// errors are {"error": "..."}. HttpStatusFor is the one place a Status
// becomes an HTTP status.
//
// Thread-safety: Handle is thread-safe and non-blocking.
#pragma once

#include <cstddef>
#include <string>

#include "absl/status/status.h"
#include "serving/http/server.h"
#include "serving/inference_service.h"
#include "serving/rest/routes.h"

namespace dnoscope::serving::rest {

struct RestOptions {
  // Requests with larger bodies get 413 (the HTTP server enforces its own
  // limit too; this one also covers front ends without one).
  size_t max_body_bytes = 64 << 20;
};

// The HTTP status for a non-OK status (InvalidArgument 400, NotFound 404,
// ResourceExhausted 429, Unimplemented 501, Unavailable 503,
// DeadlineExceeded 504, others 500).
int HttpStatusFor(const absl::Status& status);

class RestHandler {
 public:
  // `service` is not owned and must outlive the handler.
  RestHandler(const InferenceService* service, const RestOptions& options = {});

  // Answers `request` through `respond`, now or when its inference completes.
  void Handle(http::HttpRequest request, http::Responder respond) const;

 private:
  void HandleKserveGet(const Route& route, const http::Responder& respond) const;
  void HandleInfer(const Route& route, http::HttpRequest& request,
                   http::Responder respond) const;
  void HandleTfGet(const Route& route, const http::Responder& respond) const;
  void HandlePredict(const Route& route, http::HttpRequest& request,
                     http::Responder respond) const;

  const InferenceService* const service_;
  const RestOptions options_;
};

}  // namespace dnoscope::serving::rest
