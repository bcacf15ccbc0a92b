// The live-run options (--realtime, --max-lateness-ms, --reconnect-s,
// --events, --events-url, --metrics-port, --metrics-host), shared by every
// command that runs streams. They fill live::LiveRunOptions directly.
#pragma once

#include "CLI/CLI.hpp"
#include "live/live_run.h"

namespace dnoscope::app {

void AddLiveOptions(CLI::App* sub, live::LiveRunOptions* options);

}  // namespace dnoscope::app
