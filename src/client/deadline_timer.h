// DeadlineTimer: runs callbacks when an injected Clock reaches their
// deadlines, on one thread it owns. The thread sleeps in Clock::WaitUntil
// until the earliest deadline (or until an earlier one is scheduled), so a
// FakeClock drives it: HttpClient's call deadlines fire when a test
// advances the fake time, not after real time.
//
// Thread-safety: all methods are thread-safe. Callbacks run on the timer's
// thread, one at a time, without any lock of the timer held; they must not
// block (post work elsewhere instead) nor call Stop.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <thread>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "common/clock.h"
#include "common/mutex.h"

namespace dnoscope::client {

class DeadlineTimer {
 public:
  // Identifies a scheduled callback for Cancel.
  struct Handle {
    Clock::TimePoint deadline;
    uint64_t id = 0;
    auto operator<=>(const Handle&) const = default;
  };

  // Starts the thread. `clock` is not owned and must outlive the timer.
  explicit DeadlineTimer(Clock* clock);
  // Calls Stop().
  ~DeadlineTimer();
  DeadlineTimer(const DeadlineTimer&) = delete;
  DeadlineTimer& operator=(const DeadlineTimer&) = delete;

  // Runs `fn` once the clock reaches `deadline` (soon when it already has).
  // After Stop, `fn` never runs.
  Handle Schedule(Clock::TimePoint deadline, std::function<void()> fn);

  // Drops a scheduled callback; true when it had not started (it never
  // will), false when it ran, runs now or was cancelled before.
  bool Cancel(const Handle& handle);

  // Joins the thread; callbacks not yet run are dropped. Idempotent.
  void Stop();

  // Callbacks scheduled and neither run nor cancelled.
  size_t pending() const;

 private:
  void Loop();

  Clock* const clock_;
  mutable Mutex mu_;
  CondVar cv_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  uint64_t next_id_ ABSL_GUARDED_BY(mu_) = 0;
  std::map<Handle, std::function<void()>> scheduled_ ABSL_GUARDED_BY(mu_);
  Mutex stop_mu_;  // serializes Stop() calls
  std::jthread thread_;
};

}  // namespace dnoscope::client
