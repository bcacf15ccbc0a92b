// `dnoscope bench table1`: the seed paper's Table 1 on this machine. Total
// latency of the distributed cascade over N_F frames of which N_R go to the
// reference stage, against N_S reference servers, for the seed's grid
// (N_F = 50 ... 5000, N_R from the seed's column, N_S = 1, 2, 4, 8).
//
// Emulation (everything in this process, on 127.0.0.1):
//  - reference: N_S label-replay servers, one request at a time each
//    (instance_count 1), service time T_sc = 2.97 s x time_scale (the seed's
//    N_S = 1 column: 569 requests in 1692 s);
//  - network: the seed's 0.2 s x time_scale per request, added on the client
//    side by delaying every reference completion (emulation::DelayedStage),
//    on top of the real loopback round trip;
//  - frames: the first N_F frames of a synthetic video, decoded for real;
//    difference detector off; the specialized stage is a local zero-cost
//    replay classifier unsure about exactly N_R frames spread evenly over
//    the N_F, which therefore go to the reference. Decoding, cropping and
//    the specialized stage are real and not scaled.
//
// Each cell reports the wall time of the cascade run, the seed's value
// scaled by time_scale, the bound T_n + ceil(N_R / N_S) x T_sc and the
// decomposition of the reference requests' latency.
//
// Thread-safety: RunTable1Bench blocks; call it from one thread.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "bench/scenario.h"
#include "bench/seed.h"
#include "cascade/stage_requests.h"
#include "client/load_balancer.h"

namespace dnoscope::bench {

// Acceptance goals: every cell within 15% of the bound; at N_S = 8 every
// row at most 0.35x the seed's scaled value.
inline constexpr double kTable1BoundTolerance = 0.15;
inline constexpr double kTable1Ns8OverSeedGoal = 0.35;

struct Table1Options {
  // Multiplies the seed's service time and network delay (not the real
  // decoding and cheap stages).
  double time_scale = 0.1;
  // N_F values; each must be one of the seed's rows (N_R comes from it).
  std::vector<int64_t> rows = {50, 500, 1000, 2000, 5000};
  // N_S values.
  std::vector<int> servers = {1, 2, 4, 8};
  // Synthetic video size.
  int width = 320;
  int height = 180;
  // How the client spreads reference requests over the servers.
  client::BalancePolicy policy = client::BalancePolicy::kRoundRobin;
  // How frames travel to the reference.
  cascade::PayloadFormat payload = cascade::PayloadFormat::kRaw;
};

// Runs the grid, N_S outer (one fleet of servers per N_S), N_F inner.
// Tables: "table1" (one row per cell: measured, seed x time_scale, bound,
// their ratios and the decomposition of a reference request's latency,
// see its notes), "table1_grid" (N_F x N_S, measured and seed) and
// "table1_goals". InvalidArgument for a time_scale outside (0, 100], an N_F
// the seed has no row for, an N_S < 1 or a video under 16x16; errors
// preparing the workload, starting the servers or from a cascade run.
absl::StatusOr<ScenarioResult> RunTable1Bench(const Table1Options& options,
                                              const ScenarioEnv& env);

}  // namespace dnoscope::bench
