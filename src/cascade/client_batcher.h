// ClientBatcher: groups specialized-stage frames into batch requests on the
// edge client. A batch is sent when it holds max_batch frames or when its
// oldest frame has waited max_delay; max_batch = 1 is the seed's one frame
// per request. Pure bookkeeping over caller-given times, so it is tested
// with a fake clock.
//
// Thread-safety: none; the cascade's edge thread owns it.
#pragma once

#include <chrono>
#include <optional>
#include <utility>
#include <vector>

#include "common/clock.h"

namespace dnoscope::cascade {

struct BatchingOptions {
  // Frames per specialized request, >= 1.
  int max_batch = 1;
  // How long the first frame of a partial batch may wait for more.
  std::chrono::microseconds max_delay{0};
};

template <typename T>
class ClientBatcher {
 public:
  explicit ClientBatcher(BatchingOptions options) : options_(options) {
    if (options_.max_batch < 1) options_.max_batch = 1;
  }

  // Adds one item at `now`; returns the batch when it is now full.
  std::optional<std::vector<T>> Add(T item, Clock::TimePoint now) {
    if (items_.empty()) first_ = now;
    items_.push_back(std::move(item));
    if (static_cast<int>(items_.size()) >= options_.max_batch) return Take();
    return std::nullopt;
  }

  // The partial batch when its oldest item has waited max_delay at `now`.
  std::optional<std::vector<T>> TakeIfDue(Clock::TimePoint now) {
    if (items_.empty() || now < first_ + options_.max_delay) return std::nullopt;
    return Take();
  }

  // Whatever is pending (end of input, or the caller is about to block).
  std::optional<std::vector<T>> Flush() {
    if (items_.empty()) return std::nullopt;
    return Take();
  }

  // When the pending batch becomes due; nullopt when nothing is pending.
  std::optional<Clock::TimePoint> Deadline() const {
    if (items_.empty()) return std::nullopt;
    return first_ + std::chrono::duration_cast<Clock::Duration>(options_.max_delay);
  }

  size_t pending() const { return items_.size(); }

 private:
  std::vector<T> Take() {
    std::vector<T> out;
    out.swap(items_);
    return out;
  }

  BatchingOptions options_;
  std::vector<T> items_;
  Clock::TimePoint first_{};
};

}  // namespace dnoscope::cascade
