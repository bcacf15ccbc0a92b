// StreamStats: the live figures of one stream — rows by status, lateness,
// reconnects and the seconds lost to them, events — written by the stream's
// source and row callback and read by the metrics endpoint, the progress
// line and the summary.
//
// Lateness is how far the wall clock is behind the stream when a frame is
// handed to the cascade: for a live source, behind the schedule the stream's
// frame rate implies from its earliest-arriving frame (live_source.h); for a
// paced file (--realtime), behind the pacing schedule.
//
// Thread-safety: all methods are thread-safe (atomics).
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <string>

#include "common/clock.h"
#include "labels/prediction_csv.h"
#include "live/prometheus.h"

namespace dnoscope::live {

class StreamStats {
 public:
  struct Snapshot {
    std::array<int64_t, labels::kNumFrameStatuses> rows_by_status{};
    int64_t rows = 0;
    // Seconds from the first to the latest row.
    double row_seconds = 0;
    int64_t lateness_samples = 0;
    double last_lateness_s = 0;
    double max_lateness_s = 0;
    double mean_lateness_s = 0;
    int64_t reconnects = 0;
    double gap_seconds = 0;
    int64_t events = 0;
  };

  StreamStats(std::string name, Clock* clock) : name_(std::move(name)), clock_(clock) {}
  StreamStats(const StreamStats&) = delete;
  StreamStats& operator=(const StreamStats&) = delete;

  const std::string& name() const { return name_; }

  void RecordRow(labels::FrameStatus status);
  void RecordLateness(Clock::Duration lateness);
  // A lost stream came back after `gap` without frames.
  void RecordReconnect(Clock::Duration gap);
  void RecordEvent() { events_.fetch_add(1, std::memory_order_relaxed); }

  Snapshot snapshot() const;
  BucketHistogram::Snapshot lateness_histogram() const { return lateness_.snapshot(); }

 private:
  const std::string name_;
  Clock* const clock_;
  std::array<std::atomic<int64_t>, labels::kNumFrameStatuses> rows_{};
  std::atomic<int64_t> first_row_ns_{-1};
  std::atomic<int64_t> last_row_ns_{-1};
  BucketHistogram lateness_;
  std::atomic<int64_t> lateness_samples_{0};
  std::atomic<int64_t> lateness_sum_ns_{0};
  std::atomic<int64_t> last_lateness_ns_{0};
  std::atomic<int64_t> max_lateness_ns_{0};
  std::atomic<int64_t> reconnects_{0};
  std::atomic<int64_t> gap_ns_{0};
  std::atomic<int64_t> events_{0};
};

}  // namespace dnoscope::live
