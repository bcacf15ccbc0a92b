// ModelScheduler: the transport-agnostic request scheduler of one model
// version. Front ends (HTTP, later gRPC) hand it InferenceJobs; it queues
// them in one bounded FIFO, merges compatible requests into batches with the
// dynamic-batching policy (serving/batcher.h), runs them on instance_count
// threads that each own a Model instance, and completes every job exactly
// once through its `done` callback.
//
// Batching (max_batch_size > 0): every input of a request has rank >= 1 and
// the same dim 0, the request's batch size n. Requests with the same inputs
// (names, order, dtypes, dims past 0) and the same requested_outputs are
// concatenated along dim 0, run in one Model::InferSelected call, and every
// output is split back along dim 0 by each request's n (an output whose dim 0
// is not the batch total fails every request of that batch with Internal).
// A request that runs alone is passed to the model and back unchanged.
//
// Time: submit, pick, compute and completion times come from the injected
// Clock, and a thread that waits for a time - the oldest request's batching
// delay or a queued request's deadline, whichever comes first - waits through
// Clock::WaitUntil. A fake clock therefore sees that thread as a waiter with
// that deadline and releases it when advanced past it, never before; a
// thread with an empty queue waits on the queue alone, not on the clock.
//
// Thread-safety: Submit, Shutdown, pending and metadata are thread-safe.
// `done` callbacks run on a scheduler thread (or, for rejections, on the
// caller of Submit) with no scheduler lock held; they may call Submit but
// must not call Shutdown or destroy the scheduler.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/clock.h"
#include "common/mutex.h"
#include "common/tensor.h"
#include "models/model.h"
#include "serving/batcher.h"
#include "serving/metrics.h"

namespace dnoscope::serving {

struct SchedulerOptions {
  // Largest number of batch items per execution; 0: the model has no batch
  // dimension and each request runs alone, never merged. Must not exceed the
  // model's metadata().max_batch_size.
  int max_batch_size = 0;
  // How long the oldest queued request may wait for others to join it.
  std::chrono::microseconds max_queue_delay{0};
  // Batch sizes worth running at once, each in [1, max_batch_size].
  std::vector<int> preferred_batch_sizes;
  // Threads, each with its own Model instance (>= 1).
  int instance_count = 1;
  // Queued (not yet executing) requests; Submit beyond it fails at once
  // with Unavailable (>= 1).
  size_t max_queue_size = 1024;
};

struct InferenceJob {
  // The request's tensors. With max_batch_size > 0 all share dim 0.
  std::vector<Tensor> inputs;
  // Passed to Model::InferSelected: empty means what Infer returns;
  // otherwise exactly these outputs, in this order (NotFound for an output
  // the model does not declare). Only requests asking for the same outputs
  // are merged.
  std::vector<std::string> requested_outputs;
  // A job still queued at this time fails with DeadlineExceeded, without
  // running: at this time when its thread waits for a batch, else when a
  // thread next looks at the queue.
  Clock::TimePoint deadline = Clock::TimePoint::max();
  // Receives the outputs or the error; called exactly once, never under a
  // scheduler lock. Must be set.
  std::function<void(absl::StatusOr<std::vector<Tensor>>)> done;
};

class ModelScheduler {
 public:
  using ModelFactory = std::function<absl::StatusOr<std::unique_ptr<models::Model>>()>;

  // Creates instance_count models with `factory` and starts one thread per
  // model. Returns the factory's first error; InvalidArgument for bad
  // options (see SchedulerOptions) or a max_batch_size the model does not
  // support. `stats` (may be null) and `clock` are not owned and must
  // outlive the scheduler.
  static absl::StatusOr<std::unique_ptr<ModelScheduler>> Create(const SchedulerOptions& options,
                                                                ModelFactory factory,
                                                                ModelStats* stats, Clock* clock);

  // Calls Shutdown().
  ~ModelScheduler();
  ModelScheduler(const ModelScheduler&) = delete;
  ModelScheduler& operator=(const ModelScheduler&) = delete;

  // Queues `job`; never blocks on the model. Completes it synchronously
  // (before returning) with Unavailable when the queue is full or the
  // scheduler is shut down, and with InvalidArgument when max_batch_size > 0
  // and the inputs lack a common batch dimension (none, a scalar, differing
  // dim 0, dim 0 < 1, malformed tensor) or their batch exceeds max_batch_size.
  // Later errors: DeadlineExceeded (deadline passed while queued), the
  // model's own error (NotFound for an unknown requested output), Internal
  // (outputs cannot be split).
  void Submit(InferenceJob job);

  // Stops accepting jobs (Submit then answers Unavailable), runs everything
  // already queued without waiting for batching delays, and joins the
  // threads. Idempotent and thread-safe; must not be called from `done`.
  void Shutdown();

  // Requests accepted and not yet completed (queued or executing).
  size_t pending() const { return pending_.load(std::memory_order_relaxed); }

  // Metadata of model instance 0; valid for the scheduler's lifetime.
  const models::ModelMetadata& metadata() const { return models_.front()->metadata(); }

 private:
  // A job in the queue.
  struct Pending {
    InferenceJob job;
    // Batch size n (1 when max_batch_size is 0).
    int64_t batch_size = 1;
    Clock::TimePoint submit_time;
  };
  // What one thread takes out of the queue in one go.
  struct Work {
    Clock::TimePoint picked;
    std::vector<Pending> expired;
    std::vector<Pending> batch;
  };

  ModelScheduler(const SchedulerOptions& options, BatchPolicy policy,
                 std::vector<std::unique_ptr<models::Model>> models, ModelStats* stats,
                 Clock* clock);

  absl::StatusOr<int64_t> RequestBatchSize(const InferenceJob& job) const;
  // Queues `job` unless full or stopping; leaves `job` intact on error.
  absl::Status Enqueue(InferenceJob& job, int64_t batch_size, Clock::TimePoint now);
  void InstanceLoop(models::Model& model);
  // Blocks until there is work; false when stopping and the queue is drained.
  bool NextWork(Work& work) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void TakeExpired(Clock::TimePoint now, std::vector<Pending>& expired)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  QueueSnapshot Snapshot() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void TakeFront(size_t count, std::vector<Pending>& batch) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The earliest deadline of a queued job; TimePoint::max() when none.
  Clock::TimePoint EarliestDeadline() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Waits until the queue changes, shutdown starts, or the clock reaches
  // `wake_at`.
  void WaitForChange(Clock::TimePoint wake_at) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void RunBatch(models::Model& model, std::vector<Pending> batch, Clock::TimePoint picked);
  // Completes one accepted job, records its stats (`compute`: the execution
  // that ran it), calls done.
  void Finish(Pending& pending, absl::StatusOr<std::vector<Tensor>> result,
              Clock::TimePoint picked, Clock::Duration compute = Clock::Duration::zero());
  void FailAll(std::vector<Pending>& jobs, const absl::Status& status, Clock::TimePoint picked);

  const SchedulerOptions options_;
  const BatchPolicy policy_;
  const std::vector<std::unique_ptr<models::Model>> models_;
  ModelStats* const stats_;
  Clock* const clock_;
  const std::string model_name_;
  std::atomic<size_t> pending_{0};

  Mutex mu_;
  // Signalled when queue_ or stopping_ changes.
  CondVar cv_;
  std::deque<Pending> queue_ ABSL_GUARDED_BY(mu_);
  // Bumped on every change of queue_, so waiters notice any change.
  uint64_t queue_version_ ABSL_GUARDED_BY(mu_) = 0;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;

  // Serializes Shutdown so that concurrent calls do not join twice.
  Mutex shutdown_mu_;
  std::vector<std::jthread> threads_ ABSL_GUARDED_BY(shutdown_mu_);
};

}  // namespace dnoscope::serving
