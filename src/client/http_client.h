// HttpClient: the asynchronous HTTP/1.1 transport under the model clients
// (KServe v2 / TF Serving REST). It keeps a pool of keep-alive connections per
// endpoint, runs one request at a time on each, and queues requests beyond
// `max_connections_per_endpoint` until a connection frees up.
//
// Retries: a pooled connection that the server closed while it was idle is
// detected before the request is written (nothing sent: always safe) and the
// request goes out on a fresh connection. If writing to a reused connection
// fails, the request is retried once on a fresh connection; the server may
// have seen part of it, so this assumes requests are idempotent (inference
// requests are). A failure after the request was fully written is never
// retried: it is reported as Unavailable.
//
// Time: call deadlines follow the injected Clock. One deadline thread sleeps
// in Clock::WaitUntil until the earliest deadline and then fails the call
// (DeadlineExceeded, closing its connection), so tests drive deadlines with
// a FakeClock. The connect timeout is a real-time I/O timeout (see
// connection_pool.h for why).
//
// Thread-safety: all methods are thread-safe. The client owns `io_threads`
// threads and the deadline thread; completion callbacks run on the I/O
// threads and must not block.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "client/endpoint.h"
#include "common/clock.h"
#include "common/mutex.h"

namespace dnoscope::client {

struct HttpClientOptions {
  // I/O threads; each connection lives on one of them.
  int io_threads = 1;
  // Keep-alive connections per endpoint; requests beyond wait in a FIFO queue.
  int max_connections_per_endpoint = 64;
  // Limit on name resolution plus TCP connect of a new connection, in real
  // time (an I/O timeout, not a Clock deadline).
  std::chrono::milliseconds connect_timeout{2000};
  // Larger response bodies fail the call with ResourceExhausted.
  size_t max_response_body_bytes = 256 << 20;
};

// One HTTP request.
struct HttpCall {
  std::string method = "POST";
  // Origin-form request target, e.g. "/v2/models/yolo/infer".
  std::string target;
  // Extra request headers. Host and Content-Length are added by the client.
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  // Sent as Content-Type unless empty or present in `headers`.
  std::string content_type = "application/json";
  // The call fails with DeadlineExceeded when no complete response arrived by
  // then (time of the client's Clock). max() means no deadline.
  Clock::TimePoint deadline = Clock::TimePoint::max();
};

struct HttpResult {
  // HTTP status code, e.g. 200.
  int status = 0;
  // Response headers in arrival order; names lower-cased.
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;

  // Value of the first header called `name` (case-insensitive); nullptr when
  // absent. The pointer is valid while this object is alive and unchanged.
  const std::string* Header(std::string_view name) const;
};

class DeadlineTimer;
class EndpointPool;

class HttpClient {
 public:
  using DoneCallback = std::function<void(absl::StatusOr<HttpResult>)>;

  // Starts the I/O threads and the deadline thread. `clock` is not owned and
  // must outlive the client; call deadlines are times of this clock.
  // InvalidArgument for non-positive thread or connection counts or
  // timeouts, or a null clock.
  static absl::StatusOr<std::unique_ptr<HttpClient>> Create(const HttpClientOptions& options,
                                                            Clock* clock = Clock::Real());
  // Calls Shutdown(). Must not run on one of the client's I/O threads.
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // Sends `call` on a pooled keep-alive connection to `endpoint`, opened on
  // demand. `done` runs exactly once, on an I/O thread, and must not block:
  //   - the response, whatever its status code;
  //   - Unavailable: connection refused/reset/closed by the peer, connect
  //     timeout, resolution failure (the message names the endpoint and cause);
  //   - DeadlineExceeded: the deadline passed first (the connection is closed);
  //   - ResourceExhausted: the body exceeded max_response_body_bytes;
  //   - Internal: the response was not valid HTTP/1.1;
  //   - Cancelled: the client was shut down.
  // Not on an I/O thread but inline, before Send returns: InvalidArgument for
  // a malformed call (CR/LF in a header value, bad method or target, a
  // Content-Length or Transfer-Encoding header) and Cancelled after Shutdown().
  void Send(const Endpoint& endpoint, HttpCall call, DoneCallback done);

  // Blocking Send for tools and tests. FailedPrecondition when called on one
  // of this client's I/O threads (it would deadlock).
  absl::StatusOr<HttpResult> SendSync(const Endpoint& endpoint, HttpCall call);

  // Calls to `endpoint` sent but not yet completed (queued or on the wire).
  size_t in_flight(const Endpoint& endpoint) const;

  // Fails every outstanding call with Cancelled, closes all connections and
  // joins the I/O threads. Idempotent. Must not be called from a callback.
  void Shutdown();

 private:
  HttpClient(const HttpClientOptions& options, Clock* clock);
  void RunIoThread(size_t index);
  // The pool for `endpoint`, created on first use; nullptr after Shutdown.
  EndpointPool* PoolFor(const Endpoint& endpoint);

  struct IoThread;

  const HttpClientOptions options_;
  Clock* const clock_;
  std::unique_ptr<DeadlineTimer> deadlines_;
  std::vector<std::unique_ptr<IoThread>> io_threads_;
  std::atomic<size_t> next_io_thread_{0};

  Mutex shutdown_mu_;  // serializes Shutdown() calls
  mutable Mutex mu_;
  bool shut_down_ ABSL_GUARDED_BY(mu_) = false;
  // Pools are never removed before destruction, so raw pointers stay valid.
  std::map<Endpoint, std::unique_ptr<EndpointPool>> pools_ ABSL_GUARDED_BY(mu_);
};

}  // namespace dnoscope::client
