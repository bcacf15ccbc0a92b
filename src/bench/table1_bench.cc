#include "bench/table1_bench.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>

#include "absl/status/status.h"
#include "bench/cascade_run.h"
#include "bench/distributed_bench.h"
#include "bench/workload.h"
#include "client/remote_stage.h"
#include "common/clock.h"
#include "common/status_macros.h"
#include "emulation/delayed_stage.h"
#include "fmt/format.h"
#include "models/backends/replay.h"
#include "models/local_stage.h"

namespace dnoscope::bench {
namespace {

using emulation::ReplayFleet;
using Counters = serving::ModelStats::Snapshot;

absl::Status CheckOptions(const Table1Options& o) {
  if (!(o.time_scale > 0) || o.time_scale > 100) {
    return absl::InvalidArgumentError("time_scale must be in (0, 100]");
  }
  if (o.rows.empty() || o.servers.empty()) {
    return absl::InvalidArgumentError("at least one N_F and one N_S are needed");
  }
  for (int64_t frames : o.rows) {
    if (FindSeedTable1Row(frames) == nullptr) {
      return absl::InvalidArgumentError(fmt::format(
          "N_F = {} is not a row of the seed's Table 1 (50, 500, 1000, 2000, 5000)", frames));
    }
  }
  if (*std::min_element(o.servers.begin(), o.servers.end()) < 1) {
    return absl::InvalidArgumentError("N_S must be >= 1");
  }
  if (o.width < 16 || o.height < 16) return absl::InvalidArgumentError("video too small");
  return absl::OkStatus();
}

// Exactly n_r of the frames [0, n_f) go to the reference, evenly spread:
// frame f does when floor((f + 1) n_r / n_f) > floor(f n_r / n_f).
bool GoesToReference(int64_t f, int64_t n_f, int64_t n_r) {
  return (f + 1) * n_r / n_f != f * n_r / n_f;
}

// The scenario's emulated and measured constants, seconds.
struct Emulation {
  double time_scale = 0;
  double service = 0;        // T_sc, nominal
  double network_delay = 0;  // emulated part of T_n
  double loopback_rtt = 0;   // measured part of T_n
};

// Everything the cells share.
struct Context {
  const Table1Options* options = nullptr;
  Emulation em;
  ReplayWorkload workload;
  std::string scratch_dir;
};

// What one cell measured: the run, the client's request times and the
// servers' counters around the run.
struct CellRun {
  SeedTable1Row seed;
  int servers = 0;
  CascadeRunStats run;
  std::vector<emulation::StageRequestTimes> times;
  std::vector<Counters> before, after;
};

// A local zero-cost replay classifier unsure about exactly N_R frames, and
// the reference on `fleet` behind the emulated network delay.
absl::StatusOr<CascadeSetup> CellSetup(const Context& ctx, const SeedTable1Row& seed,
                                       const ReplayFleet& fleet) {
  const std::string labels = fmt::format("{}/classifier_{}.csv", ctx.scratch_dir, seed.frames);
  DNS_RETURN_IF_ERROR(WriteClassifierLabels(labels, ctx.workload, seed.frames, [&](int64_t f) {
                        return GoesToReference(f, seed.frames, seed.reference_frames);
                      }).status());
  CascadeSetup setup;
  setup.config = ReplayCascadeConfig(/*specialized=*/true, /*difference=*/false);
  setup.options.max_model_frames = std::max(64, 16 * static_cast<int>(fleet.size()));
  setup.options.specialized_batching = {.max_batch = 8, .max_delay = std::chrono::microseconds(1000)};
  setup.options.reference_payload.format = ctx.options->payload;
  DNS_ASSIGN_OR_RETURN(std::unique_ptr<models::Model> classifier,
                       models::CreateReplayClassifier(labels, {.object_name = kObject},
                                                      kSpecializedModel, 1, /*max_batch_size=*/64));
  setup.specialized = models::MakeLocalStage(std::move(classifier));
  // The cascade's window, not the client, bounds what is in flight: the
  // requests queue at the servers, as the seed's asyncio client did; one
  // may wait behind the whole window at one server.
  client::RemoteModelOptions remote =
      RemoteOptions(kReferenceModel, ctx.options->policy, setup.options.max_model_frames);
  remote.attempt_timeout = std::chrono::milliseconds(
      60000 + static_cast<int64_t>(2000 * setup.options.max_model_frames * ctx.em.service));
  DNS_ASSIGN_OR_RETURN(auto inner, client::ConnectRemoteStage(fleet.endpoints(), remote));
  DNS_ASSIGN_OR_RETURN(setup.reference, emulation::DelayedStage::Create(
                                            std::move(inner), ToDuration(ctx.em.network_delay)));
  return setup;
}

std::vector<Counters> Scrape(const ReplayFleet& fleet) {
  std::vector<Counters> all;
  for (size_t i = 0; i < fleet.size(); ++i) all.push_back(fleet.server(i).Counters(kReferenceModel));
  return all;
}

absl::StatusOr<CellRun> RunCell(const Context& ctx, const SeedTable1Row& seed,
                                const ReplayFleet& fleet) {
  DNS_ASSIGN_OR_RETURN(CascadeSetup setup, CellSetup(ctx, seed, fleet));
  CellRun cell{.seed = seed, .servers = static_cast<int>(fleet.size())};
  cell.before = Scrape(fleet);
  DNS_ASSIGN_OR_RETURN(cell.run, RunCascade(setup, FirstFrames(ctx.workload.video, seed.frames)));
  cell.after = Scrape(fleet);
  cell.times = static_cast<const emulation::DelayedStage&>(*setup.reference).times();
  return cell;
}

// N_F, N_R, N_S; measured, the seed x time_scale, the bound, the ratios.
std::vector<Cell> LatencyRow(const Emulation& em, const CellRun& c) {
  const int64_t n_r = c.seed.reference_frames;
  const double bound = em.network_delay + em.loopback_rtt +
                       static_cast<double>((n_r + c.servers - 1) / c.servers) * em.service;
  const double seed = SeedTable1Seconds(c.seed.frames, c.servers) * em.time_scale;
  const double wall = c.run.wall_seconds;
  std::vector<Cell> row = {c.seed.frames, n_r, int64_t{c.servers}, wall, Cell(), bound,
                           wall / bound, Cell()};
  if (seed > 0) {
    row[4] = seed;
    row[7] = wall / seed;
  }
  return row;
}

// Sums of the servers' counter deltas, and the fewest and most requests of one server.
struct FleetDelta {
  Counters sum;
  int64_t min_requests = std::numeric_limits<int64_t>::max();
  int64_t max_requests = 0;
};

FleetDelta Delta(const CellRun& c) {
  FleetDelta d;
  for (size_t i = 0; i < c.after.size(); ++i) {
    const auto requests = static_cast<int64_t>(c.after[i].request_success - c.before[i].request_success);
    d.sum.request_success += requests;
    d.sum.exec_count += c.after[i].exec_count - c.before[i].exec_count;
    d.sum.request_duration_us += c.after[i].request_duration_us - c.before[i].request_duration_us;
    d.sum.queue_duration_us += c.after[i].queue_duration_us - c.before[i].queue_duration_us;
    d.sum.compute_infer_duration_us +=
        c.after[i].compute_infer_duration_us - c.before[i].compute_infer_duration_us;
    d.min_requests = std::min(d.min_requests, requests);
    d.max_requests = std::max(d.max_requests, requests);
  }
  return d;
}

double Mean(double total, double count) { return count > 0 ? total / count : 0; }

// The decomposition of a reference request's latency (see the table's notes).
std::vector<Cell> DecompositionRow(const Emulation& em, const CellRun& c) {
  double client_sum = 0;
  for (const auto& t : c.times) client_sum += SecondsBetween(t.submit, t.reply);
  const FleetDelta d = Delta(c);
  const double requests = static_cast<double>(d.sum.request_success);
  const double t_n = em.network_delay + em.loopback_rtt;
  const double client_latency = Mean(client_sum, static_cast<double>(c.times.size()));
  const double server_request = Mean(d.sum.request_duration_us / 1e6, requests);
  const double t_sc = Mean(d.sum.compute_infer_duration_us / 1e6, static_cast<double>(d.sum.exec_count));
  const double t_cq = client_latency - server_request - em.loopback_rtt;
  const double wall = std::max(c.run.wall_seconds, 1e-9);
  const double n_r = static_cast<double>(c.seed.reference_frames);
  return {c.seed.frames, int64_t{c.servers}, t_n, t_cq,
          Mean(d.sum.queue_duration_us / 1e6, requests), t_sc, client_latency, server_request,
          100 * t_cq / wall, 100 * d.sum.compute_infer_duration_us / 1e6 / (c.servers * wall),
          t_n + t_cq + (n_r - c.servers) / c.servers * t_sc + t_sc,
          static_cast<int64_t>(c.times.size()), static_cast<int64_t>(d.sum.request_success),
          d.min_requests, d.max_requests, c.run.summary.stage_seconds.decode, c.run.cpu_seconds};
}

void CheckCell(const CellRun& c, std::vector<std::string>* checks) {
  const std::string label = fmt::format("N_F={} N_S={}", c.seed.frames, c.servers);
  AddChecks(label, c.run, checks);
  const int64_t n_r = c.seed.reference_frames;
  const FleetDelta d = Delta(c);
  const int64_t failed = std::count_if(c.times.begin(), c.times.end(), [](const auto& t) { return !t.ok; });
  if (failed > 0) checks->push_back(fmt::format("{}: {} reference requests failed", label, failed));
  if (c.run.Count(labels::FrameStatus::kReference) != n_r) {
    checks->push_back(fmt::format("{}: {} reference rows, N_R = {}", label,
                                  c.run.Count(labels::FrameStatus::kReference), n_r));
  }
  if (static_cast<int64_t>(c.times.size()) != n_r) {
    checks->push_back(fmt::format("{}: client sent {} reference requests", label, c.times.size()));
  }
  if (static_cast<int64_t>(d.sum.request_success) != n_r) {
    checks->push_back(fmt::format("{}: servers served {} reference requests", label,
                                  d.sum.request_success));
  }
}

Table LatencyTable() {
  return {.name = "table1",
          .title = "total latency per cell (N_F frames, N_R to the reference, N_S servers)",
          .columns = {{"frames"}, {"reference_frames"}, {"servers"}, {"wall", "s", 2},
                      {"seed", "s", 2}, {"bound", "s", 2}, {"wall_over_bound", "", 3},
                      {"wall_over_seed", "", 3}},
          .notes = {"seed = the seed's latency x the time scale; bound = T_n + ceil(N_R/N_S) x "
                    "T_sc"}};
}

Table DecompositionTable() {
  return {.name = "table1_decomposition",
          .title = "per reference request (means), and the requests as counted on both sides",
          .columns = {{"frames"}, {"servers"}, {"t_n", "s", 4}, {"t_cq", "s", 4},
                      {"t_sq", "s", 3}, {"t_sc", "s", 4}, {"client_latency", "s", 4},
                      {"server_request", "s", 4}, {"t_cq_share", "%", 2},
                      {"server_busy", "%", 0}, {"seed_model", "s", 2}, {"client_requests"},
                      {"server_requests"}, {"min_per_server"}, {"max_per_server"},
                      {"decode", "s", 2}, {"cpu", "s", 2}},
          .notes = {"t_n = emulated network delay + loopback RTT; t_cq = client submit->reply "
                    "minus the server's request time minus the loopback RTT (time spent in the "
                    "client and in HTTP handling); t_sq = server queue wait and t_sc = service "
                    "time, both from the servers' counters (nv_inference_queue_duration_us, "
                    "nv_inference_compute_infer_duration_us); t_cq_share = t_cq / measured "
                    "latency; server_busy = servers' service time / (N_S x measured); "
                    "seed_model = the seed's fitted model t_n + t_cq + (N_R - N_S) / N_S x t_sc "
                    "+ t_sc with these terms"}};
}

// N_F x N_S: measured and the seed x time_scale.
Table GridTable(const Table& latency, const std::vector<int>& servers) {
  Table grid{.name = "table1_grid",
             .title = "total latency, N_F x N_S: measured and the seed x time scale",
             .columns = {{"frames"}, {"reference_frames"}}};
  for (int n : servers) {
    grid.columns.push_back({fmt::format("ns{}", n), "s", 2});
    grid.columns.push_back({fmt::format("ns{}_seed", n), "s", 1});
  }
  std::map<int64_t, std::vector<Cell>> rows;
  for (const std::vector<Cell>& r : latency.rows) {
    std::vector<Cell>& row = rows[std::get<int64_t>(r[0])];
    if (row.empty()) row = {r[0], r[1]};
    const auto at = std::find(servers.begin(), servers.end(), std::get<int64_t>(r[2]));
    row.resize(grid.columns.size());
    row[2 + 2 * (at - servers.begin())] = r[3];
    row[3 + 2 * (at - servers.begin())] = r[4];
  }
  for (auto& [frames, row] : rows) grid.AddRow(std::move(row));
  return grid;
}

Table GoalsTable(const Table& latency, const Table& decomposition, double total_seconds) {
  double worst_bound = 0, worst_seed8 = -1, worst_cq = 0;
  for (size_t i = 0; i < latency.rows.size(); ++i) {
    worst_bound = std::max(worst_bound, std::abs(*latency.Number(i, "wall_over_bound") - 1));
    if (latency.Number(i, "servers") == 8 && latency.Number(i, "wall_over_seed")) {
      worst_seed8 = std::max(worst_seed8, *latency.Number(i, "wall_over_seed"));
    }
    worst_cq = std::max(worst_cq, decomposition.Number(i, "t_cq_share").value_or(0));
  }
  Table goals = FigureTable("table1_goals", "the goals over every cell");
  AddFigure(goals, "worst_bound_error", 100 * worst_bound, "%",
            fmt::format("<= {:.0f}", 100 * kTable1BoundTolerance),
            worst_bound <= kTable1BoundTolerance);
  if (worst_seed8 >= 0) {
    AddFigure(goals, "worst_ns8_over_seed", worst_seed8, "",
              fmt::format("<= {:.2f}", kTable1Ns8OverSeedGoal), worst_seed8 <= kTable1Ns8OverSeedGoal);
  } else {
    goals.notes.push_back("worst_ns8_over_seed: not measured (no N_S = 8 column)");
  }
  AddFigure(goals, "max_t_cq_share", worst_cq, "%");
  AddFigure(goals, "scenario_wall", total_seconds, "s");
  return goals;
}

PlotSpec Table1Plot(const Table& latency) {
  PlotSpec plot{.name = "table1",
                .title = "Total latency vs frames, seed (scaled) and dnoscope",
                .xlabel = "frames N_F",
                .ylabel = "latency (s)",
                .log_x = true,
                .log_y = true};
  std::map<int64_t, PlotSeries> ours, seed;
  for (size_t i = 0; i < latency.rows.size(); ++i) {
    const int64_t n = static_cast<int64_t>(*latency.Number(i, "servers"));
    const double frames = *latency.Number(i, "frames");
    ours[n].title = fmt::format("dnoscope N_S={}", n);
    ours[n].points.emplace_back(frames, *latency.Number(i, "wall"));
    if (const auto s = latency.Number(i, "seed")) {
      seed[n].title = fmt::format("seed N_S={}", n);
      seed[n].points.emplace_back(frames, *s);
    }
  }
  for (auto& [n, s] : ours) plot.series.push_back(s);
  for (auto& [n, s] : seed) plot.series.push_back(s);
  return plot;
}

std::vector<std::string> Setup(const Context& ctx, client::BalancePolicy policy,
                               cascade::PayloadFormat payload) {
  const Emulation& em = ctx.em;
  return {fmt::format("time scale {}: T_sc = {:.4f} s (seed 2.97 s, one request at a time per "
                      "server), network {:.4f} s (seed 0.2 s)",
                      em.time_scale, em.service, em.network_delay),
          fmt::format("network emulation: in process, client side: each reference reply reaches "
                      "the cascade {:.1f} ms late (emulation::DelayedStage; the server is free "
                      "meanwhile), on top of the loopback round trip ({:.3f} ms measured); no tc "
                      "netem",
                      1000 * em.network_delay, 1000 * em.loopback_rtt),
          fmt::format("video: {} ({}x{}), decoded for real; difference detector off; specialized "
                      "stage local (zero-cost replay classifier unsure about exactly N_R frames, "
                      "spread evenly); reference: N_S replay servers, {} balancing, {} frames",
                      ctx.workload.video, ctx.workload.size.width, ctx.workload.size.height,
                      BalancePolicyName(policy), PayloadFormatName(payload)),
          fmt::format("bound = T_n + ceil(N_R/N_S) x T_sc with T_n = network delay + loopback "
                      "RTT = {:.4f} s",
                      em.network_delay + em.loopback_rtt)};
}

double EmulatedSeconds(const Table1Options& o, double service) {
  double total = 0;
  for (int n : o.servers) {
    for (int64_t frames : o.rows) {
      total += static_cast<double>((FindSeedTable1Row(frames)->reference_frames + n - 1) / n) * service;
    }
  }
  return total;
}

absl::StatusOr<Context> PrepareContext(const Table1Options& o, const ScenarioEnv& env) {
  Context ctx{.options = &o, .scratch_dir = env.scratch_dir};
  ctx.em = {o.time_scale, kSeedServiceSeconds * o.time_scale, kSeedNetworkSeconds * o.time_scale};
  const int64_t frames = *std::max_element(o.rows.begin(), o.rows.end());
  env.Progress(fmt::format("table1: rendering a {}x{} synthetic video of {} frames", o.width,
                           o.height, frames));
  DNS_ASSIGN_OR_RETURN(ctx.workload, PrepareReplayWorkload({.size = {frames, o.width, o.height},
                                                            .uncertain_share = 0},
                                                           env.scratch_dir + "/workload"));
  env.Progress(fmt::format("table1: {} cells, {:.0f} s of emulated reference time at time scale {}",
                           o.rows.size() * o.servers.size(), EmulatedSeconds(o, ctx.em.service),
                           o.time_scale));
  return ctx;
}

// Runs every N_F on one fleet of N_S servers.
absl::Status RunColumn(Context& ctx, int n_s, const ScenarioEnv& env, std::vector<CellRun>* cells) {
  DNS_ASSIGN_OR_RETURN(auto fleet, ReplayFleet::Start(fmt::format("{}/ns{}", ctx.scratch_dir, n_s),
                                                      DetectorSpec(ctx.workload),
                                                      std::vector<double>(n_s, 1000 * ctx.em.service)));
  if (cells->empty()) {
    DNS_ASSIGN_OR_RETURN(ctx.em.loopback_rtt, MeasureLoopbackRtt(fleet->server(0).endpoint(), 200));
  }
  for (int64_t frames : ctx.options->rows) {
    DNS_ASSIGN_OR_RETURN(CellRun cell, RunCell(ctx, *FindSeedTable1Row(frames), *fleet));
    const std::vector<Cell> row = LatencyRow(ctx.em, cell);
    env.Progress(fmt::format("table1 N_S={} N_F={} (N_R={}): {:.2f} s, bound {:.2f} s [{}/{} cells]",
                             n_s, frames, cell.seed.reference_frames, cell.run.wall_seconds,
                             std::get<double>(row[5]), cells->size() + 1,
                             ctx.options->rows.size() * ctx.options->servers.size()));
    cells->push_back(std::move(cell));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<ScenarioResult> RunTable1Bench(const Table1Options& o, const ScenarioEnv& env) {
  DNS_RETURN_IF_ERROR(CheckOptions(o));
  const Clock::TimePoint start = Clock::Real()->Now();
  DNS_ASSIGN_OR_RETURN(Context ctx, PrepareContext(o, env));
  std::vector<CellRun> cells;
  for (int n_s : o.servers) DNS_RETURN_IF_ERROR(RunColumn(ctx, n_s, env, &cells));
  std::sort(cells.begin(), cells.end(), [](const CellRun& a, const CellRun& b) {
    return std::pair(a.seed.frames, a.servers) < std::pair(b.seed.frames, b.servers);
  });
  ScenarioResult r{.scenario = "table1",
                   .title = "Table 1: total latency, N_F frames x N_S reference servers"};
  Table latency = LatencyTable(), decomposition = DecompositionTable();
  for (const CellRun& c : cells) {
    latency.AddRow(LatencyRow(ctx.em, c));
    decomposition.AddRow(DecompositionRow(ctx.em, c));
    CheckCell(c, &r.checks);
  }
  std::vector<int> servers = o.servers;
  std::sort(servers.begin(), servers.end());
  const double total = SecondsBetween(start, Clock::Real()->Now());
  r.setup = Setup(ctx, o.policy, o.payload);
  r.tables = {latency, GridTable(latency, servers), decomposition,
              GoalsTable(latency, decomposition, total)};
  r.plots = {Table1Plot(latency)};
  return r;
}

}  // namespace dnoscope::bench
