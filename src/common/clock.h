// Injectable time source. Production code takes a Clock* and does every
// timed wait through it, so that tests drive time with a fake clock
// (tests/testing/fake_clock.h) instead of sleeping: batch deadlines, retry
// back-off, probes, pacing and emulated service times.
//
// Thread-safety: implementations must be safe to call from any thread.
#pragma once

#include <chrono>
#include <thread>

#include "common/mutex.h"

namespace dnoscope {

class Clock {
 public:
  using Duration = std::chrono::nanoseconds;
  using TimePoint = std::chrono::time_point<std::chrono::steady_clock, Duration>;

  virtual ~Clock() = default;
  // Monotonic now.
  virtual TimePoint Now() const = 0;

  // Blocks the calling thread for `d` of this clock's time.
  virtual void SleepFor(Duration d) = 0;

  // The timed condition wait. The caller holds `mu`; it is released while
  // blocked and held again on return. Returns when `cv` is signalled, on a
  // spurious wake-up, or once this clock reaches `deadline` (TimePoint::max():
  // never); true when the deadline has been reached. Callers loop on their
  // own predicate:
  //
  //   while (!ready_ && !clock_->WaitUntil(&mu_, &cv_, deadline)) {}
  virtual bool WaitUntil(Mutex* mu, CondVar* cv, TimePoint deadline)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) = 0;

  // The process-wide real steady clock. Not owned by the caller; lives forever.
  static Clock* Real();
};

class RealClock final : public Clock {
 public:
  TimePoint Now() const override { return std::chrono::steady_clock::now(); }
  void SleepFor(Duration d) override { std::this_thread::sleep_for(d); }
  bool WaitUntil(Mutex* mu, CondVar* cv, TimePoint deadline) override
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    if (deadline == TimePoint::max()) {
      cv->Wait(mu);
      return false;
    }
    return cv->WaitUntil(mu, deadline);
  }
};

inline Clock* Clock::Real() {
  static RealClock clock;
  return &clock;
}

// Seconds between two time points, as a double.
inline double SecondsBetween(Clock::TimePoint a, Clock::TimePoint b) {
  return std::chrono::duration<double>(b - a).count();
}

}  // namespace dnoscope
