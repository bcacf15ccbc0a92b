// LatencyHistogram: a bounded-memory histogram of durations with percentile
// queries, for benchmarks and load generators.
//
// Values are kept in log-linear buckets (HdrHistogram-like) at nanosecond
// resolution: exact below 256 ns, above that each power-of-two range is split
// into 128 equal buckets, so a reported percentile is within 0.4% of the exact
// sample value (bucket midpoint, clamped to the observed [min, max]). Memory
// grows with the largest value recorded: about 30 KB for values up to 100 s.
//
// Thread-safety: not thread-safe. Use one histogram per thread and Merge()
// them at the end; distinct objects may be used from distinct threads.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/clock.h"

namespace dnoscope {

class LatencyHistogram {
 public:
  LatencyHistogram() = default;

  // Records one duration; negative durations count as zero.
  void Record(Clock::Duration d);
  // Records one duration given in microseconds (fractions kept to 1 ns).
  void RecordMicros(double us);
  // Adds every sample of `other` to this histogram.
  void Merge(const LatencyHistogram& other);

  // Number of samples recorded.
  int64_t count() const { return count_; }
  // Mean, minimum and maximum in microseconds; 0 when empty.
  double mean_us() const;
  double min_us() const;
  double max_us() const;
  // The p-th percentile (nearest rank; p clamped to [0, 100]) in microseconds,
  // within 0.4% of the exact sample value. Percentile(0) is the minimum,
  // Percentile(100) the maximum. 0 when empty.
  double Percentile(double p) const;

  // "n=... mean=...us p50=...us p90=...us p99=...us max=...us".
  std::string ToString() const;

 private:
  std::vector<int64_t> buckets_;  // counts, indexed by BucketIndex(ns)
  int64_t count_ = 0;
  double sum_ns_ = 0;
  int64_t min_ns_ = 0;
  int64_t max_ns_ = 0;
};

}  // namespace dnoscope
