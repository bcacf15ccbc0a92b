// RemoteModel: the remote models::ModelStage — a model served by replicated
// model servers, reached through a Transport (transport.h). All the client's
// decisions live here, written once for every protocol:
//  - balancing: each attempt goes to an endpoint a LoadBalancer picks, at
//    most max_in_flight_per_endpoint per endpoint; requests beyond wait,
//    normal priority first, in submission order within a priority (a
//    low-priority request is dispatched only while no normal one waits);
//  - retries: a retryable failure (IsRetryable) is retried, preferably on an
//    endpoint this request has not failed on, after a capped exponential
//    back-off, up to max_attempts; request errors are returned at once;
//  - ejection and probes: an endpoint that keeps failing is ejected by the
//    balancer and probed (Transport::Probe) when its ejection ends, until it
//    is ready again;
//  - patience: once every endpoint has been ejected for unavailable_patience,
//    waiting requests fail with Unavailable;
//  - withdrawal: a request whose CancelFlag is set is completed with
//    Cancelled before its next dispatch or retry; an attempt already on the
//    wire completes normally.
//
// Time: one timer thread sleeps in Clock::WaitUntil until the next event
// (the earliest back-off end, the next ejection end, the patience expiry)
// and is woken when new work changes that; with a FakeClock nothing happens
// until the test advances the time.
//
// Thread-safety: all methods are thread-safe. `done` callbacks run on the
// transport's threads, the timer thread, or inline (a request refused at
// once, or completed by Shutdown); they must not block nor call Shutdown.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "client/load_balancer.h"
#include "client/transport.h"
#include "common/clock.h"
#include "common/mutex.h"
#include "common/tensor.h"
#include "models/model.h"
#include "models/model_stage.h"

namespace dnoscope::client {

struct RemoteModelOptions {
  // Model name on the servers, and version (-1: the server's default).
  std::string model;
  int64_t version = -1;
  // Endpoint choice, in-flight limit, ejection.
  LoadBalancerOptions balancer;
  // Deadline of one attempt on one endpoint (also of each metadata fetch).
  std::chrono::milliseconds attempt_timeout{30000};
  // Attempts per request (across endpoints) before it fails.
  int max_attempts = 8;
  // Back-off before attempt n+1: retry_backoff * 2^(n-1), at most retry_backoff_max.
  std::chrono::milliseconds retry_backoff{20};
  std::chrono::milliseconds retry_backoff_max{1000};
  // Requests fail with Unavailable once every endpoint has been ejected this long.
  std::chrono::milliseconds unavailable_patience{30000};
  // When not empty, replaces the detector class names of the metadata
  // (TF Serving metadata has none).
  std::vector<std::string> class_names;
};

class RemoteModel final : public models::ModelStage {
 public:
  // Fetches the model's metadata from the first endpoint that answers
  // (blocking; endpoints in order, each within attempt_timeout), then starts
  // the model. InvalidArgument for bad options or a null transport or clock;
  // the server's error when an endpoint answers with a request error (e.g.
  // NotFound for an unknown model); Unavailable listing every endpoint's
  // error when none answers. `clock` is not owned and must outlive the model.
  static absl::StatusOr<std::unique_ptr<RemoteModel>> Connect(
      std::unique_ptr<Transport> transport, const RemoteModelOptions& options,
      Clock* clock = Clock::Real());

  // As Connect, without contacting the servers: metadata() is `metadata`
  // (with options.class_names applied).
  static absl::StatusOr<std::unique_ptr<RemoteModel>> Create(
      std::unique_ptr<Transport> transport, const RemoteModelOptions& options,
      models::ModelMetadata metadata, Clock* clock = Clock::Real());

  // Calls Shutdown().
  ~RemoteModel() override;
  RemoteModel(const RemoteModel&) = delete;
  RemoteModel& operator=(const RemoteModel&) = delete;

  const models::ModelMetadata& metadata() const override { return metadata_; }
  // "remote 'ref' at a:1,b:2 (kserve, p2c)".
  std::string Describe() const override;

  // Runs the model remotely; `done` gets the outputs or the final error:
  // the server's request error ("model 'm' on host:port: ..."), the last
  // retryable error after max_attempts, Unavailable after the patience,
  // Cancelled for a withdrawn request or after Shutdown, InvalidArgument
  // (inline) for inputs the transport cannot encode.
  void InferAsync(models::StageRequest request, Done done) override;

  // Blocking InferAsync, for tools and tests (not from a `done` callback).
  absl::StatusOr<std::vector<Tensor>> Infer(models::StageRequest request);

  // Per endpoint (named "host:port"), and retries over all requests.
  models::StageStats stats() const override;
  // Requests completed with an error (including Cancelled).
  int64_t failed_requests() const { return failed_requests_.load(); }
  // Requests accepted and not yet completed.
  int64_t in_flight() const { return in_flight_.load(); }

  // Completes waiting, delayed and in-flight requests with Cancelled (each
  // `done` exactly once), joins the timer thread, shuts the transport down.
  // Idempotent.
  void Shutdown() override;

 private:
  struct Request;
  using RequestPtr = std::shared_ptr<Request>;

  RemoteModel(std::unique_ptr<Transport> transport, const RemoteModelOptions& options,
              models::ModelMetadata metadata, std::unique_ptr<LoadBalancer> balancer,
              Clock* clock);

  // Dispatches waiting requests while an endpoint has room.
  void Pump();
  // The next request to send and its endpoint; nullptr when none can go.
  // Withdrawn requests met on the way are moved to `withdrawn`.
  RequestPtr TakeDispatchable(size_t* endpoint, std::vector<RequestPtr>* withdrawn)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Send(const RequestPtr& request, size_t endpoint);
  void OnReply(const RequestPtr& request, size_t endpoint,
               absl::StatusOr<std::vector<Tensor>> result);
  // Schedules the next attempt after a retryable failure, or finishes.
  void RetryOrFail(const RequestPtr& request);
  void Finish(const RequestPtr& request, absl::StatusOr<std::vector<Tensor>> result);
  // Wakes the timer thread to recompute its next event.
  void Kick();

  void TimerLoop();
  // Moves requests whose back-off is over to the waiting queues.
  void ReleaseDueRetries();
  void ProbeDueEndpoints();
  void OnProbe(size_t endpoint, const absl::Status& status);
  // Fails waiting and delayed requests once every endpoint was ejected for
  // longer than unavailable_patience.
  void FailWaitingIfAllDown();
  Clock::TimePoint NextEvent() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  Clock::Duration Backoff(int attempt) const;
  bool AnythingWaits() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const std::unique_ptr<Transport> transport_;
  const RemoteModelOptions options_;
  const models::ModelMetadata metadata_;
  const std::unique_ptr<LoadBalancer> balancer_;
  Clock* const clock_;
  std::vector<std::atomic<int64_t>> bytes_sent_;
  std::atomic<int64_t> retries_{0};
  std::atomic<int64_t> failed_requests_{0};
  std::atomic<int64_t> in_flight_{0};

  mutable Mutex mu_;
  CondVar timer_cv_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  // Set when the timer thread must recompute its next event.
  bool kicked_ ABSL_GUARDED_BY(mu_) = false;
  // Requests waiting for an endpoint with room: [0] normal, [1] low priority.
  std::array<std::deque<RequestPtr>, 2> waiting_ ABSL_GUARDED_BY(mu_);
  // Requests waiting for their back-off to pass before the next attempt.
  std::multimap<Clock::TimePoint, RequestPtr> delayed_ ABSL_GUARDED_BY(mu_);
  Mutex shutdown_mu_;  // serializes Shutdown() calls
  std::jthread timer_thread_;
};

}  // namespace dnoscope::client
