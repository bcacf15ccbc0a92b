#include "live/signal_stop.h"

#include <pthread.h>

#include <cstdlib>
#include <cstring>

#include "spdlog/spdlog.h"

namespace dnoscope::live {

SignalStop::SignalStop(StopFlag* flag) {
  sigemptyset(&signals_);
  sigaddset(&signals_, SIGINT);
  sigaddset(&signals_, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals_, &old_mask_);
  waiter_ = std::thread([this, flag] {
    int received = 0;
    for (int count = 0;; ++count) {
      if (sigwait(&signals_, &received) != 0 || done_.load()) return;
      if (count > 0) {
        spdlog::warn("{} again: exiting now, rows of frames still in the cascade are lost",
                     strsignal(received));
        std::_Exit(130);
      }
      spdlog::warn("{}: ending the run; frames already read are finished and written "
                   "(send it again to exit at once)",
                   strsignal(received));
      flag->Stop();
    }
  });
}

SignalStop::~SignalStop() {
  done_.store(true);
  pthread_kill(waiter_.native_handle(), SIGTERM);
  waiter_.join();
  pthread_sigmask(SIG_SETMASK, &old_mask_, nullptr);
}

}  // namespace dnoscope::live
