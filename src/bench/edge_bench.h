// `dnoscope bench edge`: the seed's Figure 4 on this machine. The same
// frames, models, thresholds and emulated model costs run twice:
//
//  one node     the local cascade (cascade::Cascade), every stage in this
//               process and in series on its worker thread: the real
//               difference detector, a label-replay classifier as the
//               specialized model (the seed's 0.026 s per request x
//               time_scale) and a label-replay detector as the reference
//               (the seed's 4.26 s per request x time_scale);
//  distributed  the AsyncCascade with the same two models on replay servers
//               on 127.0.0.1 (one specialized server, `servers` reference
//               servers, one request at a time each, same costs; the
//               specialized server never merges queued requests), plus the
//               seed's 0.2 s network x time_scale per request, emulated in
//               this process on the client side (emulation::DelayedStage: every reply
//               reaches the cascade that much later; the server is free
//               meanwhile).
//
// Both runs must give the same rows (checked). The result has both wall
// times, their ratio next to the seed's 784 s vs 142 s (5.52x), and the
// ideal ratio from the counts of requests, which says what limits it.
//
// Thread-safety: RunEdgeBench blocks; call it from one thread.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "bench/distributed_bench.h"
#include "cascade/cascade.h"

namespace dnoscope::bench {

// The seed's per-request costs (section 4.4.1) and Figure 4.
inline constexpr double kSeedSpecializedSeconds = 0.026;
inline constexpr double kSeedReferenceSeconds = 4.26;
inline constexpr double kSeedNetworkDelaySeconds = 0.2;
inline constexpr int64_t kSeedEdgeFrames = 500;
inline constexpr double kSeedOneNodeSeconds = 784;
inline constexpr double kSeedDistributedSeconds = 142;

struct EdgeBenchOptions {
  // Frames of the synthetic video (the seed's 500).
  int64_t frames = kSeedEdgeFrames;
  // Multiplies the seed's model costs and network delay (not the real
  // decoding and difference detector).
  double time_scale = 0.1;
  // Reference servers of the distributed run.
  int servers = 4;
  // Synthetic video size.
  int width = 640;
  int height = 360;
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
  // How frames travel to the reference servers: "raw", "jpeg" or "png".
  std::string payload = "raw";
  std::string scratch_dir;
  BenchProgress progress;
};

// The one-node run (local cascade).
struct EdgeOneNodeRun {
  int64_t frames = 0;
  double wall_seconds = 0;
  double cpu_seconds = 0;
  std::array<int64_t, labels::kNumFrameStatuses> status_counts{};
  // Time in each stage, from the cascade's summary.
  cascade::StageSeconds stage_seconds;
  // Model requests: one per frame that reached the stage.
  int64_t specialized_requests = 0;
  int64_t reference_requests = 0;
};

struct EdgeBenchResult {
  std::string video;
  int width = 0;
  int height = 0;
  int64_t frames = 0;
  double time_scale = 0;
  int servers = 0;
  // Emulated costs (seconds, already scaled) and how the network was emulated.
  double specialized_seconds = 0;
  double reference_seconds = 0;
  double network_delay_seconds = 0;
  std::string network_emulation;
  int specialized_batch = 1;
  std::string payload;
  double diff_threshold = 0;

  EdgeOneNodeRun one_node;
  CascadeRunStats distributed;
  // one_node.wall_seconds / distributed.wall_seconds.
  double ratio = 0;
  // The seed's Figure 4 x time_scale, and its ratio.
  double seed_one_node_seconds = 0;
  double seed_distributed_seconds = 0;
  double seed_ratio = 0;

  // The ideal ratio from the counts: one-node model time
  //   W1 = N_spec x t_spec + N_ref x t_ref
  // over the distributed critical path
  //   B = 2 x t_net + max(spec requests x t_spec, ceil(N_ref / N_S) x t_ref)
  // (the single specialized server and the N_S reference servers work in
  // parallel; a reference frame crosses the network twice).
  double one_node_model_seconds = 0;
  double distributed_bound_seconds = 0;
  double ideal_ratio = 0;
  // ratio / ideal_ratio.
  double ratio_over_ideal = 0;
  // Share of the one-node model time spent in the reference.
  double reference_share = 0;
  // Fewest reference servers whose ideal ratio reaches the seed's 5.52x at
  // these counts (0: none does), and the count past which the specialized
  // server is the critical path, with the ratio there.
  int servers_for_seed_ratio = 0;
  int saturation_servers = 0;
  double saturation_ratio = 0;
  // The sentence on what limits the ratio here.
  std::string limit;
  // Disagreements (rows of the two runs, request counts); empty when fine.
  std::vector<std::string> checks;
  // Wall time of the whole scenario, workload preparation included.
  double total_seconds = 0;
};

// InvalidArgument for bad options; errors preparing the workload, starting
// the servers or from either run.
absl::StatusOr<EdgeBenchResult> RunEdgeBench(const EdgeBenchOptions& options);

// Plain-text table, CSV (header + one line per run) and JSON.
std::string FormatEdgeBench(const EdgeBenchResult& result);
std::string EdgeBenchCsv(const EdgeBenchResult& result);
std::string EdgeBenchJson(const EdgeBenchResult& result);

}  // namespace dnoscope::bench
