#include "emulation/delayed_stage.h"

#include <utility>

#include "absl/status/status.h"
#include "fmt/format.h"

namespace dnoscope::emulation {

absl::StatusOr<std::unique_ptr<DelayedStage>> DelayedStage::Create(
    std::unique_ptr<models::ModelStage> inner, Clock::Duration delay, Clock* clock) {
  if (inner == nullptr) return absl::InvalidArgumentError("DelayedStage needs an inner stage");
  if (delay < Clock::Duration::zero()) {
    return absl::InvalidArgumentError("DelayedStage delay must be >= 0");
  }
  if (clock == nullptr) return absl::InvalidArgumentError("DelayedStage needs a clock");
  return std::unique_ptr<DelayedStage>(new DelayedStage(std::move(inner), delay, clock));
}

DelayedStage::DelayedStage(std::unique_ptr<models::ModelStage> inner, Clock::Duration delay,
                           Clock* clock)
    : inner_(std::move(inner)), delay_(delay), clock_(clock) {
  // Started last: Loop reads the members above.
  thread_ = std::jthread([this] { Loop(); });
}

DelayedStage::~DelayedStage() { Shutdown(); }

std::string DelayedStage::Describe() const {
  return fmt::format("{}, replies delayed {:.1f} ms in process", inner_->Describe(),
                     std::chrono::duration<double, std::milli>(delay_).count());
}

void DelayedStage::InferAsync(models::StageRequest request, Done done) {
  const Clock::TimePoint submit = clock_->Now();
  inner_->InferAsync(std::move(request),
                     [this, submit, done = std::move(done)](auto result) mutable {
                       OnReply(submit, std::move(done), std::move(result));
                     });
}

void DelayedStage::OnReply(Clock::TimePoint submit, Done done,
                           absl::StatusOr<std::vector<Tensor>> result) {
  {
    MutexLock lock(&mu_);
    if (!stopping_) {
      // Time-stamped under the lock so that pending_ stays in reply order.
      pending_.push_back(
          {{submit, clock_->Now(), {}, result.ok()}, std::move(done), std::move(result)});
      cv_.SignalAll();
      return;
    }
  }
  done(absl::CancelledError("delayed stage is shut down"));
}

void DelayedStage::Loop() {
  MutexLock lock(&mu_);
  while (true) {
    while (!stopping_ && pending_.empty()) cv_.Wait(&mu_);
    if (stopping_) return;
    const Clock::TimePoint due = pending_.front().times.reply + delay_;
    if (clock_->Now() < due) {
      clock_->WaitUntil(&mu_, &cv_, due);
      continue;
    }
    Pending p = std::move(pending_.front());
    pending_.pop_front();
    p.times.delivered = clock_->Now();
    // Recorded before `done`: a caller that waits for its last completion
    // then reads times() must find it.
    delivered_.push_back(p.times);
    mu_.Unlock();
    p.done(std::move(p.result));
    mu_.Lock();
  }
}

void DelayedStage::Shutdown() {
  std::call_once(shutdown_once_, [this] {
    inner_->Shutdown();
    {
      MutexLock lock(&mu_);
      stopping_ = true;
    }
    cv_.SignalAll();
    if (thread_.joinable()) thread_.join();
    std::deque<Pending> left;
    {
      MutexLock lock(&mu_);
      left.swap(pending_);
    }
    for (Pending& p : left) p.done(absl::CancelledError("delayed stage is shut down"));
  });
}

std::vector<StageRequestTimes> DelayedStage::times() const {
  MutexLock lock(&mu_);
  return delivered_;
}

}  // namespace dnoscope::emulation
