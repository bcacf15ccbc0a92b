// LiveRun: the process-wide pieces of a live run, set up once whatever the
// number of streams: the stop flag raised by SIGINT/SIGTERM, the metrics
// registry and its /metrics server, the event sinks (a JSON-lines file and
// a webhook); and the per-stream set-up on top of them (stats, the source
// stack, the row observer). `dnoscope run` builds one for its stream; a
// multi-stream run calls AddStream/WrapSource/MakeRows once per stream.
//
// Thread-safety: set up (Start, Add*, Wrap*, Meter) from one thread before
// the streams run; stop(), metrics() and the rows/sources from then on.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/clock.h"
#include "live/client_metrics.h"
#include "live/events.h"
#include "live/live_source.h"
#include "live/live_stream.h"
#include "live/signal_stop.h"
#include "live/webhook.h"
#include "serving/http/server.h"

namespace dnoscope::live {

// Decoded frames a live (or paced) run buffers before the cascade admits
// them (CascadeOptions::queue_capacity). Lateness and the drop decision are
// taken when a frame is read, so a short queue keeps frames from growing
// late after that while they wait; the decoder still runs ahead of the
// edge by this much.
inline constexpr size_t kLiveQueueFrames = 2;

struct LiveRunOptions {
  bool realtime = false;
  // > 0: drop frames later than this many milliseconds.
  double max_lateness_ms = 0;
  // < 0: reconnect live URLs forever (files never); 0: never; > 0: give up
  // after this many seconds down (live URLs only).
  double reconnect_s = -1;
  // JSON-lines events file ("-": stdout); empty: none.
  std::string events;
  // Webhook for events; empty: none.
  std::string events_url;
  // >= 0: serve /metrics on metrics_host:metrics_port (0: a free port).
  int metrics_port = -1;
  std::string metrics_host = "127.0.0.1";
  // Handle SIGINT/SIGTERM (ends the run cleanly). Tests turn it off.
  bool handle_signals = true;
};

class LiveRun {
 public:
  // Call before any other thread starts (signal mask). Errors: bad
  // options, an events file that cannot be created, a bad webhook URL, a
  // metrics port in use.
  static absl::StatusOr<std::unique_ptr<LiveRun>> Start(const LiveRunOptions& options,
                                                        Clock* clock = Clock::Real());
  // Calls Finish().
  ~LiveRun();

  StopFlag* stop() { return &stop_; }
  ClientMetrics* metrics() { return &metrics_; }
  // The /metrics port; -1 when not serving.
  int metrics_port() const { return server_ ? server_->port() : -1; }

  StreamStats* AddStream(const std::string& name) { return metrics_.AddStream(name); }
  // `stage` wrapped to be counted under `name` (owned by this object).
  models::ModelStage* Meter(const std::string& name, models::ModelStage* stage);
  // The stream's source stack over `first`, opened with `options`.
  // InvalidArgument for flags that do not fit the source (e.g. --realtime
  // on a URL, --reconnect-s on a file).
  absl::StatusOr<std::unique_ptr<LiveSource>> WrapSource(
      std::unique_ptr<video::FrameSource> first, const video::FrameSourceOptions& options,
      StreamStats* stats);
  std::unique_ptr<LiveRows> MakeRows(const std::string& stream, double fps, StreamStats* stats);

  // Drains the webhook (bounded), stops the metrics server and logs the
  // webhook's counters. Idempotent.
  void Finish();

 private:
  LiveRun(const LiveRunOptions& options, Clock* clock);

  const LiveRunOptions options_;
  Clock* const clock_;
  StopFlag stop_;
  std::unique_ptr<SignalStop> signals_;
  ClientMetrics metrics_;
  std::vector<std::unique_ptr<MeteredStage>> stages_;
  std::unique_ptr<JsonLinesEventSink> events_file_;
  std::unique_ptr<WebhookEventSink> webhook_;
  std::unique_ptr<serving::http::HttpServer> server_;
  bool finished_ = false;
};

}  // namespace dnoscope::live
