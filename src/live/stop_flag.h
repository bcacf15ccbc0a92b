// StopFlag: "end the run cleanly", raised once (e.g. by SIGINT/SIGTERM) and
// seen by every stream: live sources end their input at the next frame, and
// waits for a paced frame or a reconnect attempt return at once.
//
// Thread-safety: all methods are thread-safe.
#pragma once

#include <atomic>

#include "absl/base/thread_annotations.h"
#include "common/clock.h"
#include "common/mutex.h"

namespace dnoscope::live {

class StopFlag {
 public:
  void Stop() {
    {
      MutexLock lock(&mu_);
      stopped_ = true;
    }
    cv_.SignalAll();
  }
  bool stopped() const {
    MutexLock lock(&mu_);
    return stopped_;
  }
  // Waits until `deadline` of `clock`; true when stopped first (or before).
  bool WaitUntil(Clock* clock, Clock::TimePoint deadline) {
    MutexLock lock(&mu_);
    while (!stopped_ && !clock->WaitUntil(&mu_, &cv_, deadline)) {
    }
    return stopped_;
  }

 private:
  mutable Mutex mu_;
  CondVar cv_;
  bool stopped_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace dnoscope::live
