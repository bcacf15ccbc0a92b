#include "client/deadline_timer.h"

namespace dnoscope::client {

DeadlineTimer::DeadlineTimer(Clock* clock) : clock_(clock) {
  thread_ = std::jthread([this] { Loop(); });
}

DeadlineTimer::~DeadlineTimer() { Stop(); }

DeadlineTimer::Handle DeadlineTimer::Schedule(Clock::TimePoint deadline,
                                              std::function<void()> fn) {
  MutexLock lock(&mu_);
  const Handle handle{deadline, next_id_++};
  if (stopping_) return handle;
  const bool earliest = scheduled_.empty() || handle < scheduled_.begin()->first;
  scheduled_.emplace(handle, std::move(fn));
  // Only a new earliest deadline changes how long the thread sleeps.
  if (earliest) cv_.Signal();
  return handle;
}

bool DeadlineTimer::Cancel(const Handle& handle) {
  MutexLock lock(&mu_);
  return scheduled_.erase(handle) > 0;
}

size_t DeadlineTimer::pending() const {
  MutexLock lock(&mu_);
  return scheduled_.size();
}

void DeadlineTimer::Stop() {
  MutexLock stop_lock(&stop_mu_);
  {
    MutexLock lock(&mu_);
    stopping_ = true;
    scheduled_.clear();
  }
  cv_.SignalAll();
  if (thread_.joinable()) thread_.join();
}

void DeadlineTimer::Loop() {
  MutexLock lock(&mu_);
  while (!stopping_) {
    if (scheduled_.empty()) {
      clock_->WaitUntil(&mu_, &cv_, Clock::TimePoint::max());
      continue;
    }
    const Clock::TimePoint next = scheduled_.begin()->first.deadline;
    if (clock_->Now() < next) {
      clock_->WaitUntil(&mu_, &cv_, next);
      continue;  // woken early, or a new earliest deadline: look again
    }
    std::function<void()> fn = std::move(scheduled_.begin()->second);
    scheduled_.erase(scheduled_.begin());
    mu_.Unlock();
    fn();
    mu_.Lock();
  }
}

}  // namespace dnoscope::client
