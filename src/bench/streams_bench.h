// `dnoscope bench streams`: many cameras through one client process. N
// synthetic streams (different scenes, same size) run together through
// streams::MultiStreamRun over one pair of remote stages on a zero-cost
// replay server in this process (127.0.0.1): the client's own cost (decode,
// difference detector, requests) sets the pace. Measured in one run:
//
//  1. decode-only   the N inputs decoded and resized at once, one thread
//                   each (cascade::MeasureDecodeOnly): the physical limit
//                   (the faster of a pass before and one after the cascades);
//  2. merged        the N cascades, specialized requests merged across
//                   streams by a models::BatchingStage;
//  3. unmerged      the same without merging (each stream's requests go to
//                   the stage as they are).
//
// Reports aggregate frames/s, its ratio to the decode-only rate (target
// >= 0.8) and the mean number of frames per specialized request the stage
// sends, and the process CPU time per frame of each run (on a machine
// shared with other work the wall-clock ratio depends on how the scheduler
// splits the cores; the CPU ratio does not). Every stream's rows must be the same in both cascade runs.
//
// Thread-safety: RunStreamsBench blocks; call it from one thread.
#pragma once

#include "absl/status/statusor.h"
#include "bench/scenario.h"
#include "bench/workload.h"

namespace dnoscope::bench {

struct StreamsBenchOptions {
  // Streams run at once (>= 1).
  int streams = 8;
  // Each stream's synthetic scene.
  VideoSize size{300, 640, 360};
  // Share of frames the replay classifier is unsure about (they go on to
  // the reference).
  double uncertain_share = 0.25;
  // Cross-stream merging of specialized requests.
  int stream_batch = 16;
  double stream_batch_delay_ms = 1;
};

// Table "streams": one row per run (decode-only, merged, unmerged) with
// frames, wall time, aggregate frames/s, ratio to decode-only, specialized
// requests sent and frames per request. InvalidArgument for bad options;
// errors rendering the scenes, starting the server or running.
absl::StatusOr<ScenarioResult> RunStreamsBench(const StreamsBenchOptions& options,
                                               const ScenarioEnv& env);

}  // namespace dnoscope::bench
