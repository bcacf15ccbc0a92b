#include "live/live_run.h"

#include <chrono>
#include <utility>

#include "common/status_macros.h"
#include "fmt/format.h"
#include "spdlog/spdlog.h"

namespace dnoscope::live {

LiveRun::LiveRun(const LiveRunOptions& options, Clock* clock)
    : options_(options), clock_(clock), metrics_(clock) {}

absl::StatusOr<std::unique_ptr<LiveRun>> LiveRun::Start(const LiveRunOptions& options,
                                                        Clock* clock) {
  if (options.max_lateness_ms < 0) {
    return absl::InvalidArgumentError("--max-lateness-ms must be >= 0 (0: never drop)");
  }
  if (options.metrics_port > 65535) {
    return absl::InvalidArgumentError(
        fmt::format("--metrics-port {} is not a TCP port (0-65535)", options.metrics_port));
  }
  auto run = std::unique_ptr<LiveRun>(new LiveRun(options, clock));
  if (options.handle_signals) run->signals_ = std::make_unique<SignalStop>(&run->stop_);
  if (!options.events.empty()) {
    DNS_ASSIGN_OR_RETURN(run->events_file_, JsonLinesEventSink::Open(options.events));
  }
  if (!options.events_url.empty()) {
    DNS_ASSIGN_OR_RETURN(run->webhook_,
                         WebhookEventSink::Create(options.events_url, WebhookOptions{}, clock));
    run->metrics_.AddWebhook(run->webhook_.get());
  }
  if (options.metrics_port >= 0) {
    DNS_ASSIGN_OR_RETURN(run->server_, StartMetricsServer(options.metrics_host,
                                                          options.metrics_port, &run->metrics_));
    spdlog::info("client metrics: http://{}:{}/metrics", options.metrics_host,
                 run->server_->port());
  }
  return run;
}

LiveRun::~LiveRun() { Finish(); }

models::ModelStage* LiveRun::Meter(const std::string& name, models::ModelStage* stage) {
  stages_.push_back(std::make_unique<MeteredStage>(stage, clock_));
  metrics_.AddStage(name, stages_.back().get());
  return stages_.back().get();
}

absl::StatusOr<std::unique_ptr<LiveSource>> LiveRun::WrapSource(
    std::unique_ptr<video::FrameSource> first, const video::FrameSourceOptions& options,
    StreamStats* stats) {
  const bool live = first->info().live;
  if (options_.realtime && live) {
    return absl::InvalidArgumentError(fmt::format(
        "--realtime paces a file at its frame rate; '{}' is live and arrives in real time",
        options.uri));
  }
  if (options_.reconnect_s > 0 && !live) {
    return absl::InvalidArgumentError(fmt::format(
        "--reconnect-s applies to live URLs; '{}' is a file (files are never reopened)",
        options.uri));
  }
  if (options_.max_lateness_ms > 0 && !live && !options_.realtime) {
    return absl::InvalidArgumentError(fmt::format(
        "--max-lateness-ms needs a live source or --realtime: '{}' is read as fast as it "
        "decodes, so it is never late",
        options.uri));
  }
  LiveSourceOptions o;
  o.realtime = options_.realtime;
  o.measure_lateness = live || options_.realtime;
  if (options_.max_lateness_ms > 0) {
    o.max_lateness = std::chrono::duration_cast<Clock::Duration>(
        std::chrono::duration<double, std::milli>(options_.max_lateness_ms));
  }
  o.end_index = options.range.end;
  o.reconnect = live && options_.reconnect_s != 0;
  if (options_.reconnect_s > 0) {
    o.reconnect_for = std::chrono::duration_cast<Clock::Duration>(
        std::chrono::duration<double>(options_.reconnect_s));
  }
  if (live && o.measure_lateness && !(first->info().fps > 0)) {
    spdlog::warn("stream '{}' reports no frame rate: lateness is not measured", options.uri);
    o.measure_lateness = false;
  }
  return LiveSource::Create(std::move(first), OpenerFor(options), o, stats, &stop_, clock_);
}

std::unique_ptr<LiveRows> LiveRun::MakeRows(const std::string& stream, double fps,
                                            StreamStats* stats) {
  std::vector<EventSink*> sinks;
  if (events_file_) sinks.push_back(events_file_.get());
  if (webhook_) sinks.push_back(webhook_.get());
  return std::make_unique<LiveRows>(stream, fps, stats, std::move(sinks));
}

void LiveRun::Finish() {
  if (finished_) return;
  finished_ = true;
  if (webhook_) {
    webhook_->Close();
    const WebhookEventSink::Counters c = webhook_->counters();
    spdlog::info("webhook {}: {} events sent, {} retries, {} failed, {} dropped",
                 webhook_->url(), c.sent, c.retries, c.failed, c.dropped);
  }
  if (server_) server_->Shutdown();
}

}  // namespace dnoscope::live
