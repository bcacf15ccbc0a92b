#include "live_options.h"

namespace dnoscope::app {

void AddLiveOptions(CLI::App* sub, live::LiveRunOptions* o) {
  const char* group = "Live streams, events and metrics";
  sub->add_flag("--realtime", o->realtime,
                "Pace a video file at its frame rate, as if it were live (lateness is then "
                "measured against that schedule)")
      ->group(group);
  sub->add_option("--max-lateness-ms", o->max_lateness_ms,
                  "Drop frames that enter the cascade more than this late (live sources or "
                  "--realtime): a dropped frame goes to no model and is written with status "
                  "'dropped' and the previous row's label (0: never drop)")
      ->group(group)
      ->check(CLI::Range(0.0, 3600000.0))
      ->capture_default_str();
  sub->add_option("--reconnect-s", o->reconnect_s,
                  "A live URL that errors, ends or goes silent (10 s read timeout) is reopened "
                  "with exponential back-off (0.5 s doubling, at most 10 s between attempts) for "
                  "up to this many seconds of outage, then the run fails; default: forever. 0: "
                  "never reconnect. Files are never reopened")
      ->group(group)
      ->check(CLI::Range(0.0, 1e9));
  sub->add_option("--events", o->events,
                  "Write a JSON line each time the query's answer changes (object appeared / "
                  "left): stream, frame, stream time, wall time, deciding stage, confidence. "
                  "'-' for stdout")
      ->group(group);
  sub->add_option("--events-url", o->events_url,
                  "POST the same JSON events to this http://host:port/path webhook (retried "
                  "with back-off; a bounded queue drops the oldest events when full; never "
                  "slows the cascade)")
      ->group(group);
  sub->add_option("--metrics-port", o->metrics_port,
                  "Serve Prometheus metrics on http://HOST:PORT/metrics during the run (per "
                  "stream frames by status, frames/s, lateness, reconnects; per stage and "
                  "server requests, failures, latency, in flight). 0: a free port (logged)")
      ->group(group)
      ->check(CLI::Range(0, 65535));
  sub->add_option("--metrics-host", o->metrics_host,
                  "Address the metrics endpoint binds")
      ->group(group)
      ->capture_default_str();
}

}  // namespace dnoscope::app
