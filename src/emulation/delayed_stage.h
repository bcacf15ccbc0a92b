// DelayedStage: a ModelStage decorator for experiments that emulates network
// latency in process, on the client side, and records when each request was
// submitted, answered and delivered.
//
// Every completion of the inner stage (typically a remote stage talking to
// servers on 127.0.0.1) reaches the caller `delay` after the inner stage
// produced it, as if the reply had crossed a slower network. The server is
// free during the delay (unlike a sleep added to its service time), and the
// caller keeps the frame in flight for the whole round trip, as it would
// with a real network. The delay is applied on the reply path only; for the
// total latency of a run that is the same as half on each path.
//
// Thread-safety: every method is thread-safe. `done` callbacks run on the
// stage's own delay thread (never inline from InferAsync).
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "common/clock.h"
#include "common/mutex.h"
#include "models/model_stage.h"

namespace dnoscope::emulation {

// One request's life as the caller of the stage saw it.
struct StageRequestTimes {
  // InferAsync called.
  Clock::TimePoint submit;
  // The inner stage's completion (the reply from the server).
  Clock::TimePoint reply;
  // `done` called, reply + delay (later when the delay thread lagged).
  Clock::TimePoint delivered;
  bool ok = true;
};

class DelayedStage final : public models::ModelStage {
 public:
  // Wraps `inner` (owned; shut down with this stage). `delay` >= 0; `clock`
  // (not owned; must outlive the stage) time-stamps and paces the delay. InvalidArgument for a null inner stage or a negative delay.
  static absl::StatusOr<std::unique_ptr<DelayedStage>> Create(
      std::unique_ptr<models::ModelStage> inner, Clock::Duration delay,
      Clock* clock = Clock::Real());
  ~DelayedStage() override;

  const models::ModelMetadata& metadata() const override { return inner_->metadata(); }
  std::string Describe() const override;
  void InferAsync(models::StageRequest request, Done done) override;
  models::StageStats stats() const override { return inner_->stats(); }
  // Shuts the inner stage down (its completions are queued here), then
  // fails what is still waiting for its delay with Cancelled. Idempotent.
  void Shutdown() override;

  // Requests delivered so far, in delivery order.
  std::vector<StageRequestTimes> times() const;

 private:
  struct Pending {
    StageRequestTimes times;
    Done done;
    absl::StatusOr<std::vector<Tensor>> result;
  };

  DelayedStage(std::unique_ptr<models::ModelStage> inner, Clock::Duration delay, Clock* clock);
  void OnReply(Clock::TimePoint submit, Done done, absl::StatusOr<std::vector<Tensor>> result);
  void Loop();

  const std::unique_ptr<models::ModelStage> inner_;
  const Clock::Duration delay_;
  Clock* const clock_;

  mutable Mutex mu_;
  CondVar cv_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  // Replies in arrival order; with a fixed delay also in due order.
  std::deque<Pending> pending_ ABSL_GUARDED_BY(mu_);
  std::vector<StageRequestTimes> delivered_ ABSL_GUARDED_BY(mu_);
  std::once_flag shutdown_once_;
  std::jthread thread_;
};

}  // namespace dnoscope::emulation
