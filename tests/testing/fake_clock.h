// FakeClock: a Clock whose time moves only when a test says so.
//
// Now() returns the fake time and counts its calls (now_calls()), which lets
// a test wait until a component has looked at the clock again - e.g. until a
// scheduler thread has re-evaluated its queue - without real sleeps in
// assertions. Advance() moves the time and wakes threads blocked in
// WaitUntil(); SleepFor() advances the time by the requested amount instead
// of blocking, so code that sleeps runs instantly under test.
//
// Thread-safety: all methods are thread-safe.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>

#include "absl/base/thread_annotations.h"
#include "common/clock.h"

namespace dnoscope::testing {

class FakeClock final : public Clock {
 public:
  // Starts at `start`; the default is an arbitrary nonzero point so that
  // "time 0" is never mistaken for unset.
  explicit FakeClock(TimePoint start = TimePoint(std::chrono::hours(1))) : now_(start) {}

  TimePoint Now() const override {
    now_calls_.fetch_add(1, std::memory_order_seq_cst);
    std::lock_guard lock(mu_);
    return now_;
  }

  // Advances the time by `d` (instead of blocking).
  void SleepFor(Duration d) override { Advance(d); }

  // Moves the time forward by `d` (>= 0) and wakes WaitUntil callers.
  void Advance(Duration d) {
    {
      std::lock_guard lock(mu_);
      now_ += d;
    }
    cv_.notify_all();
  }

  // Blocks until the fake time reaches `t` (another thread must advance it)
  // or `real_timeout` of real time passes; true when the time was reached.
  bool WaitUntil(TimePoint t, std::chrono::milliseconds real_timeout) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, real_timeout,
                        [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return now_ >= t; });
  }

  // How many times Now() has been called so far.
  int64_t now_calls() const { return now_calls_.load(std::memory_order_seq_cst); }

 private:
  mutable std::mutex mu_;
  std::condition_variable cv_;
  TimePoint now_ ABSL_GUARDED_BY(mu_);
  mutable std::atomic<int64_t> now_calls_{0};
};

}  // namespace dnoscope::testing
