// FakeClock: a Clock whose time moves only when a test says so.
//
// Threads that wait through the clock (Clock::WaitUntil, SleepFor) block
// until their condition variable is signalled or the test advances the fake
// time past their deadline: no real time passes for a fake deadline. A test
// synchronises with the component under test by waiting until N threads are
// blocked on the clock (BlockUntilWaiters), then advancing the time:
//
//   scheduler.Submit(job);                  // its thread waits for the batch deadline
//   ASSERT_TRUE(clock.BlockUntilWaiters(1));
//   clock.Advance(max_queue_delay);         // the batch is flushed now, not before
//
// Thread-safety: all methods are thread-safe.
#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "common/clock.h"
#include "common/mutex.h"

namespace dnoscope::testing {

class FakeClock final : public Clock {
 public:
  // Starts at `start`; the default is an arbitrary nonzero point so that
  // "time 0" is never mistaken for unset.
  explicit FakeClock(TimePoint start = TimePoint(std::chrono::hours(1))) : now_(start) {}

  TimePoint Now() const override {
    now_calls_.fetch_add(1, std::memory_order_seq_cst);
    MutexLock lock(&mu_);
    return now_;
  }

  // Blocks until the test advances the time by `d` (a waiter meanwhile).
  void SleepFor(Duration d) override {
    Mutex mu;
    CondVar cv;
    MutexLock lock(&mu);
    const TimePoint deadline = Now() + d;
    while (!WaitUntil(&mu, &cv, deadline)) {
    }
  }

  bool WaitUntil(Mutex* mu, CondVar* cv, TimePoint deadline) override
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    auto waiter = std::make_shared<Waiter>(Waiter{mu, cv, deadline});
    {
      MutexLock lock(&mu_);
      if (now_ >= deadline) return true;
      waiters_.push_back(waiter);
    }
    changed_.SignalAll();
    cv->Wait(mu);
    // Leave the waiter list without holding `mu`: Advance may be about to
    // take `mu` to signal this waiter, and must finish before the waiter
    // (and maybe its mutex) goes away.
    mu->Unlock();
    bool reached = false;
    {
      MutexLock lock(&mu_);
      auto it = std::find(waiters_.begin(), waiters_.end(), waiter);
      if (it != waiters_.end()) waiters_.erase(it);
      while (waiter->signalling > 0) changed_.Wait(&mu_);
      reached = now_ >= deadline;
    }
    changed_.SignalAll();
    mu->Lock();
    return reached;
  }

  // Moves the time forward by `d` (>= 0) and wakes the waiters whose
  // deadline has come.
  void Advance(Duration d) {
    std::vector<std::shared_ptr<Waiter>> due;
    {
      MutexLock lock(&mu_);
      now_ += d;
      // Due waiters leave the list now, so that BlockUntilWaiters counts
      // only threads still waiting.
      for (auto it = waiters_.begin(); it != waiters_.end();) {
        if ((*it)->deadline <= now_) {
          ++(*it)->signalling;
          due.push_back(std::move(*it));
          it = waiters_.erase(it);
        } else {
          ++it;
        }
      }
    }
    for (const std::shared_ptr<Waiter>& w : due) {
      // Holding the waiter's mutex orders the signal after its wait began.
      w->mu->Lock();
      w->cv->SignalAll();
      w->mu->Unlock();
      {
        MutexLock lock(&mu_);
        --w->signalling;
      }
      changed_.SignalAll();
    }
  }

  // Advances to `t` (nothing when `t` is not in the future).
  void AdvanceTo(TimePoint t) {
    const TimePoint now = Now();
    if (t > now) Advance(t - now);
  }

  // Advances to the earliest deadline a thread waits for; false (and no
  // change) when no thread waits with a deadline.
  bool AdvanceToNextDeadline() {
    const TimePoint next = NextDeadline();
    if (next == TimePoint::max()) return false;
    AdvanceTo(next);
    return true;
  }

  // Blocks until at least `n` threads wait on the clock (in WaitUntil or
  // SleepFor), or `real_timeout` of real time passed (a hung component
  // fails the test instead of hanging it); true when they do.
  bool BlockUntilWaiters(int n,
                         std::chrono::milliseconds real_timeout = std::chrono::seconds(30)) {
    const auto give_up = std::chrono::steady_clock::now() + real_timeout;
    MutexLock lock(&mu_);
    while (static_cast<int>(waiters_.size()) < n) {
      if (changed_.WaitUntil(&mu_, give_up)) return static_cast<int>(waiters_.size()) >= n;
    }
    return true;
  }

  // Blocks until some thread waits on the clock for exactly `deadline`, or
  // `real_timeout` of real time passed; true when one does. Unlike
  // BlockUntilWaiters, this tells a component that has re-planned its wait
  // (e.g. a timer thread woken by new work) from one still counted with its
  // previous deadline.
  bool BlockUntilWaiterFor(TimePoint deadline,
                           std::chrono::milliseconds real_timeout = std::chrono::seconds(30)) {
    const auto give_up = std::chrono::steady_clock::now() + real_timeout;
    MutexLock lock(&mu_);
    while (!HasWaiterForLocked(deadline)) {
      if (changed_.WaitUntil(&mu_, give_up)) return HasWaiterForLocked(deadline);
    }
    return true;
  }

  // Threads waiting on the clock now.
  int waiters() const {
    MutexLock lock(&mu_);
    return static_cast<int>(waiters_.size());
  }

  // The earliest deadline a thread waits for; TimePoint::max() when none.
  TimePoint NextDeadline() const {
    MutexLock lock(&mu_);
    TimePoint next = TimePoint::max();
    for (const std::shared_ptr<Waiter>& w : waiters_) next = std::min(next, w->deadline);
    return next;
  }

  // How many times Now() has been called so far.
  int64_t now_calls() const { return now_calls_.load(std::memory_order_seq_cst); }

 private:
  struct Waiter {
    Mutex* mu;
    CondVar* cv;
    TimePoint deadline;
    // Advance calls about to signal this waiter (guarded by FakeClock::mu_).
    int signalling = 0;
  };

  bool HasWaiterForLocked(TimePoint deadline) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return std::any_of(waiters_.begin(), waiters_.end(),
                       [&](const std::shared_ptr<Waiter>& w) { return w->deadline == deadline; });
  }

  mutable Mutex mu_;
  CondVar changed_;  // the waiter list or a waiter's signalling count changed
  TimePoint now_ ABSL_GUARDED_BY(mu_);
  std::vector<std::shared_ptr<Waiter>> waiters_ ABSL_GUARDED_BY(mu_);
  mutable std::atomic<int64_t> now_calls_{0};
};

}  // namespace dnoscope::testing
