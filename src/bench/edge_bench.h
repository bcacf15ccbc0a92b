// `dnoscope bench edge`: the seed's Figure 4 on this machine. The same
// frames, models, thresholds and emulated model costs run twice:
//
//  one node     every stage in this process, and the two model stages take
//               turns on one node (emulation::TakeTurns): one model request
//               at a time, so their service times add up as on the seed's
//               single edge machine. The real difference detector, a
//               label-replay classifier as the specialized model (the
//               seed's 0.026 s per request x time_scale) and a label-replay
//               detector as the reference (the seed's 4.26 s x time_scale).
//               Decoding and the difference detector are real and overlap
//               with the models.
//  distributed  the same two models on replay servers on 127.0.0.1 (one
//               specialized server, `servers` reference servers, one
//               request at a time each, same costs; the specialized server
//               never merges queued requests), plus the seed's 0.2 s
//               network x time_scale per request, emulated in this process
//               on the client side (emulation::DelayedStage: every reply
//               reaches the cascade that much later; the server is free
//               meanwhile).
//
// Both runs must give the same rows (checked). The result has both wall
// times, their ratio next to the seed's 784 s vs 142 s (5.52x), and the
// ideal ratio from the counts of requests, which says what limits it.
//
// Thread-safety: RunEdgeBench blocks; call it from one thread.
#pragma once

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "bench/scenario.h"
#include "bench/seed.h"
#include "bench/workload.h"
#include "cascade/stage_requests.h"

namespace dnoscope::bench {

struct EdgeBenchOptions {
  // The synthetic video (the seed's 500 frames).
  VideoSize size{kSeedEdgeFrames, 640, 360};
  // Multiplies the seed's model costs and network delay (not the real
  // decoding and difference detector).
  double time_scale = 0.1;
  // Reference servers of the distributed run.
  int servers = 4;
  // Share of frames the replay classifier is unsure about (c = 0.5, between
  // c_low 0.2 and c_high 0.8), which then go to the reference. The default
  // makes the one-node time close to the seed's 784 s x time_scale.
  double uncertain_share = 0.58;
  // Difference detector (global MSE at 100x100 against the last frame a
  // model labeled): a frame is reused when its MSE is at most this.
  double diff_threshold = 12;
  // Frames per specialized request in the distributed run (1: the seed's
  // one frame per request; the one-node run always sends one).
  int specialized_batch = 1;
  // How frames travel to the reference servers.
  cascade::PayloadFormat payload = cascade::PayloadFormat::kRaw;
};

// Tables: "edge" (one row per run: wall time, the seed's x time_scale,
// requests per stage, rows per status, CPU), "edge_figures" (the ratio,
// the seed's, the ideal one from the counts and what limits it) and
// "edge_stages" (the distributed run's stages). InvalidArgument for bad
// options; errors preparing the workload, starting the servers or from
// either run.
absl::StatusOr<ScenarioResult> RunEdgeBench(const EdgeBenchOptions& options,
                                            const ScenarioEnv& env);

}  // namespace dnoscope::bench
