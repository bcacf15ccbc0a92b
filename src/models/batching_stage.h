// BatchingStage: a ModelStage decorator that merges concurrent requests —
// typically the specialized requests of several streams sharing one stage —
// into one request to the stage it wraps, and splits the outputs back. With
// N streams each sending small batches, the model (or server) sees batches
// of up to `max_batch` rows instead of N small requests.
//
// A merged request is sent when its rows reach `max_batch` or when the
// oldest waiting request has waited `max_delay` (time of the injected
// Clock, so tests drive it with a fake clock); with max_delay 0 the stage
// merges only what is already waiting when its thread wakes up (it never
// delays a request on purpose). Requests merge when they have the same
// priority, the same requested outputs and inputs that concatenate along
// dim 0 (common/tensor_batching.h); the others wait for a later batch.
// Normal priority goes before low priority. A request whose cancel flag is
// set before it is sent completes with Cancelled; a merged request carries
// no cancel flag (other requests share it). A request larger than
// `max_batch` rows goes to the wrapped stage unchanged.
//
// Outputs are per-row functions of the inputs for the models the cascade
// uses (classifiers, replay models), so a request's answer does not depend
// on which others it was merged with.
//
// Thread-safety: as ModelStage. One flusher thread, joined by Shutdown (or
// the destructor).
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "common/clock.h"
#include "common/mutex.h"
#include "models/model_stage.h"

namespace dnoscope::models {

struct BatchingStageOptions {
  // Rows per merged request at most (>= 1); capped by the wrapped model's
  // max_batch_size when that is > 0.
  int max_batch = 16;
  // How long the oldest waiting request may wait for others (>= 0).
  std::chrono::microseconds max_delay{0};
};

// What the stage merged so far.
struct BatchingFigures {
  // Requests submitted, requests sent to the wrapped stage, rows in them.
  int64_t requests = 0;
  int64_t batches = 0;
  int64_t rows = 0;
  // Rows per request sent; 0 before the first.
  double MeanBatchRows() const { return batches > 0 ? static_cast<double>(rows) / batches : 0; }
};

class BatchingStage final : public ModelStage {
 public:
  // Takes `inner` over; `clock` is not owned and must outlive the stage.
  // InvalidArgument for a null stage or bad options.
  static absl::StatusOr<std::unique_ptr<BatchingStage>> Create(std::unique_ptr<ModelStage> inner,
                                                               const BatchingStageOptions& options,
                                                               Clock* clock = Clock::Real());
  ~BatchingStage() override;

  const ModelMetadata& metadata() const override { return inner_->metadata(); }
  std::string Describe() const override;
  // InvalidArgument (inline) when the inputs have no common dim 0.
  void InferAsync(StageRequest request, Done done) override;
  StageStats stats() const override { return inner_->stats(); }
  // Completes waiting requests with Cancelled, joins the flusher, then
  // shuts the wrapped stage down.
  void Shutdown() override;

  BatchingFigures figures() const;
  // The effective rows cap (options capped by the model's max_batch_size).
  int max_batch() const { return max_batch_; }

 private:
  struct Pending {
    StageRequest request;
    Done done;
    int64_t rows = 0;
    Clock::TimePoint arrival{};
  };
  BatchingStage(std::unique_ptr<ModelStage> inner, const BatchingStageOptions& options,
                Clock* clock);
  void FlushLoop();
  // Waits until a batch is due; false once shutting down.
  bool WaitForDue() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Removes the next batch from pending_; withdrawn requests go to `cancelled`.
  std::vector<Pending> TakeBatch(std::vector<Pending>* cancelled)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Send(std::vector<Pending> batch);

  const std::unique_ptr<ModelStage> inner_;
  const BatchingStageOptions options_;
  const int max_batch_;
  Clock* const clock_;

  mutable Mutex mu_;
  CondVar cv_;
  std::deque<Pending> pending_ ABSL_GUARDED_BY(mu_);
  int64_t pending_rows_ ABSL_GUARDED_BY(mu_) = 0;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  BatchingFigures figures_ ABSL_GUARDED_BY(mu_);
  std::jthread flusher_;
  Mutex shutdown_mu_;
  bool shut_down_ ABSL_GUARDED_BY(shutdown_mu_) = false;
};

}  // namespace dnoscope::models
