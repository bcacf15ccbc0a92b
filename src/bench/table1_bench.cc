// How `bench table1` runs; the tables, CSV and JSON are in
// table1_bench_report.cc.
#include "bench/table1_bench.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <ctime>
#include <iterator>
#include <limits>
#include <set>
#include <string_view>

#include "absl/status/status.h"
#include "emulation/delayed_stage.h"
#include "bench/replay_fleet.h"
#include "cascade/cascade.h"
#include "client/http_client.h"
#include "common/status_macros.h"
#include "bench/cascade_run.h"
#include "client/remote_stage.h"
#include "models/local_stage.h"
#include "fmt/format.h"
#include "labels/label_csv.h"
#include "models/backends/replay.h"
#include "video/frame_source.h"

namespace dnoscope::bench {
namespace {

using labels::FrameStatus;

constexpr char kReferenceModel[] = "ref";
constexpr char kSpecializedModel[] = "spec";
constexpr char kObject[] = "person";

void Report(const BenchProgress& progress, const std::string& line) {
  if (progress) progress(line);
}

const SeedTable1Row* FindSeedRow(int64_t frames) {
  for (const SeedTable1Row& row : SeedTable1()) {
    if (row.frames == frames) return &row;
  }
  return nullptr;
}

absl::Status CheckOptions(const Table1Options& o) {
  if (!(o.time_scale > 0) || o.time_scale > 100) {
    return absl::InvalidArgumentError("time_scale must be in (0, 100]");
  }
  if (o.rows.empty() || o.servers.empty()) {
    return absl::InvalidArgumentError("at least one N_F and one N_S are needed");
  }
  for (int64_t frames : o.rows) {
    if (FindSeedRow(frames) == nullptr) {
      return absl::InvalidArgumentError(fmt::format(
          "N_F = {} is not a row of the seed's Table 1 (50, 500, 1000, 2000, 5000)", frames));
    }
  }
  for (int n : o.servers) {
    if (n < 1) return absl::InvalidArgumentError("N_S must be >= 1");
  }
  if (o.width < 16 || o.height < 16) return absl::InvalidArgumentError("video too small");
  if (o.scratch_dir.empty()) return absl::InvalidArgumentError("scratch_dir must be set");
  return cascade::ParsePayloadFormat(o.payload).status();
}

// Exactly n_r of the frames [0, n_f) go to the reference, evenly spread:
// frame f does when floor((f + 1) n_r / n_f) > floor(f n_r / n_f).
bool GoesToReference(int64_t f, int64_t n_f, int64_t n_r) {
  return (f + 1) * n_r / n_f != f * n_r / n_f;
}

// The replay classifier's labels: 0.5 (between c_low and c_high, so on to
// the reference) for the chosen frames; 0.95 (decided: present) for the
// other frames where the reference sees the object; 0 (decided: absent)
// for the rest.
absl::Status WriteClassifierLabels(const std::string& path, int64_t n_f, int64_t n_r,
                                   const std::set<int64_t>& positive, int width, int height) {
  std::vector<labels::Detection> rows;
  for (int64_t f = 0; f < n_f; ++f) {
    float confidence = 0;
    if (GoesToReference(f, n_f, n_r)) {
      confidence = 0.5f;
    } else if (positive.count(f) > 0) {
      confidence = 0.95f;
    }
    if (confidence > 0) {
      rows.push_back(
          {f, kObject, confidence, 0, 0, static_cast<float>(width), static_cast<float>(height)});
    }
  }
  return labels::WriteLabelCsv(path, rows);
}

// Counters of the "ref" model on one server (Triton-style /metrics).
struct ServerCounters {
  double requests = 0;
  double executions = 0;
  double request_us = 0;
  double queue_us = 0;
  double compute_us = 0;
};

// The sample of `metric` for model `model` in a Prometheus exposition; 0
// when absent.
double MetricValue(std::string_view text, std::string_view metric, std::string_view model) {
  const std::string prefix = fmt::format("{}{{model=\"{}\",", metric, model);
  for (size_t pos = text.find(prefix); pos != std::string_view::npos;
       pos = text.find(prefix, pos + 1)) {
    if (pos != 0 && text[pos - 1] != '\n') continue;
    const size_t end = std::min(text.find('\n', pos), text.size());
    const std::string line(text.substr(pos, end - pos));
    return std::strtod(line.c_str() + line.rfind(' ') + 1, nullptr);
  }
  return 0;
}

absl::StatusOr<ServerCounters> ScrapeCounters(client::HttpClient& http,
                                              const client::Endpoint& endpoint) {
  client::HttpCall call;
  call.method = "GET";
  call.target = "/metrics";
  call.content_type.clear();
  DNS_ASSIGN_OR_RETURN(client::HttpResult r, http.SendSync(endpoint, call));
  if (r.status != 200) {
    return absl::UnavailableError(
        fmt::format("{} answered {} to GET /metrics", endpoint.ToString(), r.status));
  }
  ServerCounters c;
  c.requests = MetricValue(r.body, "nv_inference_request_success", kReferenceModel);
  c.executions = MetricValue(r.body, "nv_inference_exec_count", kReferenceModel);
  c.request_us = MetricValue(r.body, "nv_inference_request_duration_us", kReferenceModel);
  c.queue_us = MetricValue(r.body, "nv_inference_queue_duration_us", kReferenceModel);
  c.compute_us = MetricValue(r.body, "nv_inference_compute_infer_duration_us", kReferenceModel);
  return c;
}

absl::StatusOr<std::vector<ServerCounters>> ScrapeFleet(
    client::HttpClient& http, const std::vector<std::unique_ptr<ReplayServer>>& servers) {
  std::vector<ServerCounters> all;
  for (const auto& s : servers) {
    DNS_ASSIGN_OR_RETURN(ServerCounters c, ScrapeCounters(http, s->endpoint()));
    all.push_back(c);
  }
  return all;
}

// Mean round trip of GET /v2/health/ready, seconds, after a warm-up.
absl::StatusOr<double> MeasureLoopbackRtt(client::HttpClient& http,
                                          const client::Endpoint& endpoint, int calls) {
  client::HttpCall call;
  call.method = "GET";
  call.target = "/v2/health/ready";
  call.content_type.clear();
  double total = 0;
  for (int i = -10; i < calls; ++i) {
    const Clock::TimePoint start = Clock::Real()->Now();
    DNS_ASSIGN_OR_RETURN(client::HttpResult r, http.SendSync(endpoint, call));
    if (r.status != 200) {
      return absl::UnavailableError(
          fmt::format("{} answered {} to /v2/health/ready", endpoint.ToString(), r.status));
    }
    if (i >= 0) total += SecondsBetween(start, Clock::Real()->Now());
  }
  return total / calls;
}

// Measures the loopback round trip (part of T_n) and says how the rest of
// the network is emulated.
absl::Status MeasureNetwork(client::HttpClient& http, const ReplayServer& server,
                            Table1Result& result) {
  DNS_ASSIGN_OR_RETURN(result.loopback_rtt_seconds,
                       MeasureLoopbackRtt(http, server.endpoint(), 200));
  result.network_emulation = fmt::format(
      "in process, client side: each reference reply reaches the cascade {:.1f} ms late "
      "(emulation::DelayedStage; the server is free meanwhile), on top of the loopback round "
      "trip ({:.3f} ms measured); no tc netem",
      1000 * result.network_delay_seconds, 1000 * result.loopback_rtt_seconds);
  return absl::OkStatus();
}

absl::StatusOr<std::vector<std::unique_ptr<ReplayServer>>> StartFleet(const std::string& dir,
                                                                      const std::string& labels,
                                                                      int count,
                                                                      double service_ms) {
  std::vector<std::unique_ptr<ReplayServer>> servers;
  for (int i = 0; i < count; ++i) {
    ReplayModelSpec ref{.name = kReferenceModel,
                        .labels_file = labels,
                        .service_time_ms = service_ms,
                        .object_name = kObject,
                        .instance_count = 1};
    DNS_ASSIGN_OR_RETURN(std::unique_ptr<ReplayServer> server,
                         ReplayServer::Start(fmt::format("{}/server{}", dir, i), {ref}));
    servers.push_back(std::move(server));
  }
  return servers;
}

// Everything a cell needs that does not change from cell to cell.
struct Table1Context {
  const Table1Options* options = nullptr;
  const Table1Result* result = nullptr;
  ReplayWorkload workload;
  std::set<int64_t> positive;
  client::HttpClient* http = nullptr;
};

struct CellStages {
  std::unique_ptr<models::ModelStage> specialized;
  std::unique_ptr<models::ModelStage> reference;
  emulation::DelayedStage* delayed = nullptr;  // the reference stage, owned by the cascade
};

absl::StatusOr<CellStages> MakeCellStages(const Table1Context& ctx, const SeedTable1Row& seed,
                                          const std::vector<std::unique_ptr<ReplayServer>>& fleet,
                                          int max_model_frames) {
  const Table1Options& o = *ctx.options;
  const std::string labels = fmt::format("{}/classifier_{}.csv", o.scratch_dir, seed.frames);
  DNS_RETURN_IF_ERROR(WriteClassifierLabels(labels, seed.frames, seed.reference_frames,
                                            ctx.positive, ctx.workload.width, ctx.workload.height));
  CellStages stages;
  DNS_ASSIGN_OR_RETURN(
      std::unique_ptr<models::Model> classifier,
      models::CreateReplayClassifier(labels, {.object_name = kObject}, kSpecializedModel, 1,
                                     /*max_batch_size=*/64));
  stages.specialized = models::MakeLocalStage(std::move(classifier));
  client::RemoteModelOptions remote;
  remote.model = kReferenceModel;
  remote.balancer.policy = o.policy;
  // The cascade's window, not the client, bounds what is in flight: the
  // requests queue at the servers, as the seed's asyncio client did.
  remote.balancer.max_in_flight_per_endpoint = max_model_frames;
  // A request may wait behind the whole window at one server.
  remote.attempt_timeout = std::chrono::milliseconds(
      60000 + static_cast<int64_t>(2 * max_model_frames * ctx.result->service_seconds * 1000));
  std::vector<client::Endpoint> endpoints;
  for (const auto& s : fleet) endpoints.push_back(s->endpoint());
  DNS_ASSIGN_OR_RETURN(std::unique_ptr<models::ModelStage> inner,
                       client::ConnectRemoteStage(std::move(endpoints), remote));
  const auto delay = std::chrono::duration_cast<Clock::Duration>(
      std::chrono::duration<double>(ctx.result->network_delay_seconds));
  DNS_ASSIGN_OR_RETURN(std::unique_ptr<emulation::DelayedStage> delayed,
                       emulation::DelayedStage::Create(std::move(inner), delay));
  stages.delayed = delayed.get();
  stages.reference = std::move(delayed);
  return stages;
}

// Rows as the cascade emitted them.
struct RowCount {
  int64_t rows = 0;
  int64_t reference = 0;
  int64_t out_of_order = 0;
};

// Fills the decomposition of `cell` from the client's request times and
// the servers' counter deltas.
void Decompose(const Table1Context& ctx, const std::vector<emulation::StageRequestTimes>& times,
               const std::vector<ServerCounters>& before, const std::vector<ServerCounters>& after,
               Table1Cell& cell) {
  const Table1Result& r = *ctx.result;
  double client_sum = 0;
  for (const emulation::StageRequestTimes& t : times) {
    client_sum += SecondsBetween(t.submit, t.reply);
    if (!t.ok) cell.checks.push_back("a reference request failed");
  }
  cell.client_requests = static_cast<int64_t>(times.size());
  ServerCounters sum;
  cell.min_server_requests = std::numeric_limits<int64_t>::max();
  for (size_t i = 0; i < after.size(); ++i) {
    const double requests = after[i].requests - before[i].requests;
    sum.requests += requests;
    sum.executions += after[i].executions - before[i].executions;
    sum.request_us += after[i].request_us - before[i].request_us;
    sum.queue_us += after[i].queue_us - before[i].queue_us;
    sum.compute_us += after[i].compute_us - before[i].compute_us;
    const int64_t rounded = static_cast<int64_t>(std::llround(requests));
    cell.min_server_requests = std::min(cell.min_server_requests, rounded);
    cell.max_server_requests = std::max(cell.max_server_requests, rounded);
  }
  cell.server_requests = static_cast<int64_t>(std::llround(sum.requests));
  cell.t_n = r.network_delay_seconds + r.loopback_rtt_seconds;
  if (cell.client_requests > 0) cell.client_latency = client_sum / cell.client_requests;
  if (sum.requests > 0) {
    cell.server_request = sum.request_us / sum.requests / 1e6;
    cell.t_sq = sum.queue_us / sum.requests / 1e6;
  }
  if (sum.executions > 0) cell.t_sc = sum.compute_us / sum.executions / 1e6;
  cell.t_cq = cell.client_latency - cell.server_request - r.loopback_rtt_seconds;
  if (cell.wall_seconds > 0) {
    cell.t_cq_share = cell.t_cq / cell.wall_seconds;
    cell.server_busy = sum.compute_us / 1e6 / (cell.servers * cell.wall_seconds);
  }
  const double n_r = static_cast<double>(cell.reference_frames);
  cell.seed_model_seconds =
      cell.t_n + cell.t_cq + (n_r - cell.servers) / cell.servers * cell.t_sc + cell.t_sc;
}

void CheckCell(const RowCount& rows, const Table1Cell& cell, std::vector<std::string>& checks) {
  if (rows.rows != cell.frames) {
    checks.push_back(fmt::format("{} rows for {} frames", rows.rows, cell.frames));
  }
  if (rows.out_of_order > 0)
    checks.push_back(fmt::format("{} rows out of order", rows.out_of_order));
  if (rows.reference != cell.reference_frames) {
    checks.push_back(
        fmt::format("{} reference rows, N_R = {}", rows.reference, cell.reference_frames));
  }
  if (cell.client_requests != cell.reference_frames) {
    checks.push_back(fmt::format("client sent {} reference requests, N_R = {}",
                                 cell.client_requests, cell.reference_frames));
  }
  if (cell.server_requests != cell.reference_frames) {
    checks.push_back(fmt::format("servers served {} reference requests, N_R = {}",
                                 cell.server_requests, cell.reference_frames));
  }
}

// The cascade of one cell; `*delayed` gets its reference stage (owned by
// the cascade).
absl::StatusOr<OwnedCascade> MakeCascade(
    const Table1Context& ctx, const SeedTable1Row& seed,
    const std::vector<std::unique_ptr<ReplayServer>>& fleet, emulation::DelayedStage** delayed) {
  const int max_model_frames = std::max(64, 16 * static_cast<int>(fleet.size()));
  DNS_ASSIGN_OR_RETURN(CellStages stages, MakeCellStages(ctx, seed, fleet, max_model_frames));
  *delayed = stages.delayed;
  cascade::CascadeConfig config;
  config.object = kObject;
  config.diff_enabled = false;
  config.specialized.model = kSpecializedModel;
  config.c_low = 0.2f;
  config.c_high = 0.8f;
  config.reference.model = kReferenceModel;
  cascade::CascadeOptions options;
  options.max_model_frames = max_model_frames;
  options.specialized_batching = {.max_batch = 8, .max_delay = std::chrono::microseconds(1000)};
  DNS_ASSIGN_OR_RETURN(options.reference_payload.format,
                       cascade::ParsePayloadFormat(ctx.options->payload));
  return MakeOwnedCascade(config, options, std::move(stages.specialized),
                          std::move(stages.reference));
}

// The bound and the seed's scaled value, and the measured latency over each.
void ScoreCell(const Table1Result& r, Table1Cell& cell) {
  const int64_t per_server = (cell.reference_frames + cell.servers - 1) / cell.servers;
  cell.bound_seconds = r.network_delay_seconds + r.loopback_rtt_seconds +
                       static_cast<double>(per_server) * r.service_seconds;
  cell.wall_over_bound = cell.wall_seconds / cell.bound_seconds;
  const double seed_seconds = SeedTable1Seconds(cell.frames, cell.servers);
  if (seed_seconds > 0) {
    cell.seed_seconds = seed_seconds * r.time_scale;
    cell.wall_over_seed = cell.wall_seconds / cell.seed_seconds;
  }
}

absl::StatusOr<Table1Cell> RunCell(const Table1Context& ctx, const SeedTable1Row& seed,
                                   const std::vector<std::unique_ptr<ReplayServer>>& fleet) {
  emulation::DelayedStage* delayed = nullptr;
  DNS_ASSIGN_OR_RETURN(OwnedCascade cascade, MakeCascade(ctx, seed, fleet, &delayed));
  video::FrameSourceOptions source_options;
  source_options.uri = ctx.workload.video;
  source_options.range.end = seed.frames;
  DNS_ASSIGN_OR_RETURN(std::unique_ptr<video::FrameSource> source,
                       video::OpenFrameSource(source_options));
  DNS_ASSIGN_OR_RETURN(std::vector<ServerCounters> before, ScrapeFleet(*ctx.http, fleet));
  RowCount rows;
  const std::clock_t cpu_start = std::clock();
  const Clock::TimePoint start = Clock::Real()->Now();
  DNS_ASSIGN_OR_RETURN(cascade::CascadeSummary summary,
                       cascade->Run(*source, [&rows](const labels::FrameResult& r) {
                         if (r.frame != rows.rows) ++rows.out_of_order;
                         ++rows.rows;
                         if (r.status == FrameStatus::kReference) ++rows.reference;
                         return absl::OkStatus();
                       }));
  Table1Cell cell;
  cell.wall_seconds = SecondsBetween(start, Clock::Real()->Now());
  cell.cpu_seconds = static_cast<double>(std::clock() - cpu_start) / CLOCKS_PER_SEC;
  cell.decode_seconds = summary.stage_seconds.decode;
  cell.frames = seed.frames;
  cell.reference_frames = seed.reference_frames;
  cell.servers = static_cast<int>(fleet.size());
  DNS_ASSIGN_OR_RETURN(std::vector<ServerCounters> after, ScrapeFleet(*ctx.http, fleet));
  ScoreCell(*ctx.result, cell);
  Decompose(ctx, delayed->times(), before, after, cell);
  CheckCell(rows, cell, cell.checks);
  return cell;
}

// "N_S=4 N_F=1000 (N_R=117): 9.12 s, bound 8.71 s (1.05x), seed x0.1 20.2 s (0.45x)".
std::string CellLine(const Table1Cell& c, double time_scale) {
  std::string line =
      fmt::format("N_S={} N_F={} (N_R={}): {:.2f} s, bound {:.2f} s ({:.2f}x)", c.servers, c.frames,
                  c.reference_frames, c.wall_seconds, c.bound_seconds, c.wall_over_bound);
  if (c.seed_seconds > 0) {
    line +=
        fmt::format(", seed x{} {:.2f} s ({:.2f}x)", time_scale, c.seed_seconds, c.wall_over_seed);
  }
  if (!c.checks.empty()) line += " CHECK FAILED: " + c.checks.front();
  return line;
}

double EmulatedReferenceSeconds(const Table1Options& o, double service_seconds) {
  double total = 0;
  for (int n : o.servers) {
    for (int64_t frames : o.rows) {
      total += static_cast<double>((FindSeedRow(frames)->reference_frames + n - 1) / n) *
               service_seconds;
    }
  }
  return total;
}

absl::StatusOr<Table1Context> PrepareContext(const Table1Options& o, const Table1Result& result) {
  Table1Context ctx;
  ctx.options = &o;
  ctx.result = &result;
  const int64_t frames = *std::max_element(o.rows.begin(), o.rows.end());
  Report(o.progress, fmt::format("table1: rendering a {}x{} synthetic video of {} frames", o.width,
                                 o.height, frames));
  DNS_ASSIGN_OR_RETURN(ctx.workload, PrepareReplayWorkload({.frames = frames,
                                                            .width = o.width,
                                                            .height = o.height,
                                                            .uncertain_share = 0,
                                                            .object_name = kObject},
                                                           o.scratch_dir + "/workload"));
  DNS_ASSIGN_OR_RETURN(std::vector<labels::Detection> truth,
                       labels::ReadLabelCsv(ctx.workload.reference_labels));
  for (const labels::Detection& d : truth) ctx.positive.insert(d.frame);
  return ctx;
}

}  // namespace

absl::StatusOr<Table1Result> RunTable1Bench(const Table1Options& o) {
  DNS_RETURN_IF_ERROR(CheckOptions(o));
  const Clock::TimePoint start = Clock::Real()->Now();
  Table1Result result;
  result.time_scale = o.time_scale;
  result.service_seconds = kSeedServiceSeconds * o.time_scale;
  result.network_delay_seconds = kSeedNetworkSeconds * o.time_scale;
  result.balance_policy = std::string(client::BalancePolicyName(o.policy));
  result.payload = o.payload;
  DNS_ASSIGN_OR_RETURN(Table1Context ctx, PrepareContext(o, result));
  result.video = ctx.workload.video;
  result.width = ctx.workload.width;
  result.height = ctx.workload.height;
  DNS_ASSIGN_OR_RETURN(std::unique_ptr<client::HttpClient> http, client::HttpClient::Create({}));
  ctx.http = http.get();
  const double emulated = EmulatedReferenceSeconds(o, result.service_seconds);
  Report(o.progress, fmt::format("table1: {} cells, {:.0f} s of emulated reference time at "
                                 "time scale {}",
                                 o.rows.size() * o.servers.size(), emulated, o.time_scale));
  double done_seconds = 0;
  for (int n_s : o.servers) {
    DNS_ASSIGN_OR_RETURN(
        auto fleet, StartFleet(fmt::format("{}/ns{}", o.scratch_dir, n_s),
                               ctx.workload.reference_labels, n_s, result.service_seconds * 1000));
    if (result.cells.empty()) DNS_RETURN_IF_ERROR(MeasureNetwork(*http, *fleet[0], result));
    for (int64_t frames : o.rows) {
      const SeedTable1Row& seed = *FindSeedRow(frames);
      DNS_ASSIGN_OR_RETURN(Table1Cell cell, RunCell(ctx, seed, fleet));
      done_seconds +=
          static_cast<double>((seed.reference_frames + n_s - 1) / n_s) * result.service_seconds;
      Report(o.progress,
             fmt::format("table1 {} [{}/{} cells, {:.0f}% of the emulated time, {:.0f} s elapsed]",
                         CellLine(cell, o.time_scale), result.cells.size() + 1,
                         o.rows.size() * o.servers.size(), 100 * done_seconds / emulated,
                         SecondsBetween(start, Clock::Real()->Now())));
      result.cells.push_back(std::move(cell));
    }
  }
  std::sort(result.cells.begin(), result.cells.end(), [](const Table1Cell& a, const Table1Cell& b) {
    return std::pair(a.frames, a.servers) < std::pair(b.frames, b.servers);
  });
  result.total_seconds = SecondsBetween(start, Clock::Real()->Now());
  return result;
}

}  // namespace dnoscope::bench
