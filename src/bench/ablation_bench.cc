// How `bench ablations` runs, and its tables, CSV and JSON.
#include "bench/ablation_bench.h"

#include <algorithm>
#include <chrono>

#include "absl/status/status.h"
#include "bench/cascade_run.h"
#include "bench/replay_fleet.h"
#include "client/wire.h"
#include "common/clock.h"
#include "common/status_macros.h"
#include "client/remote_stage.h"
#include "fmt/format.h"
#include "nlohmann/json.hpp"

namespace dnoscope::bench {
namespace {

using Json = nlohmann::ordered_json;

constexpr char kSpecializedModel[] = "spec";
constexpr char kReferenceModel[] = "ref";
constexpr char kObject[] = "person";
// The seed's specialized cost per request (0.026 s) x 0.1, the default
// time scale of the other scenarios.
constexpr double kSpecializedMs = 2.6;
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

void Report(const BenchProgress& progress, const std::string& line) {
  if (progress) progress(line);
}

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

client::RemoteModelOptions RemoteOptions(const std::string& model, const Variant& v) {
  client::RemoteModelOptions o;
  o.model = model;
  o.balancer.policy = v.policy;
  o.balancer.max_in_flight_per_endpoint = v.max_in_flight_per_endpoint;
  return o;
}

cascade::CascadeConfig AblationConfig() {
  cascade::CascadeConfig config;
  config.object = kObject;
  config.diff_enabled = false;
  config.specialized.model = kSpecializedModel;
  config.c_low = 0.2f;
  config.c_high = 0.8f;
  config.reference.model = kReferenceModel;
  return config;
}

struct Fleets {
  std::vector<std::unique_ptr<ReplayServer>> specialized;
  std::vector<std::unique_ptr<ReplayServer>> reference;
};

absl::StatusOr<AblationRow> RunVariant(const ReplayWorkload& w, const Fleets& fleets,
                                       const Variant& v) {
  cascade::CascadeOptions options;
  options.max_model_frames = v.max_model_frames;
  options.specialized_batching.max_batch = v.specialized_batch;
  options.specialized_batching.max_delay = v.specialized_delay;
  options.reference_payload = v.payload;
  Variant spec_variant = v;
  spec_variant.max_in_flight_per_endpoint = v.specialized_in_flight;
  DNS_ASSIGN_OR_RETURN(
      auto spec, client::ConnectRemoteStage(FleetEndpoints(fleets.specialized),
                                              RemoteOptions(kSpecializedModel, spec_variant)));
  DNS_ASSIGN_OR_RETURN(auto ref, client::ConnectRemoteStage(FleetEndpoints(fleets.reference),
                                                              RemoteOptions(kReferenceModel, v),
                                                              {.format = v.reference_wire}));
  AblationRow row;
  row.variant = v.label;
  DNS_ASSIGN_OR_RETURN(row.run, RunAsyncCascadeTimed(AblationConfig(), options, std::move(spec),
                                                     std::move(ref), w.video, w.frames));
  return row;
}

int64_t EndpointRequests(const CascadeRunStats& s, const std::string& stage,
                         const std::string& endpoint) {
  const cascade::StageReport* report = FindStageReport(s.report, stage);
  if (report == nullptr) return 0;
  for (const models::StageEndpointStats& e : report->stats.endpoints) {
    if (e.name == endpoint) return e.requests;
  }
  return 0;
}

absl::StatusOr<AblationTable> RunTable(const AblationOptions& o, const ReplayWorkload& w,
                                       const TableSpec& t) {
  const std::string dir = fmt::format("{}/{}", o.scratch_dir, t.name);
  ReplayModelSpec spec_model{.name = kSpecializedModel,
                             .kind = "classifier",
                             .labels_file = w.classifier_labels,
                             .object_name = kObject,
                             .max_batch_size = 64};
  ReplayModelSpec ref_model{
      .name = kReferenceModel, .labels_file = w.reference_labels, .object_name = kObject};
  Fleets fleets;
  DNS_ASSIGN_OR_RETURN(fleets.specialized,
                       StartReplayFleet(dir + "/spec", spec_model, {t.specialized_ms}));
  DNS_ASSIGN_OR_RETURN(fleets.reference, StartReplayFleet(dir + "/ref", ref_model, t.reference_ms));
  AblationTable table{.name = t.name, .setup = SetupLine(t, o), .stage = t.stage};
  for (const Variant& v : t.variants) {
    DNS_ASSIGN_OR_RETURN(AblationRow row, RunVariant(w, fleets, v));
    if (t.name == "balance") {
      row.slow_server_requests =
          EndpointRequests(row.run, "reference", fleets.reference.back()->endpoint().ToString());
    }
    Report(o.progress, fmt::format("ablations {} / {}: {:.2f} s, {:.1f} frames/s", t.name,
                                   row.variant, row.run.wall_seconds, row.run.frames_per_second));
    table.rows.push_back(std::move(row));
  }
  return table;
}

absl::Status CheckOptions(const AblationOptions& o) {
  if (o.frames < 1) return absl::InvalidArgumentError("frames must be >= 1");
  if (o.width < 16 || o.height < 16) return absl::InvalidArgumentError("video too small");
  if (!(o.uncertain_share >= 0 && o.uncertain_share <= 1)) {
    return absl::InvalidArgumentError("uncertain_share must be in [0, 1]");
  }
  if (o.tables.empty()) return absl::InvalidArgumentError("choose at least one table");
  for (const std::string& name : o.tables) DNS_RETURN_IF_ERROR(FindTable(name).status());
  if (o.scratch_dir.empty()) return absl::InvalidArgumentError("scratch_dir must be set");
  return absl::OkStatus();
}

const cascade::StageReport& Stage(const AblationTable& t, const AblationRow& row) {
  static const cascade::StageReport kNone;
  const cascade::StageReport* s = FindStageReport(row.run.report, t.stage);
  return s == nullptr ? kNone : *s;
}

std::string Note(const AblationRow& row, const cascade::StageReport& s) {
  if (row.slow_server_requests < 0) return "";
  return fmt::format("slow server {} ({:.0f}%)", row.slow_server_requests,
                     s.requests > 0 ? 100.0 * row.slow_server_requests / s.requests : 0);
}

Json LatencyJson(const cascade::LatencySummary& l) {
  return {{"count", l.count},
          {"p50_ms", l.p50_ms},
          {"p90_ms", l.p90_ms},
          {"p99_ms", l.p99_ms},
          {"max_ms", l.max_ms}};
}

}  // namespace

absl::StatusOr<AblationResult> RunAblationBench(const AblationOptions& o) {
  DNS_RETURN_IF_ERROR(CheckOptions(o));
  const Clock::TimePoint start = Clock::Real()->Now();
  Report(o.progress, fmt::format("ablations: rendering a {}x{} synthetic video of {} frames",
                                 o.width, o.height, o.frames));
  DNS_ASSIGN_OR_RETURN(ReplayWorkload w,
                       PrepareReplayWorkload({.frames = o.frames,
                                              .width = o.width,
                                              .height = o.height,
                                              .uncertain_share = o.uncertain_share,
                                              .object_name = kObject},
                                             o.scratch_dir + "/workload"));
  AblationResult result;
  result.video = w.video;
  result.width = w.width;
  result.height = w.height;
  result.frames = w.frames;
  for (const std::string& name : o.tables) {
    DNS_ASSIGN_OR_RETURN(TableSpec spec, FindTable(name));
    DNS_ASSIGN_OR_RETURN(AblationTable table, RunTable(o, w, spec));
    result.tables.push_back(std::move(table));
  }
  result.total_seconds = SecondsBetween(start, Clock::Real()->Now());
  return result;
}

std::string FormatAblationBench(const AblationResult& r) {
  std::string out = fmt::format(
      "{} frames of {} ({}x{}), difference detector off, everything on 127.0.0.1 without "
      "emulated delay\n",
      r.frames, r.video, r.width, r.height);
  for (const AblationTable& t : r.tables) {
    out += fmt::format("\n[{}] {}\n", t.name, t.setup);
    out += fmt::format("{:<22} {:>7} {:>9} {:>9} {:>8} {:>9} {:>8} {:>8} {:>10}  {}\n", "variant",
                       "wall s", "frames/s", t.stage == "reference" ? "ref req" : "spec req",
                       "fr/req", "MB sent", "p50 ms", "p99 ms", "e2e p99 ms", "");
    for (const AblationRow& row : t.rows) {
      const cascade::StageReport& s = Stage(t, row);
      out += fmt::format(
          "{:<22} {:>7.2f} {:>9.1f} {:>9} {:>8.2f} {:>9.1f} {:>8.2f} {:>8.2f} {:>10.1f}  {}\n",
          row.variant, row.run.wall_seconds, row.run.frames_per_second, s.requests,
          s.requests > 0 ? static_cast<double>(s.frames) / s.requests : 0, s.bytes_sent / 1e6,
          s.latency.p50_ms, s.latency.p99_ms, row.run.report.end_to_end_latency.p99_ms,
          Note(row, s));
    }
    for (const AblationRow& row : t.rows) {
      for (const std::string& c : row.run.checks) {
        out += fmt::format("CHECK FAILED ({} / {}): {}\n", t.name, row.variant, c);
      }
    }
  }
  out +=
      "\ncolumns: requests, frames per request, bytes sent and request latency (submit to "
      "result) of the table's stage; e2e = decode to row, every frame\n";
  return out;
}

std::string AblationBenchCsv(const AblationResult& r) {
  std::string out =
      "table,variant,frames,wall_seconds,frames_per_second,stage,requests,stage_frames,"
      "bytes_sent,p50_ms,p90_ms,p99_ms,max_ms,e2e_p50_ms,e2e_p99_ms,slow_server_requests\n";
  for (const AblationTable& t : r.tables) {
    for (const AblationRow& row : t.rows) {
      const cascade::StageReport& s = Stage(t, row);
      const cascade::LatencySummary& e2e = row.run.report.end_to_end_latency;
      out += fmt::format(
          "{},\"{}\",{},{:.4f},{:.2f},{},{},{},{},{:.3f},{:.3f},{:.3f},{:.3f},{:.3f},{:.3f},{}\n",
          t.name, row.variant, row.run.frames, row.run.wall_seconds, row.run.frames_per_second,
          t.stage, s.requests, s.frames, s.bytes_sent, s.latency.p50_ms, s.latency.p90_ms,
          s.latency.p99_ms, s.latency.max_ms, e2e.p50_ms, e2e.p99_ms, row.slow_server_requests);
    }
  }
  return out;
}

std::string AblationBenchJson(const AblationResult& r) {
  Json tables = Json::array();
  for (const AblationTable& t : r.tables) {
    Json rows = Json::array();
    for (const AblationRow& row : t.rows) {
      const cascade::StageReport& s = Stage(t, row);
      Json j = {{"variant", row.variant},
                {"frames", row.run.frames},
                {"wall_seconds", row.run.wall_seconds},
                {"frames_per_second", row.run.frames_per_second},
                {"cpu_seconds", row.run.cpu_seconds},
                {"requests", s.requests},
                {"stage_frames", s.frames},
                {"bytes_sent", s.bytes_sent},
                {"latency", LatencyJson(s.latency)},
                {"end_to_end_latency", LatencyJson(row.run.report.end_to_end_latency)},
                {"report", Json::parse(cascade::ReportToJson(row.run.report))},
                {"checks", row.run.checks}};
      if (row.slow_server_requests >= 0) j["slow_server_requests"] = row.slow_server_requests;
      rows.push_back(std::move(j));
    }
    tables.push_back({{"name", t.name}, {"setup", t.setup}, {"stage", t.stage}, {"rows", rows}});
  }
  Json j = {{"video", r.video},   {"width", r.width}, {"height", r.height},
            {"frames", r.frames}, {"tables", tables}, {"total_seconds", r.total_seconds}};
  return j.dump(2) + "\n";
}

}  // namespace dnoscope::bench
