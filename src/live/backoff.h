// Capped exponential back-off: the delays between attempts at something
// that fails (reopening a lost stream, re-posting a webhook event).
//
// Thread-safety: a Backoff is a value used by one thread.
#pragma once

#include <chrono>

#include "common/clock.h"

namespace dnoscope::live {

struct BackoffOptions {
  // Delay before the first retry.
  Clock::Duration initial = std::chrono::milliseconds(500);
  // Each delay is the previous one times this (>= 1).
  double factor = 2;
  // No delay is longer than this.
  Clock::Duration max = std::chrono::seconds(10);
};

class Backoff {
 public:
  explicit Backoff(BackoffOptions options) : options_(options), next_(options.initial) {}

  // The delay to wait before the next attempt; grows towards the cap.
  Clock::Duration Next();
  // Back to the initial delay (after a success).
  void Reset() { next_ = options_.initial; }

 private:
  BackoffOptions options_;
  Clock::Duration next_;
};

}  // namespace dnoscope::live
