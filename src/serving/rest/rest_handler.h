// The REST front end: KServe v2 (Open Inference Protocol) and TF Serving v1
// endpoints plus Prometheus metrics, as a function of one HTTP request (see
// serving/rest/routes.h for the endpoints). It only translates: it decodes
// the wire format with src/protocol, calls the InferenceService (which
// resolves the model, checks the tensors and queues the work), and encodes
// the answer; the I/O thread that calls Handle never runs a model.
//
// Repository extension (Triton's): POST /v2/repository/index (body optional,
// {"ready": true} lists READY versions only) answers [{"name", "version",
// "state", "reason"}]; POST /v2/repository/models/{m}/load | unload answer
// 200 with an empty body once done (they run on the handler's own worker
// thread, one at a time, never on an I/O thread). Statistics extension:
// GET /v2/models/stats, /v2/models/{m}/stats, /v2/models/{m}/versions/{v}/stats
// answer {"model_stats": [...]} as Triton does.
//
// Compressed bodies (as Triton): a request with Content-Encoding gzip or
// deflate is decoded before anything else, and the body limit applies to
// the decoded size (413 once inflating passes it; inflating stops there), a
// corrupt body is 400 and another coding 415 (RFC 9110's "Unsupported Media
// Type" for a content coding the server does not know). A response is
// gzip- (else deflate-) compressed when the request's Accept-Encoding allows
// it, with Content-Encoding set.
//
// Status codes: 400 bad request (malformed JSON/binary, wrong datatype or
// shape, unknown input/output, bad version), 404 unknown route/model/version,
// 405 wrong method, 413 body over the limit, 503 model unavailable, queue
// full or shutting down, 504 request timeout, 500 model failure. Bodies of
// errors are {"error": "..."}. HttpStatusFor is the one place a Status
// becomes an HTTP status.
//
// Thread-safety: Handle is thread-safe and non-blocking. The handler must
// outlive the server that calls it; destroying it waits for a load or
// unload in progress.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "absl/status/status.h"
#include "common/bounded_queue.h"
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
  RestHandler(InferenceService* service, const RestOptions& options = {});
  // Finishes the repository operation in progress; those still queued get 503.
  ~RestHandler();
  RestHandler(const RestHandler&) = delete;
  RestHandler& operator=(const RestHandler&) = delete;

  // Answers `request` through `respond`, now or when its inference completes.
  void Handle(http::HttpRequest request, http::Responder respond) const;

 private:
  // Routes a request whose body is decoded.
  void Dispatch(const Route& route, http::HttpRequest& request, http::Responder respond) const;
  void HandleKserveGet(const Route& route, const http::Responder& respond) const;
  void HandleStatistics(const Route& route, const http::Responder& respond) const;
  void HandleRepositoryIndex(const http::HttpRequest& request,
                             const http::Responder& respond) const;
  // Load or unload on the worker thread.
  void HandleLoadUnload(const Route& route, http::Responder respond) const;
  void WorkerLoop();
  void HandleInfer(const Route& route, http::HttpRequest& request,
                   http::Responder respond) const;
  void HandleTfGet(const Route& route, const http::Responder& respond) const;
  void HandlePredict(const Route& route, http::HttpRequest& request,
                     http::Responder respond) const;

  InferenceService* const service_;
  const RestOptions options_;
  // Repository operations waiting for the worker thread.
  mutable BoundedQueue<std::function<void()>> work_;
  std::thread worker_;
};

}  // namespace dnoscope::serving::rest
