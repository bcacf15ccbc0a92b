// A bounded multi-producer multi-consumer FIFO connecting pipeline stages.
// Push blocks while the queue is full (back-pressure reaches the producer);
// TryPush refuses instead. Close() wakes everyone: Push then fails and Pop
// drains what is left, then returns nullopt.
// Thread-safety: all methods are thread-safe.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <mutex>
#include <optional>

#include "absl/base/thread_annotations.h"

namespace dnoscope {

template <typename T>
class BoundedQueue {
 public:
  explicit BoundedQueue(size_t capacity) : capacity_(capacity == 0 ? 1 : capacity) {}

  // Blocks until there is room; false when the queue was closed.
  bool Push(T item) {
    std::unique_lock lock(mu_);
    not_full_.wait(lock, [&] { return closed_ || items_.size() < capacity_; });
    if (closed_) return false;
    items_.push_back(std::move(item));
    lock.unlock();
    not_empty_.notify_one();
    return true;
  }

  // Adds without blocking; false when full or closed.
  bool TryPush(T item) {
    {
      std::lock_guard lock(mu_);
      if (closed_ || items_.size() >= capacity_) return false;
      items_.push_back(std::move(item));
    }
    not_empty_.notify_one();
    return true;
  }

  // Blocks until an item is available; nullopt once closed and drained.
  std::optional<T> Pop() {
    std::unique_lock lock(mu_);
    not_empty_.wait(lock, [&] { return closed_ || !items_.empty(); });
    return TakeFront(lock);
  }

  // As Pop, but gives up at `deadline` (real steady clock): nullopt with
  // *timed_out set when nothing arrived in time; nullopt with *timed_out
  // clear once closed and drained. Items already queued are returned even
  // when the deadline has passed.
  template <typename TimePoint>
  std::optional<T> PopUntil(TimePoint deadline, bool* timed_out) {
    std::unique_lock lock(mu_);
    *timed_out = !not_empty_.wait_until(lock, deadline, [&] { return closed_ || !items_.empty(); });
    return TakeFront(lock);
  }

  void Close() {
    {
      std::lock_guard lock(mu_);
      closed_ = true;
    }
    not_full_.notify_all();
    not_empty_.notify_all();
  }

  size_t size() const {
    std::lock_guard lock(mu_);
    return items_.size();
  }

 private:
  // The front item (nullopt when empty); releases `lock`.
  std::optional<T> TakeFront(std::unique_lock<std::mutex>& lock) {
    if (items_.empty()) return std::nullopt;
    T item = std::move(items_.front());
    items_.pop_front();
    lock.unlock();
    not_full_.notify_one();
    return item;
  }

  const size_t capacity_;
  mutable std::mutex mu_;
  std::condition_variable not_full_;
  std::condition_variable not_empty_;
  std::deque<T> items_ ABSL_GUARDED_BY(mu_);
  bool closed_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace dnoscope
