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
//    side by delaying every reference completion (emulation::DelayedStage), on top of
//    the real loopback round trip;
//  - frames: the first N_F frames of a synthetic video, decoded for real;
//    difference detector off; the specialized stage is a local zero-cost
//    replay classifier unsure about exactly N_R frames spread evenly over
//    the N_F, which therefore go to the reference. Decoding, cropping and
//    the specialized stage are real and not scaled.
//
// Each cell reports the wall time of AsyncCascade::Run, the seed's value
// scaled by time_scale, the bound T_n + ceil(N_R / N_S) x T_sc and the
// decomposition of the reference requests' latency (see Table1Cell).
//
// Thread-safety: RunTable1Bench blocks; call it from one thread.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "bench/distributed_bench.h"
#include "client/load_balancer.h"

namespace dnoscope::bench {

// One row of the seed's Table 1: N_F, N_R and the total latency in seconds
// for N_S = 1, 2, 4, 8.
struct SeedTable1Row {
  int64_t frames = 0;
  int64_t reference_frames = 0;
  std::array<double, 4> seconds{};
};

// The seed's five rows, N_F ascending.
const std::vector<SeedTable1Row>& SeedTable1();
// The seed's latency for (N_F, N_S) in seconds; < 0 when it has none.
double SeedTable1Seconds(int64_t frames, int servers);

// The seed's per-request reference service time implied by its N_S = 1
// column, and its network latency per request.
inline constexpr double kSeedServiceSeconds = 2.97;
inline constexpr double kSeedNetworkSeconds = 0.2;

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
  // "raw", "jpeg" or "png": how frames travel to the reference.
  std::string payload = "raw";
  std::string scratch_dir;
  BenchProgress progress;
};

struct Table1Cell {
  int64_t frames = 0;            // N_F
  int64_t reference_frames = 0;  // N_R
  int servers = 0;               // N_S
  // Wall time of AsyncCascade::Run (decode of the first frame to the last
  // row), seconds.
  double wall_seconds = 0;
  // The seed's latency x time_scale; < 0 when the seed has no such cell.
  double seed_seconds = -1;
  // T_n + ceil(N_R / N_S) x T_sc with the nominal T_sc.
  double bound_seconds = 0;
  double wall_over_bound = 0;
  // wall / seed_seconds; 0 without a seed value.
  double wall_over_seed = 0;
  // Decomposition, seconds per reference request (means):
  //  t_n:  network round trip: the emulated delay + the measured loopback
  //        round trip of GET /v2/health/ready.
  //  t_cq: client-side queueing and transport: (client submit -> reply)
  //        - (server request time) - loopback round trip. Submit is when
  //        the cascade hands the request to the reference stage, so this
  //        is the time the request waited in the client (in-flight
  //        limits, encoding, connection) plus HTTP handling on both sides.
  //  t_sq: server queueing: scheduler submit -> model start, from the
  //        servers' nv_inference_queue_duration_us (GET /metrics).
  //  t_sc: service: nv_inference_compute_infer_duration_us / exec_count.
  double t_n = 0;
  double t_cq = 0;
  double t_sq = 0;
  double t_sc = 0;
  // Mean client submit -> reply (without the emulated delay), and the
  // servers' mean request time (queue + service).
  double client_latency = 0;
  double server_request = 0;
  // t_cq / wall_seconds: what client queueing adds to the total latency.
  double t_cq_share = 0;
  // Sum of service time over N_S x wall: how busy the servers were.
  double server_busy = 0;
  // The seed's fitted model with the measured terms:
  // t_n + t_cq + (N_R - N_S) / N_S x t_sc + t_sc.
  double seed_model_seconds = 0;
  // Reference requests as the client and the servers counted them, and the
  // fewest and most requests one server got.
  int64_t client_requests = 0;
  int64_t server_requests = 0;
  int64_t min_server_requests = 0;
  int64_t max_server_requests = 0;
  // Decoding time inside the run and the process CPU time during it.
  double decode_seconds = 0;
  double cpu_seconds = 0;
  // Disagreements (wrong N_R, missing rows, failed requests); empty when
  // everything adds up.
  std::vector<std::string> checks;
};

struct Table1Result {
  double time_scale = 0;
  double service_seconds = 0;        // T_sc, nominal
  double network_delay_seconds = 0;  // emulated part of T_n
  double loopback_rtt_seconds = 0;   // measured part of T_n
  // How the network was emulated, for the report.
  std::string network_emulation;
  std::string balance_policy;
  std::string payload;
  std::string video;
  int width = 0;
  int height = 0;
  // Wall time of the whole scenario (workload preparation included).
  double total_seconds = 0;
  std::vector<Table1Cell> cells;
};

// Runs the grid, N_S outer (one fleet of servers per N_S), N_F inner.
// InvalidArgument for a time_scale <= 0, an N_F the seed has no row for,
// an N_S < 1 or a bad payload; errors preparing the workload, starting the
// servers or from a cascade run (which names the failing frame).
absl::StatusOr<Table1Result> RunTable1Bench(const Table1Options& options);

// Acceptance goals: every cell within 15% of the bound; at N_S = 8 every
// row at most 0.35x the seed's scaled value.
inline constexpr double kTable1BoundTolerance = 0.15;
inline constexpr double kTable1Ns8OverSeedGoal = 0.35;

// Plain-text tables (latency grid, per-cell detail, goals), CSV (header +
// one line per cell) and JSON.
std::string FormatTable1Bench(const Table1Result& result);
std::string Table1Csv(const Table1Result& result);
std::string Table1Json(const Table1Result& result);

}  // namespace dnoscope::bench
