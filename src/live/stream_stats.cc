#include "live/stream_stats.h"

#include <chrono>

namespace dnoscope::live {
namespace {

constexpr auto kRelaxed = std::memory_order_relaxed;

double Seconds(int64_t ns) { return static_cast<double>(ns) / 1e9; }

}  // namespace

void StreamStats::RecordRow(labels::FrameStatus status) {
  rows_[static_cast<size_t>(status)].fetch_add(1, kRelaxed);
  const int64_t now = clock_->Now().time_since_epoch().count();
  int64_t unset = -1;
  first_row_ns_.compare_exchange_strong(unset, now, kRelaxed);
  last_row_ns_.store(now, kRelaxed);
}

void StreamStats::RecordLateness(Clock::Duration lateness) {
  const int64_t ns = lateness.count();
  lateness_.Observe(Seconds(ns));
  lateness_samples_.fetch_add(1, kRelaxed);
  lateness_sum_ns_.fetch_add(ns, kRelaxed);
  last_lateness_ns_.store(ns, kRelaxed);
  int64_t max = max_lateness_ns_.load(kRelaxed);
  while (ns > max && !max_lateness_ns_.compare_exchange_weak(max, ns, kRelaxed)) {
  }
}

void StreamStats::RecordReconnect(Clock::Duration gap) {
  reconnects_.fetch_add(1, kRelaxed);
  gap_ns_.fetch_add(gap.count(), kRelaxed);
}

StreamStats::Snapshot StreamStats::snapshot() const {
  Snapshot s;
  for (size_t i = 0; i < rows_.size(); ++i) {
    s.rows_by_status[i] = rows_[i].load(kRelaxed);
    s.rows += s.rows_by_status[i];
  }
  const int64_t first = first_row_ns_.load(kRelaxed);
  if (first >= 0) s.row_seconds = Seconds(last_row_ns_.load(kRelaxed) - first);
  s.lateness_samples = lateness_samples_.load(kRelaxed);
  s.last_lateness_s = Seconds(last_lateness_ns_.load(kRelaxed));
  s.max_lateness_s = Seconds(max_lateness_ns_.load(kRelaxed));
  s.mean_lateness_s =
      s.lateness_samples > 0 ? Seconds(lateness_sum_ns_.load(kRelaxed)) / s.lateness_samples : 0;
  s.reconnects = reconnects_.load(kRelaxed);
  s.gap_seconds = Seconds(gap_ns_.load(kRelaxed));
  s.events = events_.load(kRelaxed);
  return s;
}

}  // namespace dnoscope::live
