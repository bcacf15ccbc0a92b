#include "common/histogram.h"

#include <algorithm>
#include <bit>
#include <cmath>

#include "fmt/format.h"

namespace dnoscope {
namespace {

// Values below 2^kExactBits get one bucket each; above, each power-of-two
// range [2^e, 2^(e+1)) gets kSubBuckets buckets of width 2^(e - kSubBits).
constexpr int kExactBits = 8;
constexpr int kSubBits = 7;
constexpr int64_t kExact = int64_t{1} << kExactBits;
constexpr int64_t kSubBuckets = int64_t{1} << kSubBits;

size_t BucketIndex(int64_t ns) {
  if (ns < kExact) return static_cast<size_t>(ns);
  const int e = std::bit_width(static_cast<uint64_t>(ns)) - 1;  // >= kExactBits
  const int shift = e - kSubBits;
  const int64_t mantissa = ns >> shift;  // in [kSubBuckets, 2 * kSubBuckets)
  return static_cast<size_t>(kExact + (e - kExactBits) * kSubBuckets + (mantissa - kSubBuckets));
}

// Lowest value and width of bucket `index`.
void BucketRange(size_t index, int64_t* lowest, int64_t* width) {
  const int64_t i = static_cast<int64_t>(index);
  if (i < kExact) {
    *lowest = i;
    *width = 1;
    return;
  }
  const int64_t e = kExactBits + (i - kExact) / kSubBuckets;
  const int64_t mantissa = kSubBuckets + (i - kExact) % kSubBuckets;
  const int shift = static_cast<int>(e) - kSubBits;
  *lowest = mantissa << shift;
  *width = int64_t{1} << shift;
}

}  // namespace

void LatencyHistogram::Record(Clock::Duration d) {
  const int64_t ns = std::max<int64_t>(0, d.count());
  const size_t index = BucketIndex(ns);
  if (index >= buckets_.size()) buckets_.resize(index + 1, 0);
  ++buckets_[index];
  min_ns_ = count_ == 0 ? ns : std::min(min_ns_, ns);
  max_ns_ = count_ == 0 ? ns : std::max(max_ns_, ns);
  ++count_;
  sum_ns_ += static_cast<double>(ns);
}

void LatencyHistogram::RecordMicros(double us) {
  Record(Clock::Duration(static_cast<int64_t>(std::llround(std::max(0.0, us) * 1000.0))));
}

void LatencyHistogram::Merge(const LatencyHistogram& other) {
  if (other.count_ == 0) return;
  if (other.buckets_.size() > buckets_.size()) buckets_.resize(other.buckets_.size(), 0);
  for (size_t i = 0; i < other.buckets_.size(); ++i) buckets_[i] += other.buckets_[i];
  min_ns_ = count_ == 0 ? other.min_ns_ : std::min(min_ns_, other.min_ns_);
  max_ns_ = count_ == 0 ? other.max_ns_ : std::max(max_ns_, other.max_ns_);
  count_ += other.count_;
  sum_ns_ += other.sum_ns_;
}

double LatencyHistogram::mean_us() const {
  return count_ == 0 ? 0.0 : sum_ns_ / static_cast<double>(count_) / 1000.0;
}
double LatencyHistogram::min_us() const { return static_cast<double>(min_ns_) / 1000.0; }
double LatencyHistogram::max_us() const { return static_cast<double>(max_ns_) / 1000.0; }

double LatencyHistogram::Percentile(double p) const {
  if (count_ == 0) return 0.0;
  p = std::clamp(p, 0.0, 100.0);
  // Nearest rank: the smallest sample with at least p% of samples <= it.
  const auto rank = std::clamp<int64_t>(
      static_cast<int64_t>(std::ceil(p / 100.0 * static_cast<double>(count_))), 1, count_);
  int64_t seen = 0;
  for (size_t i = 0; i < buckets_.size(); ++i) {
    seen += buckets_[i];
    if (seen < rank) continue;
    int64_t lowest = 0;
    int64_t width = 0;
    BucketRange(i, &lowest, &width);
    const double mid = static_cast<double>(lowest) + static_cast<double>(width - 1) / 2.0;
    return std::clamp(mid, static_cast<double>(min_ns_), static_cast<double>(max_ns_)) / 1000.0;
  }
  return max_us();
}

std::string LatencyHistogram::ToString() const {
  return fmt::format("n={} mean={:.1f}us p50={:.1f}us p90={:.1f}us p99={:.1f}us max={:.1f}us",
                     count_, mean_us(), Percentile(50), Percentile(90), Percentile(99), max_us());
}

}  // namespace dnoscope
