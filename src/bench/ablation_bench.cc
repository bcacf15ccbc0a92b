#include "bench/ablation_bench.h"

#include <algorithm>
#include <chrono>

#include "absl/status/status.h"
#include "bench/cascade_run.h"
#include "bench/seed.h"
#include "client/remote_stage.h"
#include "client/wire.h"
#include "common/status_macros.h"
#include "fmt/format.h"

namespace dnoscope::bench {
namespace {

// The seed's specialized cost per request (0.026 s) x 0.1, the default
// time scale of the other scenarios.
constexpr double kSpecializedMs = 1000 * kSeedSpecializedSeconds * 0.1;
constexpr double kReferenceMs = 20;
constexpr double kSlowFactor = 3;

// One run's settings; every table changes one of them.
struct Variant {
  std::string label;
  client::BalancePolicy policy = client::BalancePolicy::kPowerOfTwo;
  int specialized_batch = 8;
  // How long a partial specialized batch may wait for more frames.
  std::chrono::milliseconds specialized_delay{2};
  cascade::PayloadOptions payload;
  client::WireFormat reference_wire = client::WireFormat::kKserveBinary;
  int max_model_frames = 64;
  int max_in_flight_per_endpoint = 64;
  // The specialized stage's per-server limit. At 1 the server never holds
  // two requests, so its own merging of queued requests (it batches what is
  // queued, up to max_batch_size 64) cannot stand in for the client's.
  int specialized_in_flight = 64;
};

// The servers of one table: one specialized server and the reference fleet.
struct TableSpec {
  std::string name;
  std::string stage;
  double specialized_ms = 0;
  std::vector<double> reference_ms;
  std::vector<Variant> variants;
};

TableSpec BalanceTable() {
  TableSpec t{
      .name = "balance",
      .stage = "reference",
      .reference_ms = {kReferenceMs, kReferenceMs, kReferenceMs, kSlowFactor * kReferenceMs}};
  t.variants.push_back({.label = "random", .policy = client::BalancePolicy::kRandom});
  t.variants.push_back({.label = "p2c", .policy = client::BalancePolicy::kPowerOfTwo});
  return t;
}

TableSpec BatchingTable() {
  TableSpec t{.name = "batching",
              .stage = "specialized",
              .specialized_ms = kSpecializedMs,
              .reference_ms = {0, 0}};
  for (auto [batch, delay_ms] : {std::pair{1, 0}, {8, 2}, {16, 2}, {8, 20}, {16, 20}}) {
    t.variants.push_back({.label = fmt::format("max_batch {}, {} ms", batch, delay_ms),
                          .specialized_batch = batch,
                          .specialized_delay = std::chrono::milliseconds(delay_ms),
                          .specialized_in_flight = 1});
  }
  // One frame per request but many in flight: the server merges them.
  t.variants.push_back({.label = "max_batch 1, 64 in fl.",
                        .specialized_batch = 1,
                        .specialized_delay = std::chrono::milliseconds(0)});
  return t;
}

TableSpec PayloadTable() {
  TableSpec t{.name = "payload", .stage = "reference", .reference_ms = {0, 0}};
  t.variants.push_back({.label = "raw (kserve binary)"});
  t.variants.push_back(
      {.label = "jpeg q90", .payload = {.format = cascade::PayloadFormat::kJpeg}});
  t.variants.push_back({.label = "png", .payload = {.format = cascade::PayloadFormat::kPng}});
  t.variants.push_back(
      {.label = "raw (kserve json)", .reference_wire = client::WireFormat::kKserveJson});
  return t;
}

TableSpec WindowTable() {
  TableSpec t{
      .name = "window", .stage = "reference", .reference_ms = std::vector<double>(4, kReferenceMs)};
  for (int window : {1, 4, 16, 64}) {
    t.variants.push_back(
        {.label = fmt::format("window {}, 64/server", window), .max_model_frames = window});
  }
  for (int per_server : {1, 4}) {
    t.variants.push_back({.label = fmt::format("window 64, {}/server", per_server),
                          .max_in_flight_per_endpoint = per_server});
  }
  return t;
}

absl::StatusOr<TableSpec> FindTable(const std::string& name) {
  if (name == "balance") return BalanceTable();
  if (name == "batching") return BatchingTable();
  if (name == "payload") return PayloadTable();
  if (name == "window") return WindowTable();
  return absl::InvalidArgumentError(
      fmt::format("unknown ablation '{}'; choose balance, batching, payload or window", name));
}

std::string Ms(double ms) { return ms == 0 ? "0 ms" : fmt::format("{:g} ms", ms); }

std::string SetupLine(const TableSpec& t, const AblationOptions& o) {
  std::string ref;
  for (double ms : t.reference_ms) ref += (ref.empty() ? "" : ", ") + Ms(ms);
  std::string line = fmt::format(
      "specialized: 1 server, {} per request; reference: {} server(s) one request at a time, "
      "{}; {:.0f}% of frames to the reference",
      Ms(t.specialized_ms), t.reference_ms.size(), ref, 100 * o.uncertain_share);
  if (t.name == "batching") line += "; specialized: 1 request in flight unless said";
  if (t.name != "batching") line += "; specialized max_batch 8";
  if (t.name != "window") line += "; window 64, 64 in flight per server";
  if (t.name != "balance") line += "; p2c";
  if (t.name != "payload") line += "; raw frames, kserve binary";
  return line;
}

struct Fleets {
  std::unique_ptr<emulation::ReplayFleet> specialized;
  std::unique_ptr<emulation::ReplayFleet> reference;
};

absl::StatusOr<CascadeRunStats> RunVariant(const ReplayWorkload& w, const Fleets& fleets,
                                           const Variant& v) {
  CascadeSetup setup{.config = ReplayCascadeConfig(/*specialized=*/true, /*difference=*/false)};
  setup.options.max_model_frames = v.max_model_frames;
  setup.options.specialized_batching.max_batch = v.specialized_batch;
  setup.options.specialized_batching.max_delay = v.specialized_delay;
  setup.options.reference_payload = v.payload;
  DNS_ASSIGN_OR_RETURN(setup.specialized,
                       client::ConnectRemoteStage(fleets.specialized->endpoints(),
                                                  RemoteOptions(kSpecializedModel, v.policy,
                                                                v.specialized_in_flight)));
  DNS_ASSIGN_OR_RETURN(setup.reference,
                       client::ConnectRemoteStage(fleets.reference->endpoints(),
                                                  RemoteOptions(kReferenceModel, v.policy,
                                                                v.max_in_flight_per_endpoint),
                                                  {.format = v.reference_wire}));
  return RunCascade(setup, FirstFrames(w.video, w.size.frames));
}

// Requests the last (slow) reference server got.
int64_t SlowServerRequests(const CascadeRunStats& run, const emulation::ReplayFleet& fleet) {
  const cascade::StageReport* ref = run.Stage("reference");
  const std::string slow = fleet.endpoints().back().ToString();
  for (const auto& e : ref ? ref->stats.endpoints : std::vector<models::StageEndpointStats>{}) {
    if (e.name == slow) return e.requests;
  }
  return 0;
}

absl::StatusOr<Table> RunAblation(const AblationOptions& o, const ScenarioEnv& env,
                                  const ReplayWorkload& w, const TableSpec& t,
                                  std::vector<std::string>* checks) {
  const std::string dir = fmt::format("{}/{}", env.scratch_dir, t.name);
  Fleets fleets;
  DNS_ASSIGN_OR_RETURN(fleets.specialized, emulation::ReplayFleet::Start(
                                               dir + "/spec", ClassifierSpec(w, 64), {t.specialized_ms}));
  DNS_ASSIGN_OR_RETURN(fleets.reference,
                       emulation::ReplayFleet::Start(dir + "/ref", DetectorSpec(w), t.reference_ms));
  std::vector<KeyedRun> runs;
  for (const Variant& v : t.variants) {
    DNS_ASSIGN_OR_RETURN(CascadeRunStats run, RunVariant(w, fleets, v));
    env.Progress(fmt::format("ablations {} / {}: {:.2f} s, {:.1f} frames/s", t.name, v.label,
                             run.wall_seconds, run.frames_per_second));
    runs.push_back({v.label, std::move(run)});
  }
  Table table = RunTable("ablations_" + t.name, fmt::format("[{}] {}", t.name, SetupLine(t, o)),
                         {"variant"}, runs, t.stage,
                         {"wall", "rate", "requests", "frames_per_request", "sent", "p50", "p99",
                          "e2e_p99"});
  AddChecks({t.name}, runs, checks);
  if (t.name == "balance") {
    std::vector<Cell> slow;
    for (const KeyedRun& r : runs) slow.push_back(SlowServerRequests(r.run, *fleets.reference));
    table.AddColumn({"slow_server_requests"}, std::move(slow));
  }
  return table;
}

absl::Status CheckOptions(const AblationOptions& o) {
  if (!(o.uncertain_share >= 0 && o.uncertain_share <= 1)) {
    return absl::InvalidArgumentError("uncertain_share must be in [0, 1]");
  }
  if (o.tables.empty()) return absl::InvalidArgumentError("choose at least one table");
  for (const std::string& name : o.tables) DNS_RETURN_IF_ERROR(FindTable(name).status());
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<ScenarioResult> RunAblationBench(const AblationOptions& o, const ScenarioEnv& env) {
  DNS_RETURN_IF_ERROR(CheckOptions(o));
  env.Progress(fmt::format("ablations: rendering a {}x{} synthetic video of {} frames",
                           o.size.width, o.size.height, o.size.frames));
  DNS_ASSIGN_OR_RETURN(ReplayWorkload w,
                       PrepareReplayWorkload({.size = o.size, .uncertain_share = o.uncertain_share},
                                             env.scratch_dir + "/workload"));
  ScenarioResult r{.scenario = "ablations", .title = "Ablations"};
  r.setup = {fmt::format("{} frames of {} ({}x{}), difference detector off, everything on "
                         "127.0.0.1 without emulated delay",
                         w.size.frames, w.video, w.size.width, w.size.height)};
  for (const std::string& name : o.tables) {
    DNS_ASSIGN_OR_RETURN(TableSpec spec, FindTable(name));
    DNS_ASSIGN_OR_RETURN(Table table, RunAblation(o, env, w, spec, &r.checks));
    r.tables.push_back(std::move(table));
  }
  r.notes = {"columns: requests, frames per request, bytes sent and request latency (submit to "
             "result) of the table's stage; e2e = decode to row, every frame"};
  return r;
}

}  // namespace dnoscope::bench
