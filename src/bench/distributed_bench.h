// The distributed cascade's acceptance experiments (issue 5), run in this
// process against label-replay model servers on 127.0.0.1 (port 0):
//
//  client   the edge client is not the bottleneck: decode-only frames/s of a
//           video vs the AsyncCascade's frames/s over the same video with
//           both model stages remote at zero service time (goal >= 0.8).
//  scaling  every frame goes to N_S reference servers that each serve one
//           request at a time for T_sc: speedup and efficiency over N_S = 1
//           (goal >= 0.9), and total latency against the bound
//           T_n + ceil(N_R / N_S) * T_sc (goal within 10%).
//  balance  one of N_S reference servers is slow_factor times slower:
//           reference request latency p50/p90/p99 and wall time under random
//           and power-of-two-choices balancing.
//
// Each run also cross-checks the cascade's own counters (rows, statuses,
// per-stage requests and frames) and lists what disagrees in `checks`.
//
// Thread-safety: the Run* functions block; call them from one thread.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "client/load_balancer.h"
#include "cascade/summary.h"
#include "labels/prediction_csv.h"

namespace dnoscope::bench {

// Progress lines ("scaling N_S=4: 2.1 s"); may be empty.
using BenchProgress = std::function<void(const std::string&)>;

// What one AsyncCascade run measured.
struct CascadeRunStats {
  int64_t frames = 0;
  double wall_seconds = 0;
  double frames_per_second = 0;
  // CPU time of the whole process during the run (the in-process servers
  // included); cpu_seconds / wall_seconds near the core count means the
  // machine, not the cascade's design, set the pace.
  double cpu_seconds = 0;
  // Time the caller's thread spent in FrameSource::Next during the run (the
  // cascade summary's stage_seconds.decode); near wall_seconds means the
  // decoder never waited for the stages.
  double decode_seconds = 0;
  std::array<int64_t, labels::kNumFrameStatuses> status_counts{};
  cascade::RunReport report;
  // Inconsistencies between the rows seen and the cascade's summary and
  // report (e.g. "reference frames 120 != reference rows 118"); empty when
  // everything agrees.
  std::vector<std::string> checks;
};

struct ClientBenchOptions {
  // Video; empty: a synthetic scene of `frames` frames at width x height.
  std::string video;
  // Frames (of a given video: the first ones; 0 = all).
  int64_t frames = 1500;
  int width = 640;
  int height = 360;
  // Share of frames the replay classifier is unsure about, which the
  // thresholds (c_low 0.2, c_high 0.8) send on to the reference.
  double uncertain_share = 0.25;
  // Specialized requests carry up to this many frames (client batching).
  int specialized_batch = 8;
  std::chrono::microseconds specialized_batch_delay{2000};
  std::string payload = "raw";
  std::string scratch_dir;
  BenchProgress progress;
};

struct ClientBenchResult {
  std::string video;
  int width = 0;
  int height = 0;
  // Decode-only frames/s (decode + difference resize) before and after the
  // cascade run, and their mean.
  double decode_only_before = 0;
  double decode_only_after = 0;
  double decode_only_frames_per_second = 0;
  CascadeRunStats run;
  // run.frames_per_second / decode_only_frames_per_second (goal >= 0.8).
  double ratio = 0;
};

struct ScalingBenchOptions {
  std::vector<int> servers = {1, 2, 4, 8};
  int64_t frames = 200;
  double service_ms = 40;
  // Synthetic video size (the replay model ignores the pixels; they are
  // still sent, so this sets the payload).
  int width = 320;
  int height = 180;
  std::string payload = "raw";
  // Client in-flight limits: per endpoint, and frames in the model stages
  // (0: 16 per server, so that no server ever waits for the client).
  int max_in_flight_per_endpoint = 64;
  int max_model_frames = 0;
  std::string scratch_dir;
  BenchProgress progress;
};

struct ScalingRow {
  int servers = 0;
  CascadeRunStats run;
  double speedup = 0;
  double efficiency = 0;
  // T_n + ceil(N_R / N_S) * T_sc, and run.wall_seconds / bound.
  double bound_seconds = 0;
  double latency_over_bound = 0;
};

struct ScalingBenchResult {
  int64_t frames = 0;
  double service_ms = 0;
  // Mean round trip of GET /v2/health/ready (T_n).
  double network_rtt_ms = 0;
  std::vector<ScalingRow> rows;
};

struct BalanceBenchOptions {
  int servers = 4;
  double slow_factor = 3;
  // Service time of the normal servers.
  double service_ms = 20;
  int64_t frames = 400;
  int width = 320;
  int height = 180;
  std::string payload = "raw";
  std::vector<client::BalancePolicy> policies = {client::BalancePolicy::kRandom,
                                                 client::BalancePolicy::kPowerOfTwo};
  // Large per-endpoint limit and a shared window: the policy, not the
  // limit, decides where requests go (as in the seed's asyncio client).
  int max_in_flight_per_endpoint = 64;
  int max_model_frames = 64;
  std::string scratch_dir;
  BenchProgress progress;
};

struct BalanceRow {
  std::string policy;
  CascadeRunStats run;
  // Reference requests per server, in server order (the slow one last).
  std::vector<int64_t> requests_per_server;
};

struct BalanceBenchResult {
  int servers = 0;
  double service_ms = 0;
  double slow_service_ms = 0;
  int64_t frames = 0;
  std::vector<BalanceRow> rows;
};

// InvalidArgument for bad options; errors preparing the workload, starting
// the servers or from the cascade run (which names the failing frame).
absl::StatusOr<ClientBenchResult> RunClientBench(const ClientBenchOptions& options);
absl::StatusOr<ScalingBenchResult> RunScalingBench(const ScalingBenchOptions& options);
absl::StatusOr<BalanceBenchResult> RunBalanceBench(const BalanceBenchOptions& options);

// Plain-text tables with the goals, CSV (header + one line per row) and JSON.
std::string FormatClientBench(const ClientBenchResult& result);
std::string ClientBenchCsv(const ClientBenchResult& result);
std::string ClientBenchJson(const ClientBenchResult& result);
std::string FormatScalingBench(const ScalingBenchResult& result);
std::string ScalingBenchCsv(const ScalingBenchResult& result);
std::string ScalingBenchJson(const ScalingBenchResult& result);
std::string FormatBalanceBench(const BalanceBenchResult& result);
std::string BalanceBenchCsv(const BalanceBenchResult& result);
std::string BalanceBenchJson(const BalanceBenchResult& result);

}  // namespace dnoscope::bench
