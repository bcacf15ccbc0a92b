// The seed's Table 1, and the tables, CSV and JSON of `bench table1`.
#include <algorithm>
#include <cmath>
#include <iterator>
#include <string>

#include "bench/table1_bench.h"
#include "fmt/format.h"
#include "nlohmann/json.hpp"

namespace dnoscope::bench {
namespace {

using Json = nlohmann::ordered_json;

constexpr int kSeedServers[] = {1, 2, 4, 8};

std::vector<int64_t> RowsOf(const Table1Result& r) {
  std::vector<int64_t> rows;
  for (const Table1Cell& c : r.cells) {
    if (std::find(rows.begin(), rows.end(), c.frames) == rows.end()) rows.push_back(c.frames);
  }
  return rows;
}

std::vector<int> ServersOf(const Table1Result& r) {
  std::vector<int> servers;
  for (const Table1Cell& c : r.cells) {
    if (std::find(servers.begin(), servers.end(), c.servers) == servers.end()) {
      servers.push_back(c.servers);
    }
  }
  std::sort(servers.begin(), servers.end());
  return servers;
}

const Table1Cell* FindCell(const Table1Result& r, int64_t frames, int servers) {
  for (const Table1Cell& c : r.cells) {
    if (c.frames == frames && c.servers == servers) return &c;
  }
  return nullptr;
}

// N_F x N_S grid: "measured / seed x scale / bound" in each cell.
std::string LatencyGrid(const Table1Result& r) {
  const std::vector<int> servers = ServersOf(r);
  std::string out = fmt::format("{:>5} {:>4}", "N_F", "N_R");
  for (int n : servers) out += fmt::format("  {:>22}", fmt::format("N_S={} meas/seed/bound", n));
  out += "\n";
  for (int64_t frames : RowsOf(r)) {
    const Table1Cell* first = FindCell(r, frames, servers.front());
    out += fmt::format("{:>5} {:>4}", frames, first ? first->reference_frames : 0);
    for (int n : servers) {
      const Table1Cell* c = FindCell(r, frames, n);
      if (c == nullptr) {
        out += fmt::format("  {:>22}", "-");
        continue;
      }
      const std::string seed =
          c->seed_seconds > 0 ? fmt::format("{:.1f}", c->seed_seconds) : std::string("-");
      out += fmt::format("  {:>22}",
                         fmt::format("{:.2f}/{}/{:.2f}", c->wall_seconds, seed, c->bound_seconds));
    }
    out += "\n";
  }
  return out;
}

std::string DetailTable(const Table1Result& r) {
  std::string out = fmt::format(
      "{:>5} {:>4} {:>3} {:>8} {:>8} {:>8} {:>7} {:>7} | {:>7} {:>7} {:>8} {:>7} {:>6} {:>5} "
      "{:>7}\n",
      "N_F", "N_R", "N_S", "meas s", "seed s", "bound s", "m/bound", "m/seed", "T_n s", "T_cq s",
      "T_sq s", "T_sc s", "cq/tot", "busy", "req/srv");
  for (const Table1Cell& c : r.cells) {
    const std::string seed =
        c.seed_seconds > 0 ? fmt::format("{:.2f}", c.seed_seconds) : std::string("-");
    const std::string over_seed =
        c.seed_seconds > 0 ? fmt::format("{:.3f}", c.wall_over_seed) : std::string("-");
    out += fmt::format(
        "{:>5} {:>4} {:>3} {:>8.2f} {:>8} {:>8.2f} {:>7.3f} {:>7} | {:>7.4f} {:>7.4f} {:>8.3f} "
        "{:>7.4f} {:>5.2f}% {:>4.0f}% {:>7}\n",
        c.frames, c.reference_frames, c.servers, c.wall_seconds, seed, c.bound_seconds,
        c.wall_over_bound, over_seed, c.t_n, c.t_cq, c.t_sq, c.t_sc, 100 * c.t_cq_share,
        100 * c.server_busy, fmt::format("{}-{}", c.min_server_requests, c.max_server_requests));
  }
  return out;
}

std::string Goals(const Table1Result& r) {
  const Table1Cell* worst_bound = nullptr;
  for (const Table1Cell& c : r.cells) {
    if (!worst_bound ||
        std::abs(c.wall_over_bound - 1) > std::abs(worst_bound->wall_over_bound - 1)) {
      worst_bound = &c;
    }
  }
  std::string out;
  if (worst_bound != nullptr) {
    const bool ok = std::abs(worst_bound->wall_over_bound - 1) <= kTable1BoundTolerance;
    out += fmt::format(
        "goal: every cell within {:.0f}% of the bound: {} (worst N_F={} N_S={}: {:.3f}x)\n",
        100 * kTable1BoundTolerance, ok ? "MET" : "NOT MET", worst_bound->frames,
        worst_bound->servers, worst_bound->wall_over_bound);
  }
  const Table1Cell* worst_seed = nullptr;
  for (const Table1Cell& c : r.cells) {
    if (c.servers == 8 && c.seed_seconds > 0 &&
        (!worst_seed || c.wall_over_seed > worst_seed->wall_over_seed)) {
      worst_seed = &c;
    }
  }
  if (worst_seed == nullptr) {
    out += "goal: at N_S=8 every row <= 0.35x the seed: not measured (no N_S=8 column)\n";
  } else {
    out += fmt::format(
        "goal: at N_S=8 every row <= {:.2f}x the seed's scaled value: {} (worst N_F={}: "
        "{:.3f}x)\n",
        kTable1Ns8OverSeedGoal,
        worst_seed->wall_over_seed <= kTable1Ns8OverSeedGoal ? "MET" : "NOT MET",
        worst_seed->frames, worst_seed->wall_over_seed);
  }
  double max_share = 0;
  for (const Table1Cell& c : r.cells) max_share = std::max(max_share, c.t_cq_share);
  out += fmt::format("client queueing T_cq: at most {:.2f}% of a cell's total latency\n",
                     100 * max_share);
  return out;
}

Json CellJson(const Table1Cell& c) {
  return {{"frames", c.frames},
          {"reference_frames", c.reference_frames},
          {"servers", c.servers},
          {"wall_seconds", c.wall_seconds},
          {"seed_seconds_scaled", c.seed_seconds > 0 ? Json(c.seed_seconds) : Json(nullptr)},
          {"bound_seconds", c.bound_seconds},
          {"wall_over_bound", c.wall_over_bound},
          {"wall_over_seed", c.seed_seconds > 0 ? Json(c.wall_over_seed) : Json(nullptr)},
          {"t_n_seconds", c.t_n},
          {"t_cq_seconds", c.t_cq},
          {"t_sq_seconds", c.t_sq},
          {"t_sc_seconds", c.t_sc},
          {"client_latency_seconds", c.client_latency},
          {"server_request_seconds", c.server_request},
          {"t_cq_share", c.t_cq_share},
          {"server_busy", c.server_busy},
          {"seed_model_seconds", c.seed_model_seconds},
          {"client_requests", c.client_requests},
          {"server_requests", c.server_requests},
          {"min_server_requests", c.min_server_requests},
          {"max_server_requests", c.max_server_requests},
          {"decode_seconds", c.decode_seconds},
          {"cpu_seconds", c.cpu_seconds},
          {"checks", c.checks}};
}

}  // namespace

const std::vector<SeedTable1Row>& SeedTable1() {
  static const std::vector<SeedTable1Row> kRows = {
      {50, 22, {66, 47, 38, 38}},          {500, 49, {147, 113, 89, 74}},
      {1000, 117, {360, 237, 202, 186}},   {2000, 170, {521, 390, 305, 267}},
      {5000, 569, {1692, 1201, 984, 875}},
  };
  return kRows;
}

double SeedTable1Seconds(int64_t frames, int servers) {
  for (const SeedTable1Row& row : SeedTable1()) {
    if (row.frames != frames) continue;
    for (size_t i = 0; i < std::size(kSeedServers); ++i) {
      if (kSeedServers[i] == servers) return row.seconds[i];
    }
  }
  return -1;
}

std::string FormatTable1Bench(const Table1Result& r) {
  std::string out = fmt::format(
      "time scale {}: T_sc = {:.4f} s (seed 2.97 s, one request at a time per server), "
      "network {:.4f} s (seed 0.2 s)\n"
      "network emulation: {}\n"
      "video: {} ({}x{}), decoded for real; difference detector off; specialized stage local "
      "(zero-cost replay classifier unsure about exactly N_R frames, spread evenly); reference: "
      "N_S replay servers, {} balancing, {} frames\n"
      "bound = T_n + ceil(N_R/N_S) x T_sc with T_n = network delay + loopback RTT = {:.4f} s\n\n",
      r.time_scale, r.service_seconds, r.network_delay_seconds, r.network_emulation, r.video,
      r.width, r.height, r.balance_policy, r.payload,
      r.network_delay_seconds + r.loopback_rtt_seconds);
  out += "Total latency, seconds (measured / seed x time scale / bound):\n";
  out += LatencyGrid(r) + "\n";
  out += DetailTable(r);
  out +=
      "\nColumns, per reference request (means): T_n = emulated network delay + loopback RTT;\n"
      "T_cq = client submit->reply minus the server's request time minus the loopback RTT (time\n"
      "spent in the client and in HTTP handling); T_sq = server queue wait and T_sc = service\n"
      "time, both from the servers' Triton-style /metrics counters "
      "(nv_inference_queue_duration_us,\n"
      "nv_inference_compute_infer_duration_us); cq/tot = T_cq / measured total latency; busy =\n"
      "servers' service time / (N_S x measured); req/srv = fewest-most requests one server "
      "got.\n\n";
  out += Goals(r);
  out += fmt::format("scenario wall time: {:.1f} s\n", r.total_seconds);
  for (const Table1Cell& c : r.cells) {
    for (const std::string& check : c.checks) {
      out += fmt::format("CHECK FAILED (N_F={} N_S={}): {}\n", c.frames, c.servers, check);
    }
  }
  return out;
}

std::string Table1Csv(const Table1Result& r) {
  std::string out =
      "frames,reference_frames,servers,time_scale,wall_seconds,seed_seconds_scaled,bound_seconds,"
      "wall_over_bound,wall_over_seed,t_n_seconds,t_cq_seconds,t_sq_seconds,t_sc_seconds,"
      "t_cq_share,server_busy,seed_model_seconds,min_server_requests,max_server_requests,"
      "checks\n";
  for (const Table1Cell& c : r.cells) {
    out += fmt::format(
        "{},{},{},{},{:.4f},{},{:.4f},{:.4f},{},{:.5f},{:.5f},{:.5f},{:.5f},{:.5f},{:.4f},{:.4f},"
        "{},{},{}\n",
        c.frames, c.reference_frames, c.servers, r.time_scale, c.wall_seconds,
        c.seed_seconds > 0 ? fmt::format("{:.4f}", c.seed_seconds) : "", c.bound_seconds,
        c.wall_over_bound, c.seed_seconds > 0 ? fmt::format("{:.4f}", c.wall_over_seed) : "", c.t_n,
        c.t_cq, c.t_sq, c.t_sc, c.t_cq_share, c.server_busy, c.seed_model_seconds,
        c.min_server_requests, c.max_server_requests, c.checks.size());
  }
  return out;
}

std::string Table1Json(const Table1Result& r) {
  Json cells = Json::array();
  for (const Table1Cell& c : r.cells) cells.push_back(CellJson(c));
  Json seed = Json::array();
  for (const SeedTable1Row& row : SeedTable1()) {
    seed.push_back({{"frames", row.frames},
                    {"reference_frames", row.reference_frames},
                    {"seconds_ns1_2_4_8", row.seconds}});
  }
  Json j = {{"time_scale", r.time_scale},
            {"service_seconds", r.service_seconds},
            {"network_delay_seconds", r.network_delay_seconds},
            {"loopback_rtt_seconds", r.loopback_rtt_seconds},
            {"network_emulation", r.network_emulation},
            {"balance_policy", r.balance_policy},
            {"payload", r.payload},
            {"video", r.video},
            {"width", r.width},
            {"height", r.height},
            {"total_seconds", r.total_seconds},
            {"goal_bound_tolerance", kTable1BoundTolerance},
            {"goal_ns8_over_seed", kTable1Ns8OverSeedGoal},
            {"seed_table1", seed},
            {"cells", cells}};
  return j.dump(2) + "\n";
}

}  // namespace dnoscope::bench
