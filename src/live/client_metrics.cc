#include "live/client_metrics.h"

#include <utility>

#include "labels/prediction_csv.h"

namespace dnoscope::live {

void MeteredStage::InferAsync(models::StageRequest request, Done done) {
  requests_.fetch_add(1, std::memory_order_relaxed);
  in_flight_.fetch_add(1, std::memory_order_relaxed);
  const Clock::TimePoint t0 = clock_->Now();
  inner_->InferAsync(std::move(request),
                     [this, t0, done = std::move(done)](absl::StatusOr<std::vector<Tensor>> r) {
                       if (r.ok()) {
                         latency_.Observe(SecondsBetween(t0, clock_->Now()));
                       } else if (!absl::IsCancelled(r.status())) {
                         failures_.fetch_add(1, std::memory_order_relaxed);
                       }
                       in_flight_.fetch_sub(1, std::memory_order_relaxed);
                       done(std::move(r));
                     });
}

StreamStats* ClientMetrics::AddStream(std::string name) {
  MutexLock lock(&mu_);
  streams_.push_back(std::make_unique<StreamStats>(std::move(name), clock_));
  return streams_.back().get();
}

void ClientMetrics::AddStage(std::string name, const MeteredStage* stage) {
  MutexLock lock(&mu_);
  stages_.push_back({std::move(name), stage});
}

void ClientMetrics::AddWebhook(const WebhookEventSink* sink) {
  MutexLock lock(&mu_);
  webhooks_.push_back(sink);
}

std::string ClientMetrics::RenderPrometheus() const {
  std::vector<const StreamStats*> streams;
  std::vector<StageEntry> stages;
  std::vector<const WebhookEventSink*> webhooks;
  {
    MutexLock lock(&mu_);
    for (const auto& s : streams_) streams.push_back(s.get());
    stages = stages_;
    webhooks = webhooks_;
  }
  std::vector<StreamStats::Snapshot> snaps;
  for (const StreamStats* s : streams) snaps.push_back(s->snapshot());

  PrometheusText p;
  p.Family("dnoscope_stream_frames_total", "counter",
           "Rows written per stream, by status (how the frame got its label)");
  for (size_t i = 0; i < streams.size(); ++i) {
    for (int st = 0; st < labels::kNumFrameStatuses; ++st) {
      p.Sample("dnoscope_stream_frames_total",
               {{"stream", streams[i]->name()},
                {"status", labels::FrameStatusName(static_cast<labels::FrameStatus>(st))}},
               static_cast<double>(snaps[i].rows_by_status[st]));
    }
  }
  using Snap = StreamStats::Snapshot;
  auto per_stream = [&](std::string_view name, std::string_view type, std::string_view help,
                        auto value) {
    p.Family(name, type, help);
    for (size_t i = 0; i < streams.size(); ++i) {
      p.Sample(name, {{"stream", streams[i]->name()}}, static_cast<double>(value(snaps[i])));
    }
  };
  per_stream("dnoscope_stream_frames_per_second", "gauge",
             "Rows per second per stream, averaged from its first row to its latest",
             [](const Snap& s) { return s.row_seconds > 0 ? (s.rows - 1) / s.row_seconds : 0; });
  p.Family("dnoscope_stream_lateness_seconds", "histogram",
           "How far the wall clock was behind the stream when a frame entered the cascade");
  for (const StreamStats* s : streams) {
    p.Histogram("dnoscope_stream_lateness_seconds", {{"stream", s->name()}},
                s->lateness_histogram());
  }
  per_stream("dnoscope_stream_lateness_last_seconds", "gauge", "Lateness of the latest frame",
             [](const Snap& s) { return s.last_lateness_s; });
  per_stream("dnoscope_stream_reconnects_total", "counter",
             "Times a lost live stream was reopened and delivered frames again",
             [](const Snap& s) { return s.reconnects; });
  per_stream("dnoscope_stream_gap_seconds_total", "counter",
             "Seconds without frames between a stream's loss and its reconnection",
             [](const Snap& s) { return s.gap_seconds; });
  per_stream("dnoscope_stream_events_total", "counter",
             "Answer changes (object appeared or left) per stream",
             [](const Snap& s) { return s.events; });

  auto per_stage = [&](std::string_view name, std::string_view type, std::string_view help,
                       auto value) {
    p.Family(name, type, help);
    for (const StageEntry& s : stages) {
      p.Sample(name, {{"stage", s.name}}, static_cast<double>(value(*s.stage)));
    }
  };
  per_stage("dnoscope_stage_requests_total", "counter", "Requests submitted to a model stage",
            [](const MeteredStage& s) { return s.requests(); });
  per_stage("dnoscope_stage_failures_total", "counter",
            "Stage requests that failed for good (after the stage's own retries)",
            [](const MeteredStage& s) { return s.failures(); });
  per_stage("dnoscope_stage_in_flight", "gauge", "Stage requests submitted and not completed",
            [](const MeteredStage& s) { return s.in_flight(); });
  p.Family("dnoscope_stage_request_duration_seconds", "histogram",
           "Submit-to-answer time of successful stage requests (retries included)");
  for (const StageEntry& s : stages) {
    p.Histogram("dnoscope_stage_request_duration_seconds", {{"stage", s.name}},
                s.stage->latency());
  }

  struct EndpointRow {
    std::string stage;
    models::StageEndpointStats e;
  };
  std::vector<EndpointRow> endpoints;
  for (const StageEntry& s : stages) {
    for (const models::StageEndpointStats& e : s.stage->stats().endpoints) {
      endpoints.push_back({s.name, e});
    }
  }
  auto per_endpoint = [&](std::string_view name, std::string_view type, std::string_view help,
                          auto value) {
    p.Family(name, type, help);
    for (const EndpointRow& r : endpoints) {
      p.Sample(name, {{"stage", r.stage}, {"endpoint", r.e.name}},
               static_cast<double>(value(r.e)));
    }
  };
  using E = models::StageEndpointStats;
  per_endpoint("dnoscope_endpoint_requests_total", "counter",
               "Request attempts sent to a server (\"local\" for an in-process stage)",
               [](const E& e) { return e.requests; });
  per_endpoint("dnoscope_endpoint_failures_total", "counter", "Request attempts that failed",
               [](const E& e) { return e.failures; });
  per_endpoint("dnoscope_endpoint_in_flight", "gauge", "Requests outstanding on a server",
               [](const E& e) { return e.in_flight; });
  per_endpoint("dnoscope_endpoint_ejected", "gauge",
               "1 while the load balancer keeps a server out of rotation",
               [](const E& e) { return e.ejected ? 1 : 0; });
  per_endpoint("dnoscope_endpoint_bytes_sent_total", "counter", "Request bytes sent to a server",
               [](const E& e) { return e.bytes_sent; });

  p.Family("dnoscope_webhook_events_total", "counter",
           "Events for an --events-url webhook by outcome: sent, retries, failed (gave up), "
           "dropped (queue full or left at exit)");
  std::vector<std::pair<std::string, WebhookEventSink::Counters>> hooks;
  for (const WebhookEventSink* w : webhooks) hooks.emplace_back(w->url(), w->counters());
  for (const auto& [url, c] : hooks) {
    p.Sample("dnoscope_webhook_events_total", {{"url", url}, {"outcome", "sent"}},
             static_cast<double>(c.sent));
    p.Sample("dnoscope_webhook_events_total", {{"url", url}, {"outcome", "retries"}},
             static_cast<double>(c.retries));
    p.Sample("dnoscope_webhook_events_total", {{"url", url}, {"outcome", "failed"}},
             static_cast<double>(c.failed));
    p.Sample("dnoscope_webhook_events_total", {{"url", url}, {"outcome", "dropped"}},
             static_cast<double>(c.dropped));
  }
  p.Family("dnoscope_webhook_queued", "gauge", "Events waiting to be POSTed");
  for (const auto& [url, c] : hooks) {
    p.Sample("dnoscope_webhook_queued", {{"url", url}}, static_cast<double>(c.queued));
  }
  return p.text();
}

absl::StatusOr<std::unique_ptr<serving::http::HttpServer>> StartMetricsServer(
    const std::string& host, int port, const ClientMetrics* metrics) {
  serving::http::HttpServerOptions options;
  options.host = host;
  options.port = port;
  options.io_threads = 1;
  options.drain_timeout = std::chrono::seconds(2);
  return serving::http::HttpServer::Start(
      options, [metrics](serving::http::HttpRequest request, serving::http::Responder respond) {
        serving::http::HttpResponse response;
        const std::string path = request.target.substr(0, request.target.find('?'));
        if (path != "/metrics") {
          response.status = 404;
          response.body = R"({"error":"not found: the client serves GET /metrics"})";
        } else if (request.method != "GET") {
          response.status = 405;
          response.body = R"({"error":"/metrics takes GET"})";
        } else {
          response.content_type = "text/plain; version=0.0.4; charset=utf-8";
          response.body = metrics->RenderPrometheus();
        }
        respond(std::move(response));
      });
}

}  // namespace dnoscope::live
