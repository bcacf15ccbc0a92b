// How the scenarios are run; the tables, CSV and JSON are in
// distributed_bench_report.cc.
#include "bench/distributed_bench.h"

#include <algorithm>
#include <cmath>
#include <ctime>
#include <filesystem>

#include "absl/status/status.h"
#include "bench/cascade_run.h"
#include "bench/replay_fleet.h"
#include "cascade/cascade.h"
#include "client/http_client.h"
#include "common/status_macros.h"
#include "client/remote_stage.h"
#include "fmt/format.h"
#include "video/frame_source.h"

namespace dnoscope::bench {
namespace {

namespace fs = std::filesystem;
using models::ModelStage;
using labels::FrameStatus;

constexpr char kSpecializedModel[] = "spec";
constexpr char kReferenceModel[] = "ref";
constexpr char kObject[] = "person";

void Report(const BenchProgress& progress, const std::string& line) {
  if (progress) progress(line);
}

int64_t Count(const CascadeRunStats& s, FrameStatus status) {
  return s.status_counts[static_cast<int>(status)];
}

const cascade::StageReport* FindStage(const cascade::RunReport& report,
                                          const std::string& stage) {
  for (const cascade::StageReport& s : report.stages) {
    if (s.stage == stage) return &s;
  }
  return nullptr;
}

// Rows must come once each, in frame order, from frame 0.
struct RowTally {
  int64_t rows = 0;
  int64_t next_frame = 0;
  std::array<int64_t, labels::kNumFrameStatuses> counts{};
  std::string first_problem;

  void Add(const labels::FrameResult& r) {
    if (r.frame != next_frame && first_problem.empty()) {
      first_problem =
          fmt::format("row {} is frame {}, expected frame {}", rows, r.frame, next_frame);
    }
    next_frame = r.frame + 1;
    ++rows;
    ++counts[static_cast<int>(r.status)];
  }
};

void CheckStage(const cascade::StageReport* stage, const std::string& name,
                int64_t expected_frames, bool one_frame_per_request,
                std::vector<std::string>* checks) {
  if (stage == nullptr) {
    if (expected_frames > 0) checks->push_back(fmt::format("no '{}' stage in the report", name));
    return;
  }
  if (stage->frames != expected_frames) {
    checks->push_back(fmt::format("{} stage frames {} != {} rows that needed it", name,
                                  stage->frames, expected_frames));
  }
  if (one_frame_per_request && stage->requests != stage->frames) {
    checks->push_back(
        fmt::format("{} requests {} != frames {}", name, stage->requests, stage->frames));
  }
  if (stage->latency.count != stage->requests) {
    checks->push_back(fmt::format("{} latency samples {} != requests {}", name,
                                  stage->latency.count, stage->requests));
  }
  int64_t endpoint_requests = 0;
  for (const models::StageEndpointStats& e : stage->stats.endpoints) {
    endpoint_requests += e.requests;
    if (e.in_flight != 0) {
      checks->push_back(fmt::format("{} endpoint {} still has {} in flight after the run", name,
                                    e.name, e.in_flight));
    }
  }
  if (endpoint_requests != stage->requests + stage->stats.retries) {
    checks->push_back(fmt::format("{} endpoint requests {} != requests {} + retries {}", name,
                                  endpoint_requests, stage->requests, stage->stats.retries));
  }
}

void CheckRun(const RowTally& tally, int64_t expected_rows, const cascade::CascadeSummary& summary,
              bool specialized, CascadeRunStats* s) {
  std::vector<std::string>& checks = s->checks;
  if (!tally.first_problem.empty()) checks.push_back(tally.first_problem);
  if (tally.rows != expected_rows) {
    checks.push_back(fmt::format("{} rows for {} frames", tally.rows, expected_rows));
  }
  if (summary.frames != tally.rows) {
    checks.push_back(fmt::format("summary frames {} != rows {}", summary.frames, tally.rows));
  }
  if (summary.status_counts != tally.counts) {
    checks.push_back("summary status counts differ from the rows' statuses");
  }
  if (s->wall_seconds > 0 &&
      std::abs(summary.wall_seconds - s->wall_seconds) > 0.05 * s->wall_seconds + 0.01) {
    checks.push_back(fmt::format("summary wall {:.3f} s, measured around Run() {:.3f} s",
                                 summary.wall_seconds, s->wall_seconds));
  }
  const int64_t reference_rows = Count(*s, FrameStatus::kReference);
  CheckStage(FindStage(s->report, "reference"), "reference", reference_rows, true, &checks);
  if (specialized) {
    CheckStage(FindStage(s->report, "specialized"), "specialized",
               reference_rows + Count(*s, FrameStatus::kSpecialized), false, &checks);
  }
}

struct CascadeSetup {
  cascade::CascadeConfig config;
  cascade::CascadeOptions options;
  std::unique_ptr<ModelStage> specialized;
  std::unique_ptr<ModelStage> reference;
};

absl::StatusOr<CascadeRunStats> RunCascade(CascadeSetup setup, const ReplayWorkload& workload) {
  const bool specialized = setup.specialized != nullptr;
  DNS_ASSIGN_OR_RETURN(OwnedCascade cascade,
                       MakeOwnedCascade(setup.config, setup.options, std::move(setup.specialized),
                                        std::move(setup.reference)));
  video::FrameSourceOptions source_options;
  source_options.uri = workload.video;
  source_options.range.end = workload.frames;
  DNS_ASSIGN_OR_RETURN(std::unique_ptr<video::FrameSource> source,
                       video::OpenFrameSource(source_options));
  RowTally tally;
  const std::clock_t cpu_start = std::clock();
  const Clock::TimePoint start = Clock::Real()->Now();
  DNS_ASSIGN_OR_RETURN(cascade::CascadeSummary summary,
                       cascade->Run(*source, [&tally](const labels::FrameResult& r) {
                         tally.Add(r);
                         return absl::OkStatus();
                       }));
  CascadeRunStats s;
  s.wall_seconds = SecondsBetween(start, Clock::Real()->Now());
  s.cpu_seconds = static_cast<double>(std::clock() - cpu_start) / CLOCKS_PER_SEC;
  s.frames = tally.rows;
  s.frames_per_second = s.wall_seconds > 0 ? s.frames / s.wall_seconds : 0;
  s.decode_seconds = summary.stage_seconds.decode;
  s.status_counts = tally.counts;
  s.report = cascade->report();
  CheckRun(tally, workload.frames, summary, specialized, &s);
  return s;
}

client::RemoteModelOptions RemoteOptions(const std::string& model, int max_in_flight,
                                         client::BalancePolicy policy) {
  client::RemoteModelOptions o;
  o.model = model;
  o.balancer.policy = policy;
  o.balancer.max_in_flight_per_endpoint = max_in_flight;
  return o;
}

absl::StatusOr<std::unique_ptr<ModelStage>> RemoteStage(const std::vector<ReplayServer*>& servers,
                                                        const client::RemoteModelOptions& options) {
  std::vector<client::Endpoint> endpoints;
  for (const ReplayServer* s : servers) endpoints.push_back(s->endpoint());
  return client::ConnectRemoteStage(std::move(endpoints), options);
}

// `count` servers, each one "ref" replay detector serving one request at a
// time; server i's service time is service_ms[i].
absl::StatusOr<std::vector<std::unique_ptr<ReplayServer>>> StartReferenceServers(
    const std::string& dir, const std::string& labels, const std::vector<double>& service_ms) {
  std::vector<std::unique_ptr<ReplayServer>> servers;
  for (size_t i = 0; i < service_ms.size(); ++i) {
    ReplayModelSpec ref{.name = kReferenceModel,
                        .labels_file = labels,
                        .service_time_ms = service_ms[i],
                        .object_name = kObject};
    DNS_ASSIGN_OR_RETURN(std::unique_ptr<ReplayServer> server,
                         ReplayServer::Start(fmt::format("{}/server{}", dir, i), {ref}));
    servers.push_back(std::move(server));
  }
  return servers;
}

std::vector<ReplayServer*> Raw(const std::vector<std::unique_ptr<ReplayServer>>& servers) {
  std::vector<ReplayServer*> raw;
  for (const auto& s : servers) raw.push_back(s.get());
  return raw;
}

// A config sending every frame to the reference: no difference detector,
// no specialized stage.
cascade::CascadeConfig ReferenceOnlyConfig() {
  cascade::CascadeConfig config;
  config.object = kObject;
  config.diff_enabled = false;
  config.reference.model = kReferenceModel;
  return config;
}

// Mean round trip of GET /v2/health/ready over `calls` calls, after a few
// for warm-up (connection set-up).
absl::StatusOr<double> MeasureRoundTripMs(const client::Endpoint& endpoint, int calls) {
  DNS_ASSIGN_OR_RETURN(std::unique_ptr<client::HttpClient> http, client::HttpClient::Create({}));
  client::HttpCall call;
  call.method = "GET";
  call.target = "/v2/health/ready";
  call.content_type.clear();
  double total_ms = 0;
  for (int i = -10; i < calls; ++i) {
    const Clock::TimePoint start = Clock::Real()->Now();
    DNS_ASSIGN_OR_RETURN(client::HttpResult r, http->SendSync(endpoint, call));
    if (r.status != 200) {
      return absl::UnavailableError(
          fmt::format("{} answered {} to /v2/health/ready", endpoint.ToString(), r.status));
    }
    if (i >= 0) total_ms += 1000 * SecondsBetween(start, Clock::Real()->Now());
  }
  return total_ms / calls;
}

absl::Status CheckCommon(const std::string& scratch_dir, const std::string& payload) {
  if (scratch_dir.empty()) return absl::InvalidArgumentError("scratch_dir must be set");
  return cascade::ParsePayloadFormat(payload).status();
}

absl::StatusOr<double> DecodeOnly(const ReplayWorkload& w, const cascade::CascadeConfig& config) {
  video::FrameSourceOptions source_options;
  source_options.uri = w.video;
  source_options.range.end = w.frames;
  DNS_ASSIGN_OR_RETURN(std::unique_ptr<video::FrameSource> source,
                       video::OpenFrameSource(source_options));
  return cascade::MeasureDecodeOnly(*source, config, {}, Clock::Real());
}

absl::StatusOr<CascadeSetup> ClientSetup(const ClientBenchOptions& o, ReplayServer& spec,
                                         ReplayServer& ref) {
  CascadeSetup setup;
  setup.config.object = kObject;
  setup.config.specialized.model = kSpecializedModel;
  setup.config.c_low = 0.2f;
  setup.config.c_high = 0.8f;
  setup.config.reference.model = kReferenceModel;
  setup.options.specialized_batching.max_batch = o.specialized_batch;
  setup.options.specialized_batching.max_delay = o.specialized_batch_delay;
  DNS_ASSIGN_OR_RETURN(setup.options.reference_payload.format,
                       cascade::ParsePayloadFormat(o.payload));
  const auto policy = client::BalancePolicy::kPowerOfTwo;
  DNS_ASSIGN_OR_RETURN(setup.specialized,
                       RemoteStage({&spec}, RemoteOptions(kSpecializedModel, 64, policy)));
  DNS_ASSIGN_OR_RETURN(setup.reference,
                       RemoteStage({&ref}, RemoteOptions(kReferenceModel, 64, policy)));
  return setup;
}

}  // namespace

absl::StatusOr<ClientBenchResult> RunClientBench(const ClientBenchOptions& o) {
  DNS_RETURN_IF_ERROR(CheckCommon(o.scratch_dir, o.payload));
  if (o.specialized_batch < 1) return absl::InvalidArgumentError("specialized_batch must be >= 1");
  Report(o.progress, o.video.empty() ? "client: rendering the synthetic video" : "client: labels");
  DNS_ASSIGN_OR_RETURN(ReplayWorkload w,
                       PrepareReplayWorkload({.video = o.video,
                                              .frames = o.frames,
                                              .width = o.width,
                                              .height = o.height,
                                              .uncertain_share = o.uncertain_share,
                                              .object_name = kObject},
                                             o.scratch_dir + "/workload"));
  ReplayModelSpec spec_model{.name = kSpecializedModel,
                             .kind = "classifier",
                             .labels_file = w.classifier_labels,
                             .object_name = kObject,
                             .max_batch_size = 64};
  ReplayModelSpec ref_model{
      .name = kReferenceModel, .labels_file = w.reference_labels, .object_name = kObject};
  DNS_ASSIGN_OR_RETURN(auto spec_server,
                       ReplayServer::Start(o.scratch_dir + "/spec", {spec_model}));
  DNS_ASSIGN_OR_RETURN(auto ref_server, ReplayServer::Start(o.scratch_dir + "/ref", {ref_model}));
  DNS_ASSIGN_OR_RETURN(CascadeSetup setup, ClientSetup(o, *spec_server, *ref_server));
  ClientBenchResult result;
  result.video = w.video;
  result.width = w.width;
  result.height = w.height;
  // Decode-only passes before and after the cascade: their mean is the
  // limit, robust to a change of machine load during the run.
  Report(o.progress, fmt::format("client: decode only, {} frames", w.frames));
  const cascade::CascadeConfig config = setup.config;
  DNS_ASSIGN_OR_RETURN(result.decode_only_before, DecodeOnly(w, config));
  Report(o.progress, "client: AsyncCascade, both stages remote");
  DNS_ASSIGN_OR_RETURN(result.run, RunCascade(std::move(setup), w));
  Report(o.progress, "client: decode only again");
  DNS_ASSIGN_OR_RETURN(result.decode_only_after, DecodeOnly(w, config));
  result.decode_only_frames_per_second = (result.decode_only_before + result.decode_only_after) / 2;
  if (result.decode_only_frames_per_second > 0) {
    result.ratio = result.run.frames_per_second / result.decode_only_frames_per_second;
  }
  return result;
}

absl::StatusOr<ScalingBenchResult> RunScalingBench(const ScalingBenchOptions& o) {
  DNS_RETURN_IF_ERROR(CheckCommon(o.scratch_dir, o.payload));
  if (o.servers.empty() || *std::min_element(o.servers.begin(), o.servers.end()) < 1 ||
      o.service_ms <= 0 || o.frames < 1) {
    return absl::InvalidArgumentError("servers >= 1, service_ms > 0 and frames >= 1 needed");
  }
  DNS_ASSIGN_OR_RETURN(
      ReplayWorkload w,
      PrepareReplayWorkload(
          {.frames = o.frames, .width = o.width, .height = o.height, .object_name = kObject},
          o.scratch_dir + "/workload"));
  ScalingBenchResult result;
  result.frames = w.frames;
  result.service_ms = o.service_ms;
  for (int n : o.servers) {
    DNS_ASSIGN_OR_RETURN(
        auto servers,
        StartReferenceServers(fmt::format("{}/ns{}", o.scratch_dir, n), w.reference_labels,
                              std::vector<double>(n, o.service_ms)));
    if (result.rows.empty()) {
      DNS_ASSIGN_OR_RETURN(result.network_rtt_ms, MeasureRoundTripMs(servers[0]->endpoint(), 200));
    }
    CascadeSetup setup;
    setup.config = ReferenceOnlyConfig();
    setup.options.max_model_frames = o.max_model_frames > 0 ? o.max_model_frames : 16 * n;
    DNS_ASSIGN_OR_RETURN(setup.options.reference_payload.format,
                         cascade::ParsePayloadFormat(o.payload));
    DNS_ASSIGN_OR_RETURN(
        setup.reference,
        RemoteStage(Raw(servers), RemoteOptions(kReferenceModel, o.max_in_flight_per_endpoint,
                                                client::BalancePolicy::kPowerOfTwo)));
    ScalingRow row;
    row.servers = n;
    DNS_ASSIGN_OR_RETURN(row.run, RunCascade(std::move(setup), w));
    const int64_t per_server = (w.frames + n - 1) / n;
    row.bound_seconds = (result.network_rtt_ms + per_server * o.service_ms) / 1000;
    row.latency_over_bound = row.run.wall_seconds / row.bound_seconds;
    Report(o.progress, fmt::format("scaling N_S={}: {:.2f} s, {:.1f} frames/s", n,
                                   row.run.wall_seconds, row.run.frames_per_second));
    result.rows.push_back(std::move(row));
  }
  // Speedup over N_S = 1 when it ran, else over the serial bound N_R * T_sc.
  double base_seconds = w.frames * o.service_ms / 1000;
  for (const ScalingRow& r : result.rows) {
    if (r.servers == 1) base_seconds = r.run.wall_seconds;
  }
  for (ScalingRow& r : result.rows) {
    r.speedup = base_seconds / r.run.wall_seconds;
    r.efficiency = r.speedup / r.servers;
  }
  return result;
}

absl::StatusOr<BalanceBenchResult> RunBalanceBench(const BalanceBenchOptions& o) {
  DNS_RETURN_IF_ERROR(CheckCommon(o.scratch_dir, o.payload));
  if (o.servers < 2 || o.slow_factor < 1 || o.service_ms <= 0 || o.frames < 1 ||
      o.policies.empty()) {
    return absl::InvalidArgumentError(
        "servers >= 2, slow_factor >= 1, service_ms > 0, frames >= 1 and a policy needed");
  }
  DNS_ASSIGN_OR_RETURN(
      ReplayWorkload w,
      PrepareReplayWorkload(
          {.frames = o.frames, .width = o.width, .height = o.height, .object_name = kObject},
          o.scratch_dir + "/workload"));
  BalanceBenchResult result;
  result.servers = o.servers;
  result.service_ms = o.service_ms;
  result.slow_service_ms = o.service_ms * o.slow_factor;
  result.frames = w.frames;
  std::vector<double> service(o.servers, o.service_ms);
  service.back() = result.slow_service_ms;
  DNS_ASSIGN_OR_RETURN(
      auto servers, StartReferenceServers(o.scratch_dir + "/balance", w.reference_labels, service));
  for (client::BalancePolicy policy : o.policies) {
    CascadeSetup setup;
    setup.config = ReferenceOnlyConfig();
    setup.options.max_model_frames = o.max_model_frames;
    DNS_ASSIGN_OR_RETURN(setup.options.reference_payload.format,
                         cascade::ParsePayloadFormat(o.payload));
    DNS_ASSIGN_OR_RETURN(
        setup.reference,
        RemoteStage(Raw(servers),
                    RemoteOptions(kReferenceModel, o.max_in_flight_per_endpoint, policy)));
    BalanceRow row;
    row.policy = std::string(client::BalancePolicyName(policy));
    DNS_ASSIGN_OR_RETURN(row.run, RunCascade(std::move(setup), w));
    const cascade::StageReport* ref = FindStage(row.run.report, "reference");
    for (const auto& server : servers) {
      int64_t requests = 0;
      const std::string name = server->endpoint().ToString();
      if (ref != nullptr) {
        for (const auto& e : ref->stats.endpoints) {
          if (e.name == name) requests = e.requests;
        }
      }
      row.requests_per_server.push_back(requests);
    }
    Report(o.progress, fmt::format("balance {}: {:.2f} s", row.policy, row.run.wall_seconds));
    result.rows.push_back(std::move(row));
  }
  return result;
}

}  // namespace dnoscope::bench
