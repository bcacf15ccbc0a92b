// Client metrics for long runs: what `dnoscope run --metrics-port` serves
// as Prometheus text (format 0.0.4), with the conventions of the model
// server's /metrics (serving/metrics.h): a # HELP and # TYPE line for every
// family even before it has samples, label values escaped alike, counters
// cumulative since start.
//
//   per stream:  dnoscope_stream_frames_total{stream,status}, _frames_per_second,
//                _lateness_seconds (histogram), _lateness_last_seconds,
//                _reconnects_total, _gap_seconds_total, _events_total
//   per stage:   dnoscope_stage_requests_total{stage}, _failures_total,
//                _in_flight, _request_duration_seconds (histogram)
//   per server:  dnoscope_endpoint_requests_total{stage,endpoint}, _failures_total,
//                _in_flight, _ejected, _bytes_sent_total (ModelStage::stats())
//   webhook:     dnoscope_webhook_events_total{url,outcome}, _queued
//
// MeteredStage is the ModelStage decorator that counts a stage's requests
// and times them; give the cascade the metered stage. Streams and stages
// are registered once, before serving; the registry does not own stages.
//
// Thread-safety: all methods are thread-safe.
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "common/clock.h"
#include "common/mutex.h"
#include "live/prometheus.h"
#include "live/stream_stats.h"
#include "live/webhook.h"
#include "models/model_stage.h"
#include "serving/http/server.h"

namespace dnoscope::live {

class MeteredStage final : public models::ModelStage {
 public:
  // `inner` and `clock` are not owned and outlive this stage.
  MeteredStage(models::ModelStage* inner, Clock* clock) : inner_(inner), clock_(clock) {}

  const models::ModelMetadata& metadata() const override { return inner_->metadata(); }
  std::string Describe() const override { return inner_->Describe(); }
  void InferAsync(models::StageRequest request, Done done) override;
  models::StageStats stats() const override { return inner_->stats(); }
  void Shutdown() override { inner_->Shutdown(); }

  int64_t requests() const { return requests_.load(std::memory_order_relaxed); }
  // Completed with an error other than a withdrawal (Cancelled).
  int64_t failures() const { return failures_.load(std::memory_order_relaxed); }
  int64_t in_flight() const { return in_flight_.load(std::memory_order_relaxed); }
  // Submit-to-completion seconds of successful requests.
  BucketHistogram::Snapshot latency() const { return latency_.snapshot(); }

 private:
  models::ModelStage* const inner_;
  Clock* const clock_;
  std::atomic<int64_t> requests_{0};
  std::atomic<int64_t> failures_{0};
  std::atomic<int64_t> in_flight_{0};
  BucketHistogram latency_;
};

class ClientMetrics {
 public:
  explicit ClientMetrics(Clock* clock = Clock::Real()) : clock_(clock) {}

  // A new stream's stats, owned by the registry (valid for its lifetime).
  StreamStats* AddStream(std::string name);
  // Not owned; must outlive the registry's last render.
  void AddStage(std::string name, const MeteredStage* stage);
  void AddWebhook(const WebhookEventSink* sink);

  std::string RenderPrometheus() const;

 private:
  struct StageEntry {
    std::string name;
    const MeteredStage* stage;
  };
  Clock* const clock_;
  mutable Mutex mu_;
  std::vector<std::unique_ptr<StreamStats>> streams_ ABSL_GUARDED_BY(mu_);
  std::vector<StageEntry> stages_ ABSL_GUARDED_BY(mu_);
  std::vector<const WebhookEventSink*> webhooks_ ABSL_GUARDED_BY(mu_);
};

// Serves GET /metrics (text/plain; version=0.0.4) from `metrics` on
// host:port (port 0: a free one; HttpServer::port() tells which). 404 for
// other paths, 405 for other methods. `metrics` must outlive the server.
absl::StatusOr<std::unique_ptr<serving::http::HttpServer>> StartMetricsServer(
    const std::string& host, int port, const ClientMetrics* metrics);

}  // namespace dnoscope::live
