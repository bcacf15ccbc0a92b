// A model served by replicated model servers, used asynchronously: each
// inference goes to one endpoint chosen by a LoadBalancer, over KServe v2
// (binary or JSON) or TF Serving REST. Failures (connection refused/reset,
// timeout, 5xx) are retried on another endpoint with capped exponential
// back-off; an endpoint that keeps failing is ejected and probed on its
// readiness endpoint until it answers again. Requests fail only for request
// errors (4xx), after max_attempts, or when every endpoint has been ejected
// for longer than unavailable_patience.
//
// Thread-safety: all methods are thread-safe. `done` callbacks run on the
// client's I/O or timer thread and must not block or call Shutdown.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "client/endpoint.h"
#include "client/http_client.h"
#include "client/load_balancer.h"
#include "client/wire.h"
#include "common/clock.h"
#include "common/tensor.h"
#include "models/model.h"

namespace dnoscope::client {

struct RemoteModelOptions {
  // Model name on the servers, and version (-1: the server's default).
  std::string model;
  int64_t version = -1;
  WireFormat format = WireFormat::kKserveBinary;
  LoadBalancerOptions balancer;
  HttpClientOptions http;
  // Deadline of one attempt on one endpoint.
  std::chrono::milliseconds attempt_timeout{30000};
  // Attempts per request (across endpoints) before it fails.
  int max_attempts = 8;
  // Back-off before attempt n+1: retry_backoff * 2^(n-1), at most retry_backoff_max.
  std::chrono::milliseconds retry_backoff{20};
  std::chrono::milliseconds retry_backoff_max{1000};
  // Requests fail with Unavailable once every endpoint has been ejected this long.
  std::chrono::milliseconds unavailable_patience{30000};
};

struct RemoteEndpointStats {
  Endpoint endpoint;
  int in_flight = 0;
  int64_t requests = 0;
  int64_t failures = 0;
  int64_t ejections = 0;
  bool ejected = false;
  int64_t bytes_sent = 0;
};

struct RemoteModelStats {
  std::vector<RemoteEndpointStats> endpoints;
  // Attempts after the first, over all requests.
  int64_t retries = 0;
  int64_t failed_requests = 0;
};

class RemoteModel {
 public:
  using Done = std::function<void(absl::StatusOr<std::vector<Tensor>>)>;

  // InvalidArgument for an empty endpoint list, an empty model name or bad
  // options. Does not contact the servers. `clock` is not owned and must
  // outlive the model.
  static absl::StatusOr<std::unique_ptr<RemoteModel>> Create(std::vector<Endpoint> endpoints,
                                                             const RemoteModelOptions& options,
                                                             Clock* clock = Clock::Real());
  ~RemoteModel();
  RemoteModel(const RemoteModel&) = delete;
  RemoteModel& operator=(const RemoteModel&) = delete;

  // The model's metadata from the first endpoint that answers (blocking;
  // not from a `done` callback). Unavailable listing every endpoint's error
  // when none does; the server's error (e.g. NotFound) otherwise.
  absl::StatusOr<models::ModelMetadata> FetchMetadata();

  // Runs the model remotely; `done` gets the outputs (names as requested,
  // or the server's default outputs) or the final error. `metadata` must be
  // what FetchMetadata returned (TF Serving needs its output types).
  void InferAsync(std::vector<Tensor> inputs, std::vector<std::string> outputs, Done done);

  // Blocking convenience (not from a `done` callback).
  absl::StatusOr<std::vector<Tensor>> Infer(std::vector<Tensor> inputs,
                                            std::vector<std::string> outputs = {});

  // Requests accepted and not yet completed.
  int64_t in_flight() const { return in_flight_.load(); }
  RemoteModelStats stats() const;

  // Fails waiting and in-flight requests with Cancelled, joins the threads.
  // Idempotent; the destructor calls it.
  void Shutdown();

 private:
  struct Request;
  RemoteModel(std::vector<Endpoint> endpoints, const RemoteModelOptions& options, Clock* clock,
              std::unique_ptr<LoadBalancer> balancer, std::unique_ptr<HttpClient> http);

  // Sends `request` to an endpoint; false (and the request queued at the
  // front of waiting_) when none has room.
  bool TryDispatch(const std::shared_ptr<Request>& request);
  void OnReply(std::shared_ptr<Request> request, size_t endpoint,
               absl::StatusOr<HttpResult> reply);
  void Finish(const std::shared_ptr<Request>& request, absl::StatusOr<std::vector<Tensor>> result);
  // Dispatches waiting requests while endpoints have room.
  void Pump();
  void TimerLoop(std::stop_token stop);
  void RunDueRetries();
  void ProbeDueEndpoints();
  // Fails waiting requests once every endpoint was ejected for longer than
  // unavailable_patience.
  void FailWaitingIfAllDown();
  Clock::Duration Backoff(int attempt) const;

  const std::vector<Endpoint> endpoints_;
  const RemoteModelOptions options_;
  Clock* const clock_;
  const bool real_clock_;
  std::unique_ptr<LoadBalancer> balancer_;
  std::unique_ptr<HttpClient> http_;
  models::ModelMetadata metadata_ ABSL_GUARDED_BY(mu_);
  std::vector<std::atomic<int64_t>> bytes_sent_;
  std::atomic<int64_t> retries_{0};
  std::atomic<int64_t> failed_requests_{0};
  std::atomic<int64_t> in_flight_{0};

  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  // Requests waiting for an endpoint with room (FIFO).
  std::deque<std::shared_ptr<Request>> waiting_ ABSL_GUARDED_BY(mu_);
  // Requests waiting for their back-off to pass before the next attempt.
  std::multimap<Clock::TimePoint, std::shared_ptr<Request>> delayed_ ABSL_GUARDED_BY(mu_);
  std::jthread timer_thread_;
};

}  // namespace dnoscope::client
