// SignalStop: SIGINT/SIGTERM end a run cleanly. Constructed before any
// other thread starts, it blocks both signals in the calling thread (new
// threads inherit the mask) and waits for them on a thread of its own: the
// first raises the StopFlag (sources end their input, the cascade drains
// and every row is written), a second one exits at once with status 130.
// The destructor stops the waiting thread and restores the signal mask.
//
// Thread-safety: construct and destroy on the same thread.
#pragma once

#include <csignal>
#include <thread>

#include "live/stop_flag.h"

namespace dnoscope::live {

class SignalStop {
 public:
  // `flag` is not owned and outlives this object.
  explicit SignalStop(StopFlag* flag);
  ~SignalStop();
  SignalStop(const SignalStop&) = delete;
  SignalStop& operator=(const SignalStop&) = delete;

 private:
  sigset_t signals_;
  sigset_t old_mask_;
  std::atomic<bool> done_{false};
  std::thread waiter_;
};

}  // namespace dnoscope::live
