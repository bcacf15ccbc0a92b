#include "common/histogram.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

#include "gtest/gtest.h"

namespace dnoscope {
namespace {

using std::chrono::nanoseconds;

// Nearest-rank percentile of sorted `values`, in microseconds.
double ExactPercentile(const std::vector<int64_t>& sorted, double p) {
  const auto n = static_cast<int64_t>(sorted.size());
  const auto rank =
      std::clamp<int64_t>(static_cast<int64_t>(std::ceil(p / 100.0 * static_cast<double>(n))), 1, n);
  return static_cast<double>(sorted[rank - 1]) / 1000.0;
}

// Log-uniform durations from 1 us to 10 s, in nanoseconds.
std::vector<int64_t> LogUniformSamples(int n, uint32_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> exponent(3.0, 10.0);
  std::vector<int64_t> values(n);
  for (int64_t& v : values) v = static_cast<int64_t>(std::pow(10.0, exponent(rng)));
  return values;
}

TEST(LatencyHistogramTest, EmptyReportsZero) {
  LatencyHistogram h;
  EXPECT_EQ(h.count(), 0);
  EXPECT_EQ(h.Percentile(50), 0.0);
  EXPECT_EQ(h.mean_us(), 0.0);
  EXPECT_EQ(h.max_us(), 0.0);
}

TEST(LatencyHistogramTest, SmallValuesAreExact) {
  LatencyHistogram h;
  for (int ns = 1; ns <= 200; ++ns) h.Record(nanoseconds(ns));
  EXPECT_DOUBLE_EQ(h.Percentile(50), 0.100);
  EXPECT_DOUBLE_EQ(h.Percentile(0), 0.001);
  EXPECT_DOUBLE_EQ(h.Percentile(100), 0.200);
}

TEST(LatencyHistogramTest, PercentilesWithinRelativeErrorBound) {
  std::vector<int64_t> values = LogUniformSamples(100000, 7);
  LatencyHistogram h;
  for (int64_t v : values) h.Record(nanoseconds(v));
  std::sort(values.begin(), values.end());
  for (double p : {0.0, 0.1, 1.0, 10.0, 25.0, 50.0, 75.0, 90.0, 99.0, 99.9, 99.99, 100.0}) {
    const double exact = ExactPercentile(values, p);
    EXPECT_NEAR(h.Percentile(p), exact, exact * 0.004) << "p" << p;
  }
  EXPECT_EQ(h.count(), 100000);
  EXPECT_DOUBLE_EQ(h.min_us(), static_cast<double>(values.front()) / 1000.0);
  EXPECT_DOUBLE_EQ(h.max_us(), static_cast<double>(values.back()) / 1000.0);
}

TEST(LatencyHistogramTest, MeanIsExact) {
  LatencyHistogram h;
  h.RecordMicros(10);
  h.RecordMicros(20.5);
  h.Record(nanoseconds(-5));  // counts as zero
  EXPECT_EQ(h.count(), 3);
  EXPECT_DOUBLE_EQ(h.mean_us(), 30.5 / 3);
  EXPECT_DOUBLE_EQ(h.min_us(), 0.0);
  EXPECT_DOUBLE_EQ(h.max_us(), 20.5);
}

TEST(LatencyHistogramTest, MergeEqualsRecordingEverything) {
  const std::vector<int64_t> a = LogUniformSamples(5000, 1);
  const std::vector<int64_t> b = LogUniformSamples(7000, 2);
  LatencyHistogram ha, hb, all;
  for (int64_t v : a) ha.Record(nanoseconds(v)), all.Record(nanoseconds(v));
  for (int64_t v : b) hb.Record(nanoseconds(v)), all.Record(nanoseconds(v));
  LatencyHistogram merged;
  merged.Merge(ha);
  merged.Merge(hb);
  merged.Merge(LatencyHistogram());
  EXPECT_EQ(merged.count(), all.count());
  EXPECT_DOUBLE_EQ(merged.min_us(), all.min_us());
  EXPECT_DOUBLE_EQ(merged.max_us(), all.max_us());
  EXPECT_NEAR(merged.mean_us(), all.mean_us(), all.mean_us() * 1e-12);
  for (double p : {0.0, 1.0, 50.0, 90.0, 99.0, 100.0}) {
    EXPECT_DOUBLE_EQ(merged.Percentile(p), all.Percentile(p)) << "p" << p;
  }
}

TEST(LatencyHistogramTest, ToStringNamesPercentiles) {
  LatencyHistogram h;
  h.RecordMicros(100);
  EXPECT_EQ(h.ToString(), "n=1 mean=100.0us p50=100.0us p90=100.0us p99=100.0us max=100.0us");
}

}  // namespace
}  // namespace dnoscope
