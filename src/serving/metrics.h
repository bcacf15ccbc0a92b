// Per-model serving statistics and their Prometheus exposition.
//
// ModelStats holds the counters of one (model, version), updated lock-free by
// the scheduler's threads; MetricsRegistry owns one ModelStats per
// (model, version) and renders all of them in the Prometheus text format
// 0.0.4 under Triton's metric names (nv_inference_*), so that dashboards made
// for Triton work unchanged.
//
// Durations are accumulated in nanoseconds and exposed in whole microseconds,
// like Triton's cumulative *_duration_us counters. Following Triton, the
// duration counters, inference_count and exec_count only cover work that
// succeeded; failures are counted in request_failure alone.
//
// Thread-safety: all methods of both classes are thread-safe. A snapshot is
// not atomic across counters (each counter is read on its own).
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "common/clock.h"
#include "common/mutex.h"

namespace dnoscope::serving {

class ModelStats {
 public:
  // A point-in-time copy of the counters.
  struct Snapshot {
    uint64_t request_success = 0;
    uint64_t request_failure = 0;
    // Batch items inferred (a request of batch 4 adds 4).
    uint64_t inference_count = 0;
    // Model executions (Infer calls).
    uint64_t exec_count = 0;
    // Gauge: requests queued or executing.
    int64_t pending_request_count = 0;
    // Cumulative microseconds.
    uint64_t request_duration_us = 0;
    uint64_t queue_duration_us = 0;
    uint64_t compute_infer_duration_us = 0;
    // The same cumulative durations in nanoseconds (the statistics
    // extension reports ns), and what only it reports: the failed requests'
    // submit-to-done time, each successful request's share of compute (the
    // whole execution that ran it, as Triton counts it) and the wall time of
    // the last successful request (ms since the epoch; 0: none).
    uint64_t request_duration_ns = 0;
    uint64_t queue_duration_ns = 0;
    uint64_t failure_duration_ns = 0;
    uint64_t request_compute_ns = 0;
    int64_t last_inference_ms = 0;
  };

  ModelStats(std::string model, int64_t version) : model_(std::move(model)), version_(version) {}
  ModelStats(const ModelStats&) = delete;
  ModelStats& operator=(const ModelStats&) = delete;

  const std::string& model() const { return model_; }
  int64_t version() const { return version_; }

  // Adds `delta` (may be negative) to the pending-request gauge.
  void AddPending(int64_t delta);
  // A request completed successfully: `request` is submit-to-done time,
  // `queue` submit-to-pick time, `compute` the execution that ran it.
  void RecordSuccess(Clock::Duration request, Clock::Duration queue,
                     Clock::Duration compute = Clock::Duration::zero());
  // A request completed with an error `request` after it was submitted
  // (zero when refused before it queued).
  void RecordFailure(Clock::Duration request = Clock::Duration::zero());
  // One successful model execution over `batch_items` items taking `compute`.
  void RecordExecution(int64_t batch_items, Clock::Duration compute);

  Snapshot snapshot() const;

 private:
  const std::string model_;
  const int64_t version_;
  std::atomic<uint64_t> request_success_{0};
  std::atomic<uint64_t> request_failure_{0};
  std::atomic<uint64_t> inference_count_{0};
  std::atomic<uint64_t> exec_count_{0};
  std::atomic<int64_t> pending_request_count_{0};
  std::atomic<uint64_t> request_duration_ns_{0};
  std::atomic<uint64_t> queue_duration_ns_{0};
  std::atomic<uint64_t> compute_infer_duration_ns_{0};
  std::atomic<uint64_t> failure_duration_ns_{0};
  std::atomic<uint64_t> request_compute_ns_{0};
  std::atomic<int64_t> last_inference_ms_{0};
};

class MetricsRegistry {
 public:
  MetricsRegistry() = default;
  MetricsRegistry(const MetricsRegistry&) = delete;
  MetricsRegistry& operator=(const MetricsRegistry&) = delete;

  // The stats of (model, version), created on first use. The pointer is
  // owned by the registry and stays valid for the registry's lifetime.
  ModelStats* GetOrCreate(std::string_view model, int64_t version);

  // All metrics in the Prometheus text exposition format 0.0.4: a # HELP and
  // a # TYPE line per metric family (even when no model is registered), then
  // one sample per (model, version), ordered by model name then version,
  // labelled {model="...",version="..."}.
  std::string RenderPrometheus() const;

 private:
  mutable Mutex mu_;
  std::map<std::pair<std::string, int64_t>, std::unique_ptr<ModelStats>> stats_
      ABSL_GUARDED_BY(mu_);
};

// Escapes a Prometheus label value: backslash, double quote and newline.
std::string EscapePrometheusLabelValue(std::string_view value);

}  // namespace dnoscope::serving
