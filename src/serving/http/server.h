// A generic HTTP/1.1 server on Boost.Beast. It knows nothing about models:
// each complete request is handed to a Handler together with a Responder, and
// whatever HttpResponse is later delivered through the Responder is written
// back on the same connection.
//
// Connections are persistent (HTTP/1.1 keep-alive; `Connection: close` and
// HTTP/1.0 are honoured). Requests on one connection are handled strictly in
// order: the next request is read only after the previous response has been
// written. Several I/O threads share one io_context; each connection runs on
// its own strand. Protocol errors are answered by the server itself with a
// JSON body {"error": "..."} and the connection is then closed: 400 for
// malformed HTTP, 413 for a body over max_body_bytes, 431 for a header block
// over max_header_bytes. `Expect: 100-continue` is answered with an interim
// 100 response.
//
// Thread-safety: HttpServer's methods are thread-safe. A Responder may be
// invoked from any thread. The Handler is called on I/O threads, concurrently
// for different connections.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"

namespace dnoscope::serving::http {

struct HttpRequest {
  // "GET", "POST", ... exactly as received.
  std::string method;
  // Path and query as received, e.g. "/v2/models/m/infer?x=1".
  std::string target;
  // In arrival order; names lower-cased, values as received.
  std::vector<std::pair<std::string, std::string>> headers;
  // The complete body, with any chunked encoding removed.
  std::string body;

  // The value of the first header called `name` (case-insensitive), or
  // nullptr when absent. The pointer is valid while this request is unchanged.
  const std::string* Header(std::string_view name) const;
};

struct HttpResponse {
  // Status code; values outside [200, 599] are replaced by 500.
  int status = 200;
  // Sent as Content-Type unless empty.
  std::string content_type = "application/json";
  // Extra headers. Content-Length, Transfer-Encoding and Connection are owned
  // by the server and ignored here, as are names or values with CR/LF.
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
};

// Delivers the response to a request. Call exactly once, from any thread,
// possibly after the handler returned. Calls after the first are ignored; a
// call after the connection died or the server shut down is a no-op. A
// Responder destroyed without being called answers 500.
using Responder = std::function<void(HttpResponse)>;

// Called once per complete request, on an I/O thread. Must be quick and must
// not block: hand long work to another thread and answer through `respond`.
// An exception escaping the handler is logged and answered with 500.
using Handler = std::function<void(HttpRequest request, Responder respond)>;

struct HttpServerOptions {
  // Address to bind: an IP literal (IPv4 or IPv6) or "localhost".
  std::string host = "127.0.0.1";
  // TCP port; 0 picks a free port (see HttpServer::port()).
  int port = 8000;
  // Threads running the I/O loop and the handler; at least 1.
  int io_threads = 2;
  // Largest accepted request body (after removing chunked encoding).
  size_t max_body_bytes = 64 << 20;
  // Largest accepted request line plus header block.
  size_t max_header_bytes = 64 << 10;
  // A keep-alive connection waiting for its next request is closed after this.
  std::chrono::seconds idle_timeout{60};
  // A request that started arriving must be complete within this; the same
  // budget applies to writing one response.
  std::chrono::seconds read_timeout{30};
  // Shutdown waits at most this long for in-flight requests to be answered.
  std::chrono::seconds drain_timeout{30};
};

class HttpServer {
 public:
  // Binds to options.host:options.port and starts serving on
  // options.io_threads threads. Errors: InvalidArgument for a bad host, port
  // or thread count (or a host that is not a local address); Unavailable when
  // the address is in use (the message names host:port); Internal otherwise.
  static absl::StatusOr<std::unique_ptr<HttpServer>> Start(const HttpServerOptions& options,
                                                           Handler handler);

  // Calls Shutdown().
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // The bound port (the chosen one when options.port was 0).
  int port() const;

  // Graceful stop: stops accepting, closes idle keep-alive connections, lets
  // requests already received be answered and their responses written (each
  // with `Connection: close`), waiting at most drain_timeout; then closes what
  // is left and joins the I/O threads. Idempotent; concurrent callers block
  // until the first call finished. Must not be called from a handler.
  void Shutdown();

  // Requests handed to the handler whose Responder has not been called yet.
  size_t in_flight() const;

 private:
  class Impl;
  explicit HttpServer(std::unique_ptr<Impl> impl);

  std::unique_ptr<Impl> impl_;
};

}  // namespace dnoscope::serving::http
