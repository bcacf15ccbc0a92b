// Prometheus text exposition (format 0.0.4) for the client's metrics: a
// cumulative-bucket histogram and a writer that emits one # HELP / # TYPE
// pair per family, before its samples (even when it has none), with label
// values escaped as the model server's /metrics does
// (serving::EscapePrometheusLabelValue).
//
// Thread-safety: BucketHistogram is thread-safe (lock-free); a
// PrometheusText is used by one thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace dnoscope::live {

// Upper bounds, in seconds, of the latency and lateness histograms: the
// Prometheus client libraries' default buckets.
std::span<const double> DefaultSecondsBuckets();

class BucketHistogram {
 public:
  struct Snapshot {
    std::vector<double> bounds;
    // Cumulative: counts[i] observations <= bounds[i]; one more (+Inf) at the end.
    std::vector<uint64_t> counts;
    double sum = 0;
  };

  explicit BucketHistogram(std::span<const double> bounds = DefaultSecondsBuckets());
  void Observe(double value);
  Snapshot snapshot() const;

 private:
  const std::vector<double> bounds_;
  // Per-bucket (not cumulative) counts; the last one is +Inf.
  std::unique_ptr<std::atomic<uint64_t>[]> counts_;
  std::atomic<uint64_t> sum_micros_{0};  // sum in millionths, to stay lock-free
};

class PrometheusText {
 public:
  using Labels = std::initializer_list<std::pair<std::string_view, std::string_view>>;

  // `type`: counter, gauge or histogram.
  void Family(std::string_view name, std::string_view type, std::string_view help);
  void Sample(std::string_view name, Labels labels, double value);
  // name_bucket{...,le="..."}, name_sum and name_count.
  void Histogram(std::string_view name, Labels labels, const BucketHistogram::Snapshot& h);

  const std::string& text() const { return out_; }

 private:
  std::string out_;
};

// {a="x",b="y"} with escaped values; "" for no labels.
std::string FormatLabels(PrometheusText::Labels labels, std::string_view extra = {});

}  // namespace dnoscope::live
