// Closed-loop load generation for benchmarks: keeps a fixed number of requests
// outstanding against one endpoint (each completion issues the next) and
// measures throughput, status codes and per-request latency, over HTTP or
// any Transport (gRPC).
// Thread-safety: RunClosedLoop may be called from any thread; it blocks for
// the whole run and owns its HttpClient.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "client/endpoint.h"
#include "client/http_client.h"
#include "client/transport.h"
#include "common/clock.h"
#include "common/histogram.h"

namespace dnoscope::client {

struct LoadOptions {
  // Where to send the requests.
  Endpoint endpoint;
  // Requests kept outstanding at all times (one keep-alive connection each).
  int concurrency = 1;
  // Measured window, after the warm-up.
  std::chrono::milliseconds duration{2000};
  // Completions during the warm-up are not counted.
  std::chrono::milliseconds warmup{300};
  // I/O threads of the HttpClient.
  int io_threads = 1;
  // After the window, how long to let outstanding requests finish before
  // they are cancelled (they are never counted either way).
  std::chrono::milliseconds drain_timeout{1000};
};

struct LoadResult {
  // Completions inside the measured window, including errors.
  int64_t requests = 0;
  // Of those, non-2xx responses and transport failures.
  int64_t errors = 0;
  // HTTP status code -> completions; transport failures count under 0.
  std::map<int, int64_t> status_counts;
  // Length of the measured window.
  double seconds = 0;
  double requests_per_second = 0;
  // Send-to-completion time of every counted request.
  LatencyHistogram latency;
  // Description of the first counted error; empty when there was none.
  std::string first_error;
};

// Runs warmup + duration of closed-loop load. `make_call(i)` builds the i-th
// request (i = 0, 1, ...); it runs on the client's I/O threads, concurrently
// when io_threads > 1, and must be cheap. `clock` is not owned and must
// outlive the call; the window is timed with it. Returns InvalidArgument for
// bad options, or (without waiting out the window) when make_call produces
// an invalid HttpCall; Internal if the client cannot start.
absl::StatusOr<LoadResult> RunClosedLoop(const LoadOptions& options,
                                         std::function<HttpCall(int64_t i)> make_call,
                                         Clock* clock = Clock::Real());

// The same closed loop over any Transport (e.g. GrpcTransport): `call`
// (prepared by `transport`) is sent to the transport's endpoint 0 every
// time; a success counts under status 200, a failure under 0.
// options.endpoint and io_threads are the transport's business and ignored.
// Shuts `transport` down at the end (stragglers complete Cancelled).
absl::StatusOr<LoadResult> RunClosedLoop(const LoadOptions& options, Transport& transport,
                                         std::shared_ptr<const PreparedCall> call,
                                         Clock* clock = Clock::Real());

}  // namespace dnoscope::client
