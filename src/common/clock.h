// Injectable time source. Production code takes a Clock* so that tests can
// advance a fake clock instead of sleeping (see tests/testing/fake_clock.h).
// Thread-safety: implementations must be safe to call from any thread.
#pragma once

#include <chrono>
#include <thread>

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

  // The process-wide real steady clock. Not owned by the caller; lives forever.
  static Clock* Real();
};

class RealClock final : public Clock {
 public:
  TimePoint Now() const override { return std::chrono::steady_clock::now(); }
  void SleepFor(Duration d) override { std::this_thread::sleep_for(d); }
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
