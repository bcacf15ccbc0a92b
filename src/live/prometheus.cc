#include "live/prometheus.h"

#include <algorithm>
#include <cmath>

#include "fmt/format.h"
#include "serving/metrics.h"

namespace dnoscope::live {
namespace {

constexpr double kDefaultBuckets[] = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                                      0.5,   1,    2.5,   5,    10};

std::string FormatValue(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  return fmt::format("{}", v);
}

}  // namespace

std::span<const double> DefaultSecondsBuckets() { return kDefaultBuckets; }

BucketHistogram::BucketHistogram(std::span<const double> bounds)
    : bounds_(bounds.begin(), bounds.end()),
      counts_(new std::atomic<uint64_t>[bounds.size() + 1]) {
  for (size_t i = 0; i <= bounds_.size(); ++i) counts_[i].store(0);
}

void BucketHistogram::Observe(double value) {
  const size_t i = static_cast<size_t>(
      std::lower_bound(bounds_.begin(), bounds_.end(), value) - bounds_.begin());
  counts_[i].fetch_add(1, std::memory_order_relaxed);
  const double micros = std::max(0.0, value) * 1e6;
  sum_micros_.fetch_add(static_cast<uint64_t>(std::llround(micros)), std::memory_order_relaxed);
}

BucketHistogram::Snapshot BucketHistogram::snapshot() const {
  Snapshot s;
  s.bounds = bounds_;
  uint64_t total = 0;
  for (size_t i = 0; i <= bounds_.size(); ++i) {
    total += counts_[i].load(std::memory_order_relaxed);
    s.counts.push_back(total);
  }
  s.sum = static_cast<double>(sum_micros_.load(std::memory_order_relaxed)) / 1e6;
  return s;
}

std::string FormatLabels(PrometheusText::Labels labels, std::string_view extra) {
  if (labels.size() == 0 && extra.empty()) return "";
  std::string out = "{";
  for (const auto& [name, value] : labels) {
    if (out.size() > 1) out += ',';
    out += fmt::format("{}=\"{}\"", name, serving::EscapePrometheusLabelValue(value));
  }
  if (!extra.empty()) {
    if (out.size() > 1) out += ',';
    out += extra;
  }
  return out + "}";
}

void PrometheusText::Family(std::string_view name, std::string_view type, std::string_view help) {
  out_ += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, help, name, type);
}

void PrometheusText::Sample(std::string_view name, Labels labels, double value) {
  out_ += fmt::format("{}{} {}\n", name, FormatLabels(labels), FormatValue(value));
}

void PrometheusText::Histogram(std::string_view name, Labels labels,
                               const BucketHistogram::Snapshot& h) {
  for (size_t i = 0; i < h.counts.size(); ++i) {
    const std::string le =
        fmt::format("le=\"{}\"", i < h.bounds.size() ? FormatValue(h.bounds[i]) : "+Inf");
    out_ += fmt::format("{}_bucket{} {}\n", name, FormatLabels(labels, le), h.counts[i]);
  }
  out_ += fmt::format("{}_sum{} {}\n", name, FormatLabels(labels), FormatValue(h.sum));
  out_ += fmt::format("{}_count{} {}\n", name, FormatLabels(labels),
                      h.counts.empty() ? 0 : h.counts.back());
}

}  // namespace dnoscope::live
