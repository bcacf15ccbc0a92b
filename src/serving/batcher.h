// The dynamic-batching policy: given what is queued for a model, decide
// whether to run the first k requests now or to wait until a given time.
//
// The policy is pure (no clock, no threads, no locks): the scheduler feeds it
// a snapshot of its queue and the current time, which makes every rule
// testable with plain values. Rules, in order:
//  1. max_batch_size 0 (no batch dimension): run the oldest request alone.
//  2. The batch is as full as it can get - the longest prefix that fits
//     max_batch_size holds exactly max_batch_size items, or the next queued
//     request does not fit, or an incompatible request follows (it can never
//     join, and everything arriving later queues behind it) - run that prefix.
//  3. Some prefix adds up to a preferred batch size: run the largest such.
//  4. The oldest request has waited max_queue_delay (0: at once), or the
//     snapshot asks for a flush (shutdown): run the longest prefix that fits.
//  5. Otherwise wait until the oldest request's delay expires.
// A batch never exceeds max_batch_size; requests larger than it must be
// rejected before they are queued (the scheduler's Submit does).
//
// Thread-safety: BatchPolicy is immutable after construction; Decide may be
// called from any number of threads.
#pragma once

#include <chrono>
#include <cstddef>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "common/clock.h"

namespace dnoscope::serving {

struct BatchPolicyOptions {
  // Largest number of batch items in one execution; 0: the model has no
  // batch dimension and every request runs alone.
  int max_batch_size = 0;
  // How long the oldest request may wait for others to join it.
  std::chrono::microseconds max_queue_delay{0};
  // Batch sizes worth running without waiting, each in [1, max_batch_size].
  std::vector<int> preferred_batch_sizes;
};

// What the scheduler's queue holds, as the policy needs to see it.
struct QueueSnapshot {
  // Submit time of the oldest (front) request.
  Clock::TimePoint oldest_arrival;
  // Batch sizes (dim 0) of the queued requests from the front, in FIFO
  // order, as long as they are compatible with the front request (it
  // included). Must not be empty. It may stop early once the running sum
  // exceeds max_batch_size.
  std::vector<int> batch_sizes;
  // True when the request after `batch_sizes` is queued but incompatible.
  bool incompatible_follows = false;
  // True when nothing should wait any more (the scheduler is shutting down).
  bool flush = false;
};

struct BatchDecision {
  // Number of requests to take from the front now; 0 means wait.
  size_t run_count = 0;
  // When run_count is 0: the time at which to decide again unless the queue
  // changes before.
  Clock::TimePoint wake_at;
};

class BatchPolicy {
 public:
  // InvalidArgument for a negative max_batch_size or max_queue_delay, or a
  // preferred size outside [1, max_batch_size].
  static absl::StatusOr<BatchPolicy> Create(const BatchPolicyOptions& options);

  // Decides for the queue state `queue` at time `now`. `queue.batch_sizes`
  // must not be empty.
  BatchDecision Decide(const QueueSnapshot& queue, Clock::TimePoint now) const;

  const BatchPolicyOptions& options() const { return options_; }

 private:
  explicit BatchPolicy(BatchPolicyOptions options) : options_(std::move(options)) {}

  BatchPolicyOptions options_;
};

}  // namespace dnoscope::serving
