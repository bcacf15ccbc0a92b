// A bounded multi-producer multi-consumer FIFO connecting pipeline stages.
// Push blocks while the queue is full (back-pressure reaches the producer);
// TryPush refuses instead. Close() wakes everyone: Push then fails and Pop
// drains what is left, then returns nullopt.
// Thread-safety: all methods are thread-safe.
#pragma once

#include <cstddef>
#include <deque>
#include <optional>

#include "absl/base/thread_annotations.h"
#include "common/clock.h"
#include "common/mutex.h"

namespace dnoscope {

template <typename T>
class BoundedQueue {
 public:
  explicit BoundedQueue(size_t capacity) : capacity_(capacity == 0 ? 1 : capacity) {}

  // Blocks until there is room; false when the queue was closed.
  bool Push(T item) {
    {
      MutexLock lock(&mu_);
      while (!closed_ && items_.size() >= capacity_) not_full_.Wait(&mu_);
      if (closed_) return false;
      items_.push_back(std::move(item));
    }
    not_empty_.Signal();
    return true;
  }

  // Adds without blocking; false when full or closed.
  bool TryPush(T item) {
    {
      MutexLock lock(&mu_);
      if (closed_ || items_.size() >= capacity_) return false;
      items_.push_back(std::move(item));
    }
    not_empty_.Signal();
    return true;
  }

  // Blocks until an item is available; nullopt once closed and drained.
  std::optional<T> Pop() {
    std::optional<T> item;
    {
      MutexLock lock(&mu_);
      while (!closed_ && items_.empty()) not_empty_.Wait(&mu_);
      item = TakeFront();
    }
    if (item) not_full_.Signal();
    return item;
  }

  // As Pop, but gives up once `clock` reaches `deadline`: nullopt with
  // *timed_out set when nothing arrived in time; nullopt with *timed_out
  // clear once closed and drained. Items already queued are returned even
  // when the deadline has passed. `clock` is not owned.
  std::optional<T> PopUntil(Clock* clock, Clock::TimePoint deadline, bool* timed_out) {
    std::optional<T> item;
    *timed_out = false;
    {
      MutexLock lock(&mu_);
      while (!closed_ && items_.empty()) {
        if (clock->WaitUntil(&mu_, &not_empty_, deadline)) {
          *timed_out = !closed_ && items_.empty();
          break;
        }
      }
      item = TakeFront();
    }
    if (item) not_full_.Signal();
    return item;
  }

  void Close() {
    {
      MutexLock lock(&mu_);
      closed_ = true;
    }
    not_full_.SignalAll();
    not_empty_.SignalAll();
  }

  size_t size() const {
    MutexLock lock(&mu_);
    return items_.size();
  }

 private:
  // The front item, nullopt when empty.
  std::optional<T> TakeFront() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (items_.empty()) return std::nullopt;
    T item = std::move(items_.front());
    items_.pop_front();
    return item;
  }

  const size_t capacity_;
  mutable Mutex mu_;
  CondVar not_full_;
  CondVar not_empty_;
  std::deque<T> items_ ABSL_GUARDED_BY(mu_);
  bool closed_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace dnoscope
