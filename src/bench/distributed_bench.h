// The distributed cascade's acceptance experiments (issue 5), run in this
// process against label-replay model servers on 127.0.0.1 (port 0):
//
//  client   the edge client is not the bottleneck: decode-only frames/s of a
//           video vs the cascade's frames/s over the same video with both
//           model stages remote at zero service time (goal >= 0.8).
//  scaling  every frame goes to N_S reference servers that each serve one
//           request at a time for T_sc: speedup and efficiency over N_S = 1
//           (goal >= 0.9), and total latency against the bound
//           T_n + ceil(N_R / N_S) * T_sc (goal within 10%).
//  balance  one of N_S reference servers is slow_factor times slower:
//           reference request latency p50/p90/p99 and wall time under each
//           balancing policy.
//
// Each run also cross-checks the cascade's own counters (bench/cascade_run.h)
// and reports what disagrees as failed checks.
//
// Thread-safety: the Run* functions block; call them from one thread.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "bench/scenario.h"
#include "bench/workload.h"
#include "cascade/stage_requests.h"
#include "client/http_client.h"
#include "client/load_balancer.h"

namespace dnoscope::bench {

struct ClientBenchOptions {
  // Video; empty: a synthetic scene of size.frames frames.
  std::string video;
  // The synthetic scene, or the first size.frames frames of `video` (0: all).
  VideoSize size{1500, 640, 360};
  // Share of frames the replay classifier is unsure about, which the
  // thresholds (c_low 0.2, c_high 0.8) send on to the reference.
  double uncertain_share = 0.25;
  // Specialized requests carry up to this many frames (client batching).
  int specialized_batch = 8;
  std::chrono::microseconds specialized_batch_delay{2000};
  cascade::PayloadFormat payload = cascade::PayloadFormat::kRaw;
};

struct ScalingBenchOptions {
  // N_S values, one run each.
  std::vector<int> servers = {1, 2, 4, 8};
  // The synthetic video; every frame is a reference request (N_R = frames).
  // The replay model ignores the pixels; they are still sent (the payload).
  VideoSize size{200, 320, 180};
  // T_sc, per request.
  double service_ms = 40;
  cascade::PayloadFormat payload = cascade::PayloadFormat::kRaw;
  // Client in-flight limits: per endpoint, and frames in the model stages
  // (0: 16 per server, so that no server ever waits for the client).
  int max_in_flight_per_endpoint = 64;
  int max_model_frames = 0;
};

struct BalanceBenchOptions {
  // Reference servers; the last is slow_factor times slower.
  int servers = 4;
  double slow_factor = 3;
  // Service time of the normal servers.
  double service_ms = 20;
  VideoSize size{400, 320, 180};
  cascade::PayloadFormat payload = cascade::PayloadFormat::kRaw;
  std::vector<client::BalancePolicy> policies = {client::BalancePolicy::kRandom,
                                                 client::BalancePolicy::kPowerOfTwo};
  // Large per-endpoint limit and a shared window: the policy, not the
  // limit, decides where requests go (as in the seed's asyncio client).
  int max_in_flight_per_endpoint = 64;
  int max_model_frames = 64;
};

// One GET /v2/health/ready to `endpoint`: Unavailable unless it answers
// 200; the client's errors.
absl::Status ReadyRoundTrip(client::HttpClient& http, const client::Endpoint& endpoint);

// Mean round trip of GET /v2/health/ready to `endpoint` over `calls` calls
// after 10 for warm-up, in seconds: the loopback part of T_n. Unavailable
// when the server is not ready; the client's errors.
absl::StatusOr<double> MeasureLoopbackRtt(const client::Endpoint& endpoint, int calls);

// Tables: "client" (figures: decode-only and cascade frames/s, their ratio
// with its goal, CPU), "client_stages" (per stage). InvalidArgument for bad
// options; errors preparing the workload, starting the servers or from the
// run (which names the failing frame).
absl::StatusOr<ScenarioResult> RunClientBench(const ClientBenchOptions& options,
                                              const ScenarioEnv& env);
// Tables: "scaling" (one row per N_S: wall, frames/s, reference latency,
// speedup, efficiency, bound, wall / bound), "scaling_goals". Errors as
// RunClientBench.
absl::StatusOr<ScenarioResult> RunScalingBench(const ScalingBenchOptions& options,
                                               const ScenarioEnv& env);
// Table "balance": one row per policy (wall, frames/s, reference latency,
// requests_<i> per server i, the slow one last). Errors as RunClientBench.
absl::StatusOr<ScenarioResult> RunBalanceBench(const BalanceBenchOptions& options,
                                               const ScenarioEnv& env);

}  // namespace dnoscope::bench
