#include "bench/distributed_bench.h"

#include <algorithm>
#include <cmath>

#include "absl/status/status.h"
#include "bench/cascade_run.h"
#include "client/http_client.h"
#include "client/remote_stage.h"
#include "common/clock.h"
#include "common/status_macros.h"
#include "fmt/format.h"
#include "video/frame_source.h"

namespace dnoscope::bench {
namespace {

using labels::FrameStatus;

double Percent(int64_t part, int64_t whole) { return whole > 0 ? 100.0 * part / whole : 0; }

absl::StatusOr<double> DecodeOnly(const ReplayWorkload& w, const cascade::CascadeConfig& config) {
  DNS_ASSIGN_OR_RETURN(std::unique_ptr<video::FrameSource> source,
                       video::OpenFrameSource(FirstFrames(w.video, w.size.frames)));
  return cascade::MeasureDecodeOnly(*source, config, {}, Clock::Real());
}

absl::StatusOr<CascadeSetup> ClientSetup(const ClientBenchOptions& o,
                                         const emulation::ReplayFleet& spec,
                                         const emulation::ReplayFleet& ref) {
  CascadeSetup setup;
  setup.config = ReplayCascadeConfig(/*specialized=*/true, /*difference=*/true);
  setup.options.specialized_batching.max_batch = o.specialized_batch;
  setup.options.specialized_batching.max_delay = o.specialized_batch_delay;
  setup.options.reference_payload.format = o.payload;
  const auto p2c = client::BalancePolicy::kPowerOfTwo;
  DNS_ASSIGN_OR_RETURN(setup.specialized, client::ConnectRemoteStage(
                                              spec.endpoints(), RemoteOptions(kSpecializedModel, p2c, 64)));
  DNS_ASSIGN_OR_RETURN(setup.reference, client::ConnectRemoteStage(
                                            ref.endpoints(), RemoteOptions(kReferenceModel, p2c, 64)));
  return setup;
}

Table ClientFigures(double before, double after, const CascadeRunStats& run) {
  const double decode_only = (before + after) / 2;
  const double ratio = decode_only > 0 ? run.frames_per_second / decode_only : 0;
  const double wall = std::max(run.wall_seconds, 1e-9);
  Table t = FigureTable("client", "the cascade against decoding alone, same frames");
  AddFigure(t, "decode_only", decode_only, "frames/s");
  AddFigure(t, "decode_only_before", before, "frames/s");
  AddFigure(t, "decode_only_after", after, "frames/s");
  AddFigure(t, "cascade", run.frames_per_second, "frames/s");
  AddFigure(t, "ratio", ratio, "", ">= 0.80", ratio >= 0.8);
  AddFigure(t, "wall", run.wall_seconds, "s");
  AddFigure(t, "cpu_busy", run.cpu_seconds / wall, "cores");
  AddFigure(t, "decoding_share", 100 * run.summary.stage_seconds.decode / wall, "%");
  t.notes.push_back(
      "decode_only: decode + difference resize alone, before and after the cascade run (their "
      "mean is the limit); cpu_busy: process CPU (servers included) / wall; decoding_share: "
      "time the caller's thread spent decoding inside the run");
  return t;
}

std::string StatusLine(const CascadeRunStats& s) {
  return fmt::format(
      "statuses: diff-reused {:.1f}%, specialized {:.1f}%, reference {:.1f}% of {} frames",
      Percent(s.Count(FrameStatus::kDiffReused), s.frames),
      Percent(s.Count(FrameStatus::kSpecialized), s.frames),
      Percent(s.Count(FrameStatus::kReference), s.frames), s.frames);
}

// Every frame to the reference on `fleet`; no difference detector, no
// specialized stage.
absl::StatusOr<CascadeRunStats> RunReferenceOnly(const ReplayWorkload& w,
                                                 const emulation::ReplayFleet& fleet,
                                                 const client::RemoteModelOptions& remote,
                                                 int max_model_frames,
                                                 cascade::PayloadFormat payload) {
  CascadeSetup setup;
  setup.config = ReplayCascadeConfig(/*specialized=*/false, /*difference=*/false);
  setup.options.max_model_frames = max_model_frames;
  setup.options.reference_payload.format = payload;
  DNS_ASSIGN_OR_RETURN(setup.reference, client::ConnectRemoteStage(fleet.endpoints(), remote));
  return RunCascade(setup, FirstFrames(w.video, w.size.frames));
}

// The synthetic workload of the reference-only scenarios.
absl::StatusOr<ReplayWorkload> ReferenceWorkload(const VideoSize& size, const ScenarioEnv& env) {
  env.Progress(fmt::format("rendering a {}x{} synthetic video of {} frames", size.width,
                           size.height, size.frames));
  return PrepareReplayWorkload({.size = size}, env.scratch_dir + "/workload");
}

PlotSpec ScalingPlot(const Table& t) {
  PlotSpec plot{.name = "scaling",
                .title = "Throughput speedup vs reference servers",
                .xlabel = "reference servers N_S",
                .ylabel = "speedup over N_S = 1",
                .log_x = true};
  PlotSeries measured{.title = "dnoscope"}, ideal{.title = "ideal (N_S)"};
  for (size_t i = 0; i < t.rows.size(); ++i) {
    const double n = t.Number(i, "servers").value_or(0);
    measured.points.emplace_back(n, t.Number(i, "speedup").value_or(0));
    ideal.points.emplace_back(n, n);
  }
  plot.series = {measured, ideal};
  return plot;
}

// Speedup over N_S = 1 when it ran, else over the serial bound N_R x T_sc;
// efficiency; the bound T_n + ceil(N_R / N_S) x T_sc and wall / bound.
void AddScalingColumns(const ScalingBenchOptions& o, double rtt_seconds, Table& t) {
  double base = t.rows.empty() ? 0 : o.size.frames * o.service_ms / 1000;
  for (size_t i = 0; i < t.rows.size(); ++i) {
    if (t.Number(i, "servers") == 1) base = *t.Number(i, "wall");
  }
  std::vector<Cell> speedup, efficiency, bound, over;
  for (size_t i = 0; i < t.rows.size(); ++i) {
    const int64_t n = static_cast<int64_t>(*t.Number(i, "servers"));
    const double wall = *t.Number(i, "wall");
    const double b = rtt_seconds + static_cast<double>((o.size.frames + n - 1) / n) * o.service_ms / 1000;
    speedup.push_back(base / wall);
    efficiency.push_back(base / wall / static_cast<double>(n));
    bound.push_back(b);
    over.push_back(wall / b);
  }
  t.AddColumn({"speedup"}, std::move(speedup));
  t.AddColumn({"efficiency"}, std::move(efficiency));
  t.AddColumn({"bound", "s", 2}, std::move(bound));
  t.AddColumn({"wall_over_bound", "", 3}, std::move(over));
}

Table ScalingGoals(const Table& t, double rtt_seconds) {
  double min_efficiency = 1e9, worst_bound = 0;
  for (size_t i = 0; i < t.rows.size(); ++i) {
    min_efficiency = std::min(min_efficiency, *t.Number(i, "efficiency"));
    worst_bound = std::max(worst_bound, std::abs(*t.Number(i, "wall_over_bound") - 1));
  }
  Table goals = FigureTable("scaling_goals", "the goals over every N_S");
  AddFigure(goals, "t_n", 1000 * rtt_seconds, "ms");
  AddFigure(goals, "min_efficiency", min_efficiency, "", ">= 0.90", min_efficiency >= 0.9);
  AddFigure(goals, "worst_wall_over_bound_error", 100 * worst_bound, "%", "<= 10",
            worst_bound <= 0.1);
  return goals;
}

// Reference requests each server of `fleet` got in `run`.
std::vector<Cell> RequestsPerServer(const CascadeRunStats& run, const emulation::ReplayFleet& fleet) {
  std::vector<Cell> requests;
  const cascade::StageReport* ref = run.Stage("reference");
  for (const client::Endpoint& endpoint : fleet.endpoints()) {
    int64_t n = 0;
    for (const auto& e : ref ? ref->stats.endpoints : std::vector<models::StageEndpointStats>{}) {
      if (e.name == endpoint.ToString()) n = e.requests;
    }
    requests.push_back(n);
  }
  return requests;
}

PlotSpec BalancePlot(const Table& t) {
  PlotSpec plot{.name = "balance",
                .title = "Reference request latency by balancing policy",
                .ylabel = "latency (ms)",
                .style = "histogram",
                .categories = {"p50", "p90", "p99"}};
  for (size_t i = 0; i < t.rows.size(); ++i) {
    plot.series.push_back({std::get<std::string>(t.rows[i][0]),
                           {{0, t.Number(i, "p50").value_or(0)},
                            {1, t.Number(i, "p90").value_or(0)},
                            {2, t.Number(i, "p99").value_or(0)}}});
  }
  return plot;
}

// One reference-only run per N_S on a fleet of its own; `rtt` gets the
// loopback round trip measured on the first fleet.
absl::StatusOr<std::vector<KeyedRun>> RunServerCounts(const ScalingBenchOptions& o,
                                                      const ReplayWorkload& w,
                                                      const ScenarioEnv& env, double* rtt) {
  std::vector<KeyedRun> runs;
  for (int n : o.servers) {
    DNS_ASSIGN_OR_RETURN(auto fleet, emulation::ReplayFleet::Start(
                                         fmt::format("{}/ns{}", env.scratch_dir, n), DetectorSpec(w),
                                         std::vector<double>(n, o.service_ms)));
    if (runs.empty()) {
      DNS_ASSIGN_OR_RETURN(*rtt, MeasureLoopbackRtt(fleet->server(0).endpoint(), 200));
    }
    const auto remote = RemoteOptions(kReferenceModel, client::BalancePolicy::kPowerOfTwo,
                                      o.max_in_flight_per_endpoint);
    const int window = o.max_model_frames > 0 ? o.max_model_frames : 16 * n;
    DNS_ASSIGN_OR_RETURN(CascadeRunStats run, RunReferenceOnly(w, *fleet, remote, window, o.payload));
    env.Progress(fmt::format("scaling N_S={}: {:.2f} s, {:.1f} frames/s", n, run.wall_seconds,
                             run.frames_per_second));
    runs.push_back({int64_t{n}, std::move(run)});
  }
  return runs;
}

// One reference-only run per policy on `fleet`.
absl::StatusOr<std::vector<KeyedRun>> RunPolicies(const BalanceBenchOptions& o,
                                                  const ReplayWorkload& w,
                                                  const emulation::ReplayFleet& fleet,
                                                  const ScenarioEnv& env) {
  std::vector<KeyedRun> runs;
  for (client::BalancePolicy policy : o.policies) {
    const auto remote = RemoteOptions(kReferenceModel, policy, o.max_in_flight_per_endpoint);
    DNS_ASSIGN_OR_RETURN(CascadeRunStats run,
                         RunReferenceOnly(w, fleet, remote, o.max_model_frames, o.payload));
    env.Progress(fmt::format("balance {}: {:.2f} s", BalancePolicyName(policy), run.wall_seconds));
    runs.push_back({std::string(BalancePolicyName(policy)), std::move(run)});
  }
  return runs;
}

Table BalanceTable(const std::vector<KeyedRun>& runs, const emulation::ReplayFleet& fleet) {
  Table t = RunTable("balance", "one row per balancing policy; latency of the reference requests",
                     {"policy"}, runs, "reference", {"wall", "rate", "p50", "p90", "p99", "max"});
  std::vector<std::vector<Cell>> per_run;
  for (const KeyedRun& r : runs) per_run.push_back(RequestsPerServer(r.run, fleet));
  for (size_t s = 0; s < fleet.size(); ++s) {
    std::vector<Cell> requests;
    for (const std::vector<Cell>& counts : per_run) requests.push_back(counts[s]);
    t.AddColumn({fmt::format("requests_{}", s + 1)}, std::move(requests));
  }
  t.notes.push_back(fmt::format(
      "requests_N: reference requests server N got; server {} is the slow one", fleet.size()));
  return t;
}

}  // namespace

absl::Status ReadyRoundTrip(client::HttpClient& http, const client::Endpoint& endpoint) {
  client::HttpCall call;
  call.method = "GET";
  call.target = "/v2/health/ready";
  call.content_type.clear();
  DNS_ASSIGN_OR_RETURN(client::HttpResult r, http.SendSync(endpoint, call));
  if (r.status == 200) return absl::OkStatus();
  return absl::UnavailableError(
      fmt::format("{} answered {} to /v2/health/ready", endpoint.ToString(), r.status));
}

absl::StatusOr<double> MeasureLoopbackRtt(const client::Endpoint& endpoint, int calls) {
  DNS_ASSIGN_OR_RETURN(std::unique_ptr<client::HttpClient> http, client::HttpClient::Create({}));
  double total = 0;
  for (int i = -10; i < calls; ++i) {
    const Clock::TimePoint start = Clock::Real()->Now();
    DNS_RETURN_IF_ERROR(ReadyRoundTrip(*http, endpoint));
    if (i >= 0) total += SecondsBetween(start, Clock::Real()->Now());
  }
  return total / calls;
}

absl::StatusOr<ScenarioResult> RunClientBench(const ClientBenchOptions& o, const ScenarioEnv& env) {
  if (o.specialized_batch < 1) return absl::InvalidArgumentError("specialized_batch must be >= 1");
  env.Progress(o.video.empty() ? "client: rendering the synthetic video" : "client: labels");
  DNS_ASSIGN_OR_RETURN(ReplayWorkload w,
                       PrepareReplayWorkload({o.video, o.size, o.uncertain_share},
                                             env.scratch_dir + "/workload"));
  DNS_ASSIGN_OR_RETURN(auto spec, emulation::ReplayFleet::Start(env.scratch_dir + "/spec",
                                                                ClassifierSpec(w, 64), {0}));
  DNS_ASSIGN_OR_RETURN(auto ref, emulation::ReplayFleet::Start(env.scratch_dir + "/ref",
                                                               DetectorSpec(w), {0}));
  DNS_ASSIGN_OR_RETURN(CascadeSetup setup, ClientSetup(o, *spec, *ref));
  env.Progress(fmt::format("client: decode only, {} frames", w.size.frames));
  DNS_ASSIGN_OR_RETURN(const double before, DecodeOnly(w, setup.config));
  env.Progress("client: the cascade, both stages remote");
  DNS_ASSIGN_OR_RETURN(CascadeRunStats run, RunCascade(setup, FirstFrames(w.video, w.size.frames)));
  env.Progress("client: decode only again");
  DNS_ASSIGN_OR_RETURN(const double after, DecodeOnly(w, setup.config));
  ScenarioResult r{.scenario = "client",
                   .title = "Client overhead: distributed cascade vs decode-only"};
  r.setup = {
      fmt::format("video: {} ({}x{}, {} frames)", w.video, w.size.width, w.size.height, run.frames),
      fmt::format("both model stages remote at zero cost, each on its own replay server in this "
                  "process on 127.0.0.1: the classifier (batches of up to {}; unsure about {:.0f}% "
                  "of the frames, which go on) and the detector ({} frames); difference detector "
                  "on with its default config",
                  o.specialized_batch, 100 * o.uncertain_share, PayloadFormatName(o.payload))};
  r.tables = {ClientFigures(before, after, run),
              StageTable("client_stages", "per stage of the cascade run", run)};
  r.notes = {StatusLine(run),
             fmt::format("end-to-end latency (decode to row): p50 {:.1f} ms, p99 {:.1f} ms",
                         run.report.end_to_end_latency.p50_ms, run.report.end_to_end_latency.p99_ms)};
  AddChecks("client", run, &r.checks);
  return r;
}

absl::StatusOr<ScenarioResult> RunScalingBench(const ScalingBenchOptions& o, const ScenarioEnv& env) {
  if (o.servers.empty() || *std::min_element(o.servers.begin(), o.servers.end()) < 1 ||
      !(o.service_ms > 0)) {
    return absl::InvalidArgumentError("servers >= 1 and service_ms > 0 needed");
  }
  DNS_ASSIGN_OR_RETURN(ReplayWorkload w, ReferenceWorkload(o.size, env));
  double rtt = 0;
  DNS_ASSIGN_OR_RETURN(std::vector<KeyedRun> runs, RunServerCounts(o, w, env, &rtt));
  Table t = RunTable("scaling", "one row per number of reference servers N_S; latency of the "
                     "reference requests", {"servers"}, runs, "reference",
                     {"wall", "rate", "p50", "p90", "p99"});
  AddScalingColumns(o, rtt, t);
  ScenarioResult r{.scenario = "scaling", .title = "Scaling with the number of reference servers"};
  r.setup = {fmt::format("N_R = {} frames of a {}x{} synthetic video, all to the reference (no "
                         "difference detector, no specialized stage); each replay server serves "
                         "one request at a time in T_sc = {:.1f} ms; {} frames; p2c balancing",
                         w.size.frames, w.size.width, w.size.height, o.service_ms,
                         PayloadFormatName(o.payload)),
             fmt::format("bound = T_n + ceil(N_R / N_S) x T_sc, T_n = {:.3f} ms (mean round trip "
                         "of GET /v2/health/ready)", 1000 * rtt)};
  r.tables = {t, ScalingGoals(t, rtt)};
  r.plots = {ScalingPlot(t)};
  AddChecks(t.columns[0], runs, &r.checks);
  return r;
}

absl::StatusOr<ScenarioResult> RunBalanceBench(const BalanceBenchOptions& o, const ScenarioEnv& env) {
  if (o.servers < 2 || !(o.slow_factor >= 1) || !(o.service_ms > 0) || o.policies.empty()) {
    return absl::InvalidArgumentError(
        "servers >= 2, slow_factor >= 1, service_ms > 0 and a policy needed");
  }
  DNS_ASSIGN_OR_RETURN(ReplayWorkload w, ReferenceWorkload(o.size, env));
  std::vector<double> service(o.servers, o.service_ms);
  service.back() = o.service_ms * o.slow_factor;
  DNS_ASSIGN_OR_RETURN(auto fleet, emulation::ReplayFleet::Start(env.scratch_dir + "/balance",
                                                                 DetectorSpec(w), service));
  DNS_ASSIGN_OR_RETURN(std::vector<KeyedRun> runs, RunPolicies(o, w, *fleet, env));
  ScenarioResult r{.scenario = "balance",
                   .title = fmt::format("Load balancing with one replica {:g}x slower", o.slow_factor)};
  r.setup = {fmt::format("{} reference servers, one request at a time each: {} x {:.1f} ms and 1 x "
                         "{:.1f} ms (the last); {} frames of a {}x{} synthetic video, all to the "
                         "reference; {} frames; window {}, {} in flight per server",
                         o.servers, o.servers - 1, o.service_ms, service.back(), w.size.frames,
                         w.size.width, w.size.height, PayloadFormatName(o.payload),
                         o.max_model_frames, o.max_in_flight_per_endpoint)};
  r.tables = {BalanceTable(runs, *fleet)};
  r.plots = {BalancePlot(r.tables[0])};
  AddChecks(r.tables[0].columns[0], runs, &r.checks);
  return r;
}

}  // namespace dnoscope::bench
