#include "bench/edge_bench.h"

#include <algorithm>
#include <chrono>

#include "absl/status/status.h"
#include "bench/cascade_run.h"
#include "client/remote_stage.h"
#include "common/clock.h"
#include "common/status_macros.h"
#include "emulation/delayed_stage.h"
#include "emulation/take_turns.h"
#include "fmt/format.h"
#include "models/backends/replay.h"
#include "models/local_stage.h"

namespace dnoscope::bench {
namespace {

using labels::FrameStatus;

absl::Status CheckOptions(const EdgeBenchOptions& o) {
  if (!(o.time_scale > 0) || o.time_scale > 100) {
    return absl::InvalidArgumentError("time_scale must be in (0, 100]");
  }
  if (o.servers < 1) return absl::InvalidArgumentError("servers must be >= 1");
  if (o.specialized_batch < 1) return absl::InvalidArgumentError("specialized_batch must be >= 1");
  if (!(o.diff_threshold >= 0)) return absl::InvalidArgumentError("diff_threshold must be >= 0");
  return absl::OkStatus();
}

// The emulated costs, seconds, already scaled.
struct Costs {
  double specialized = 0;
  double reference = 0;
  double network = 0;
};

cascade::CascadeConfig EdgeConfig(const EdgeBenchOptions& o) {
  cascade::CascadeConfig config = ReplayCascadeConfig(/*specialized=*/true, /*difference=*/true);
  config.diff.threshold = o.diff_threshold;
  return config;
}

// Every stage in process; the two models take turns on one node.
absl::StatusOr<CascadeSetup> OneNodeSetup(const EdgeBenchOptions& o, const Costs& costs,
                                          const ReplayWorkload& w) {
  DNS_ASSIGN_OR_RETURN(
      std::unique_ptr<models::Model> spec,
      models::CreateReplayClassifier(w.classifier_labels,
                                     {.service_time_ms = 1000 * costs.specialized, .object_name = kObject},
                                     kSpecializedModel, 1, 64));
  DNS_ASSIGN_OR_RETURN(
      std::unique_ptr<models::Model> ref,
      models::CreateReplayModel(w.reference_labels,
                                {.service_time_ms = 1000 * costs.reference, .object_name = kObject},
                                kReferenceModel, 1));
  std::vector<std::unique_ptr<models::ModelStage>> stages;
  stages.push_back(models::MakeLocalStage(std::move(spec)));
  stages.push_back(models::MakeLocalStage(std::move(ref)));
  DNS_ASSIGN_OR_RETURN(stages, emulation::TakeTurns(std::move(stages)));
  CascadeSetup setup{.config = EdgeConfig(o)};
  setup.specialized = std::move(stages[0]);
  setup.reference = std::move(stages[1]);
  return setup;
}

// A remote stage on `fleet` whose replies reach the cascade the network
// delay later.
absl::StatusOr<std::unique_ptr<models::ModelStage>> DelayedRemote(
    const emulation::ReplayFleet& fleet, const std::string& model, int max_in_flight,
    double service_seconds, double delay_seconds) {
  // The cascade's window bounds what is in flight; requests queue at the
  // servers (as with the seed's asyncio client), so one may wait behind
  // the whole window.
  client::RemoteModelOptions remote =
      RemoteOptions(model, client::BalancePolicy::kPowerOfTwo, max_in_flight);
  remote.attempt_timeout = std::chrono::milliseconds(
      60000 + static_cast<int64_t>(2000 * max_in_flight * service_seconds));
  DNS_ASSIGN_OR_RETURN(auto inner, client::ConnectRemoteStage(fleet.endpoints(), remote));
  return emulation::DelayedStage::Create(std::move(inner), ToDuration(delay_seconds));
}

// The fleets outlive the setup's stages (declared first by the caller).
struct Fleets {
  std::unique_ptr<emulation::ReplayFleet> specialized;
  std::unique_ptr<emulation::ReplayFleet> reference;
};

absl::StatusOr<CascadeSetup> DistributedSetup(const EdgeBenchOptions& o, const Costs& costs,
                                              const ReplayWorkload& w, const std::string& dir,
                                              Fleets* fleets) {
  // The server runs at most the client's batch at once: it must not merge
  // queued requests, or a request would cost less than on one node.
  DNS_ASSIGN_OR_RETURN(fleets->specialized,
                       emulation::ReplayFleet::Start(dir + "/spec", ClassifierSpec(w, o.specialized_batch),
                                                     {1000 * costs.specialized}));
  DNS_ASSIGN_OR_RETURN(fleets->reference,
                       emulation::ReplayFleet::Start(dir + "/ref", DetectorSpec(w),
                                                     std::vector<double>(o.servers, 1000 * costs.reference)));
  CascadeSetup setup{.config = EdgeConfig(o)};
  setup.options.max_model_frames = std::max(64, 16 * o.servers);
  setup.options.specialized_batching.max_batch = o.specialized_batch;
  if (o.specialized_batch > 1) setup.options.specialized_batching.max_delay = std::chrono::milliseconds(2);
  setup.options.reference_payload.format = o.payload;
  const int window = setup.options.max_model_frames;
  DNS_ASSIGN_OR_RETURN(setup.specialized, DelayedRemote(*fleets->specialized, kSpecializedModel,
                                                        window, costs.specialized, costs.network));
  DNS_ASSIGN_OR_RETURN(setup.reference, DelayedRemote(*fleets->reference, kReferenceModel, window,
                                                      costs.reference, costs.network));
  return setup;
}

void CompareRows(const std::vector<labels::FrameResult>& local,
                 const std::vector<labels::FrameResult>& remote, std::vector<std::string>* checks) {
  if (local.size() != remote.size()) {
    checks->push_back(fmt::format("one node gave {} rows, distributed {}", local.size(), remote.size()));
  }
  for (size_t i = 0; i < std::min(local.size(), remote.size()); ++i) {
    const labels::FrameResult& a = local[i];
    const labels::FrameResult& b = remote[i];
    if (a.frame != b.frame || a.label != b.label || a.status != b.status) {
      checks->push_back(fmt::format(
          "row {} differs: one node frame {} label {} {}, distributed frame {} label {} {}", i,
          a.frame, a.label, labels::FrameStatusName(a.status), b.frame, b.label,
          labels::FrameStatusName(b.status)));
      return;
    }
  }
}

// The ideal ratio from the counts: one-node model time
//   W1 = N_spec x t_spec + N_ref x t_ref
// over the distributed critical path
//   B(N_S) = 2 x t_net + max(spec requests x t_spec, ceil(N_ref / N_S) x t_ref)
// (the single specialized server and the N_S reference servers work in
// parallel; a reference frame crosses the network twice).
struct Analysis {
  double w1 = 0;
  double bound = 0;
  double ideal = 0;
  double reference_share = 0;
  // Fewest servers whose ideal reaches the seed's ratio (0: none), and the
  // count past which the specialized server is the critical path.
  int servers_for_seed = 0;
  int saturation_servers = 0;
  double saturation_ratio = 0;
};

Analysis Analyse(const Costs& c, const CascadeRunStats& one_node, const CascadeRunStats& dist,
                 int servers) {
  const auto n_spec = static_cast<double>(one_node.StageRequests("specialized"));
  const int64_t n_ref = one_node.StageRequests("reference");
  const double spec_path = static_cast<double>(dist.StageRequests("specialized")) * c.specialized;
  auto ref_path = [&](int n) { return static_cast<double>((n_ref + n - 1) / n) * c.reference; };
  auto bound = [&](int n) { return 2 * c.network + std::max(spec_path, ref_path(n)); };
  Analysis a;
  a.w1 = n_spec * c.specialized + static_cast<double>(n_ref) * c.reference;
  a.reference_share = a.w1 > 0 ? static_cast<double>(n_ref) * c.reference / a.w1 : 0;
  a.bound = bound(servers);
  a.ideal = a.w1 / a.bound;
  const double seed_ratio = kSeedOneNodeSeconds / kSeedDistributedSeconds;
  for (int n = 1; n <= 4096; ++n) {
    if (a.servers_for_seed == 0 && a.w1 / bound(n) >= seed_ratio) a.servers_for_seed = n;
    if (ref_path(n) <= spec_path) {
      a.saturation_servers = n;
      a.saturation_ratio = a.w1 / bound(n);
      break;
    }
  }
  return a;
}

// What limits the measured ratio, in one paragraph.
std::string LimitSentence(const Analysis& a, const Costs& c, const CascadeRunStats& one_node,
                          const CascadeRunStats& dist, int servers) {
  const double ratio = one_node.wall_seconds / dist.wall_seconds;
  const int64_t n_ref = one_node.StageRequests("reference");
  std::string out = fmt::format(
      "What limits the ratio here: {} of {} frames ({:.0f}%) reached the reference, {:.0f}% of "
      "the one-node model time (W1 = {:.2f} s); the distributed run only splits that part over "
      "N_S = {} reference servers, so the ideal ratio is W1 / B = {:.2f} / {:.2f} s = {:.2f}x "
      "and this run reached {:.2f}x ({:.0f}% of it).",
      n_ref, one_node.frames, one_node.frames > 0 ? 100.0 * n_ref / one_node.frames : 0,
      100 * a.reference_share, a.w1, servers, a.w1, a.bound, a.ideal, ratio, 100 * ratio / a.ideal);
  if (ratio / a.ideal < 0.8) {
    out += fmt::format(
        " The gap to the ideal is work that --time-scale does not shrink: the one-node run spent "
        "{:.2f} s beyond the emulated models (decoding, difference detector), and each request has "
        "real transport overhead.",
        std::max(0.0, one_node.wall_seconds - a.w1));
  }
  const double seed_ratio = kSeedOneNodeSeconds / kSeedDistributedSeconds;
  out += a.servers_for_seed > 0
             ? fmt::format(" The seed's {:.2f}x needs N_S >= {} at these counts", seed_ratio,
                           a.servers_for_seed)
             : fmt::format(" No N_S reaches the seed's {:.2f}x at these counts", seed_ratio);
  if (a.saturation_servers > 0) {
    out += fmt::format(
        "; from N_S = {} on, the single specialized server ({} requests x {:.4g} s) is the "
        "critical path (ideal {:.1f}x)",
        a.saturation_servers, dist.StageRequests("specialized"), c.specialized, a.saturation_ratio);
  }
  return out + ".";
}

Table RunsTable(const EdgeBenchOptions& o, const CascadeRunStats& one_node,
                const CascadeRunStats& dist) {
  Table t = RunTable("edge", "one row per run: the same frames, models and thresholds",
                     {"run"}, {{"one_node", one_node}, {"distributed", dist}}, "",
                     {"wall", "diff_reused", "specialized", "reference", "cpu"});
  t.AddColumn({"seed", "s", 2}, {kSeedOneNodeSeconds * o.time_scale,
                                 kSeedDistributedSeconds * o.time_scale});
  t.AddColumn({"specialized_requests"},
              {one_node.StageRequests("specialized"), dist.StageRequests("specialized")});
  t.AddColumn({"reference_requests"},
              {one_node.StageRequests("reference"), dist.StageRequests("reference")});
  t.notes.push_back(fmt::format("seed: Figure 4 (500 frames, 2-CPU edge: {:.0f} s vs {:.0f} s) x {}",
                                kSeedOneNodeSeconds, kSeedDistributedSeconds, o.time_scale));
  return t;
}

Table FiguresTable(const Analysis& a, const CascadeRunStats& one_node, const CascadeRunStats& dist) {
  const double ratio = one_node.wall_seconds / dist.wall_seconds;
  Table t = FigureTable("edge_figures", "one node / distributed, and the ideal from the counts");
  AddFigure(t, "ratio", ratio, "");
  AddFigure(t, "seed_ratio", kSeedOneNodeSeconds / kSeedDistributedSeconds, "");
  AddFigure(t, "ideal_ratio", a.ideal, "");
  AddFigure(t, "ratio_over_ideal", a.ideal > 0 ? ratio / a.ideal : 0, "");
  AddFigure(t, "one_node_model_time", a.w1, "s");
  AddFigure(t, "distributed_bound", a.bound, "s");
  AddFigure(t, "reference_share", 100 * a.reference_share, "%");
  AddFigure(t, "servers_for_seed_ratio", a.servers_for_seed, "");
  AddFigure(t, "saturation_servers", a.saturation_servers, "");
  AddFigure(t, "saturation_ratio", a.saturation_ratio, "");
  return t;
}

std::vector<std::string> Setup(const EdgeBenchOptions& o, const Costs& c, const ReplayWorkload& w) {
  return {fmt::format("{} frames of {} ({}x{}); time scale {}: specialized {:.4g} s, reference "
                      "{:.4g} s per request; network {:.4g} s per request; difference detector "
                      "real (global MSE, threshold {}); c_low 0.2, c_high 0.8",
                      w.size.frames, w.video, w.size.width, w.size.height, o.time_scale,
                      c.specialized, c.reference, c.network, o.diff_threshold),
          "one node: every stage in this process; the two model stages take turns on one node "
          "(one model request at a time, so their service times add up as on the seed's edge "
          "machine); decoding and the difference detector overlap with them",
          fmt::format("distributed: 1 specialized server ({} frame(s) per request), {} reference "
                      "servers (one request at a time each), {} frames; network emulated in "
                      "process on the client side: each model reply reaches the cascade the "
                      "delay later (emulation::DelayedStage), plus the real loopback round trip",
                      o.specialized_batch, o.servers, PayloadFormatName(o.payload))};
}

}  // namespace

absl::StatusOr<ScenarioResult> RunEdgeBench(const EdgeBenchOptions& o, const ScenarioEnv& env) {
  DNS_RETURN_IF_ERROR(CheckOptions(o));
  const Costs costs{kSeedSpecializedSeconds * o.time_scale, kSeedReferenceSeconds * o.time_scale,
                    kSeedNetworkSeconds * o.time_scale};
  env.Progress(fmt::format("edge: rendering a {}x{} synthetic video of {} frames", o.size.width,
                           o.size.height, o.size.frames));
  DNS_ASSIGN_OR_RETURN(ReplayWorkload w,
                       PrepareReplayWorkload({.size = o.size, .uncertain_share = o.uncertain_share},
                                             env.scratch_dir + "/workload"));
  std::vector<labels::FrameResult> local_rows, remote_rows;
  env.Progress("edge: one node (every stage in process, the models taking turns)");
  DNS_ASSIGN_OR_RETURN(CascadeSetup one_setup, OneNodeSetup(o, costs, w));
  DNS_ASSIGN_OR_RETURN(CascadeRunStats one_node,
                       RunCascade(one_setup, FirstFrames(w.video, w.size.frames), &local_rows));
  env.Progress(fmt::format("edge: one node {:.2f} s; distributed ({} reference servers)",
                           one_node.wall_seconds, o.servers));
  Fleets fleets;
  DNS_ASSIGN_OR_RETURN(CascadeSetup dist_setup,
                       DistributedSetup(o, costs, w, env.scratch_dir + "/servers", &fleets));
  DNS_ASSIGN_OR_RETURN(CascadeRunStats dist,
                       RunCascade(dist_setup, FirstFrames(w.video, w.size.frames), &remote_rows));
  env.Progress(fmt::format("edge: distributed {:.2f} s", dist.wall_seconds));
  const Analysis a = Analyse(costs, one_node, dist, o.servers);
  ScenarioResult r{.scenario = "edge", .title = "Figure 4: one node vs distributed on the edge"};
  r.setup = Setup(o, costs, w);
  r.tables = {RunsTable(o, one_node, dist), FiguresTable(a, one_node, dist),
              StageTable("edge_stages", "per stage of the distributed run", dist)};
  r.notes = {LimitSentence(a, costs, one_node, dist, o.servers)};
  AddChecks("one node", one_node, &r.checks);
  AddChecks("distributed", dist, &r.checks);
  CompareRows(local_rows, remote_rows, &r.checks);
  if (one_node.StageRequests("reference") != dist.StageRequests("reference")) {
    r.checks.push_back(fmt::format("reference requests: one node {}, distributed {}",
                                   one_node.StageRequests("reference"),
                                   dist.StageRequests("reference")));
  }
  return r;
}

}  // namespace dnoscope::bench
