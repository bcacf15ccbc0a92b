// How `bench edge` runs, and its table, CSV and JSON.
#include "bench/edge_bench.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <ctime>

#include "absl/status/status.h"
#include "bench/cascade_run.h"
#include "emulation/delayed_stage.h"
#include "bench/replay_fleet.h"
#include "common/clock.h"
#include "common/status_macros.h"
#include "client/remote_stage.h"
#include "fmt/format.h"
#include "models/backends/replay.h"
#include "models/local_stage.h"
#include "nlohmann/json.hpp"
#include "video/frame_source.h"

namespace dnoscope::bench {
namespace {

using labels::FrameStatus;
using Json = nlohmann::ordered_json;

constexpr char kSpecializedModel[] = "spec";
constexpr char kReferenceModel[] = "ref";
constexpr char kObject[] = "person";

void Report(const BenchProgress& progress, const std::string& line) {
  if (progress) progress(line);
}

absl::Status CheckOptions(const EdgeBenchOptions& o) {
  if (o.frames < 1) return absl::InvalidArgumentError("frames must be >= 1");
  if (!(o.time_scale > 0) || o.time_scale > 100) {
    return absl::InvalidArgumentError("time_scale must be in (0, 100]");
  }
  if (o.servers < 1) return absl::InvalidArgumentError("servers must be >= 1");
  if (o.specialized_batch < 1) return absl::InvalidArgumentError("specialized_batch must be >= 1");
  if (!(o.diff_threshold >= 0)) return absl::InvalidArgumentError("diff_threshold must be >= 0");
  if (o.scratch_dir.empty()) return absl::InvalidArgumentError("scratch_dir must be set");
  return cascade::ParsePayloadFormat(o.payload).status();
}

cascade::CascadeConfig EdgeConfig(const EdgeBenchOptions& o) {
  cascade::CascadeConfig config;
  config.object = kObject;
  config.diff_enabled = true;
  config.diff.threshold = o.diff_threshold;
  config.specialized.model = kSpecializedModel;
  config.c_low = 0.2f;
  config.c_high = 0.8f;
  config.reference.model = kReferenceModel;
  return config;
}

Clock::Duration Seconds(double seconds) {
  return std::chrono::duration_cast<Clock::Duration>(std::chrono::duration<double>(seconds));
}

absl::StatusOr<EdgeOneNodeRun> RunOneNode(const EdgeBenchOptions& o, const EdgeBenchResult& r,
                                          const ReplayWorkload& w,
                                          std::vector<labels::FrameResult>* rows) {
  const models::ReplayOptions spec_replay{.service_time_ms = 1000 * r.specialized_seconds,
                                          .object_name = kObject};
  const models::ReplayOptions ref_replay{.service_time_ms = 1000 * r.reference_seconds,
                                         .object_name = kObject};
  DNS_ASSIGN_OR_RETURN(
      std::unique_ptr<models::Model> spec,
      models::CreateReplayClassifier(w.classifier_labels, spec_replay, kSpecializedModel, 1, 64));
  DNS_ASSIGN_OR_RETURN(
      std::unique_ptr<models::Model> ref,
      models::CreateReplayModel(w.reference_labels, ref_replay, kReferenceModel, 1));
  DNS_ASSIGN_OR_RETURN(OwnedCascade cascade,
                       MakeOwnedCascade(EdgeConfig(o), {}, models::MakeLocalStage(std::move(spec)),
                                        models::MakeLocalStage(std::move(ref))));
  video::FrameSourceOptions source_options;
  source_options.uri = w.video;
  source_options.range.end = w.frames;
  DNS_ASSIGN_OR_RETURN(std::unique_ptr<video::FrameSource> source,
                       video::OpenFrameSource(source_options));
  const std::clock_t cpu_start = std::clock();
  const Clock::TimePoint start = Clock::Real()->Now();
  DNS_ASSIGN_OR_RETURN(cascade::CascadeSummary summary,
                       cascade->Run(*source, [rows](const labels::FrameResult& row) {
                         rows->push_back(row);
                         return absl::OkStatus();
                       }));
  EdgeOneNodeRun run;
  run.wall_seconds = SecondsBetween(start, Clock::Real()->Now());
  run.cpu_seconds = static_cast<double>(std::clock() - cpu_start) / CLOCKS_PER_SEC;
  run.frames = summary.frames;
  run.status_counts = summary.status_counts;
  run.stage_seconds = summary.stage_seconds;
  run.reference_requests = summary.status_counts[static_cast<int>(FrameStatus::kReference)];
  run.specialized_requests =
      run.reference_requests + summary.status_counts[static_cast<int>(FrameStatus::kSpecialized)];
  return run;
}

// A remote stage on `fleet` whose replies reach the cascade `delay` later.
absl::StatusOr<std::unique_ptr<models::ModelStage>> DelayedRemote(
    const std::vector<std::unique_ptr<ReplayServer>>& fleet, const std::string& model,
    int max_in_flight, double service_seconds, Clock::Duration delay) {
  client::RemoteModelOptions remote;
  remote.model = model;
  remote.balancer.policy = client::BalancePolicy::kPowerOfTwo;
  // The cascade's window bounds what is in flight; requests queue at the
  // servers (as with the seed's asyncio client), so one may wait behind
  // the whole window.
  remote.balancer.max_in_flight_per_endpoint = max_in_flight;
  remote.attempt_timeout = std::chrono::milliseconds(
      60000 + static_cast<int64_t>(2000 * max_in_flight * service_seconds));
  DNS_ASSIGN_OR_RETURN(std::unique_ptr<models::ModelStage> inner,
                       client::ConnectRemoteStage(FleetEndpoints(fleet), remote));
  DNS_ASSIGN_OR_RETURN(std::unique_ptr<emulation::DelayedStage> delayed,
                       emulation::DelayedStage::Create(std::move(inner), delay));
  return std::unique_ptr<models::ModelStage>(std::move(delayed));
}

absl::StatusOr<CascadeRunStats> RunDistributed(const EdgeBenchOptions& o, const EdgeBenchResult& r,
                                               const ReplayWorkload& w,
                                               std::vector<labels::FrameResult>* rows) {
  const std::string dir = o.scratch_dir + "/servers";
  // The server runs at most the client's batch at once: it must not merge
  // queued requests, or a request would cost less than on one node.
  ReplayModelSpec spec_model{.name = kSpecializedModel,
                             .kind = "classifier",
                             .labels_file = w.classifier_labels,
                             .object_name = kObject,
                             .max_batch_size = o.specialized_batch};
  ReplayModelSpec ref_model{
      .name = kReferenceModel, .labels_file = w.reference_labels, .object_name = kObject};
  DNS_ASSIGN_OR_RETURN(auto spec_fleet,
                       StartReplayFleet(dir + "/spec", spec_model, {1000 * r.specialized_seconds}));
  DNS_ASSIGN_OR_RETURN(
      auto ref_fleet, StartReplayFleet(dir + "/ref", ref_model,
                                       std::vector<double>(o.servers, 1000 * r.reference_seconds)));
  cascade::CascadeOptions options;
  options.max_model_frames = std::max(64, 16 * o.servers);
  options.specialized_batching.max_batch = o.specialized_batch;
  if (o.specialized_batch > 1)
    options.specialized_batching.max_delay = std::chrono::milliseconds(2);
  DNS_ASSIGN_OR_RETURN(options.reference_payload.format,
                       cascade::ParsePayloadFormat(o.payload));
  const Clock::Duration delay = Seconds(r.network_delay_seconds);
  DNS_ASSIGN_OR_RETURN(auto spec,
                       DelayedRemote(spec_fleet, kSpecializedModel, options.max_model_frames,
                                     r.specialized_seconds, delay));
  DNS_ASSIGN_OR_RETURN(auto ref, DelayedRemote(ref_fleet, kReferenceModel, options.max_model_frames,
                                               r.reference_seconds, delay));
  return RunAsyncCascadeTimed(EdgeConfig(o), options, std::move(spec), std::move(ref), w.video,
                              w.frames, rows);
}

void CompareRows(const std::vector<labels::FrameResult>& local,
                 const std::vector<labels::FrameResult>& remote, std::vector<std::string>* checks) {
  if (local.size() != remote.size()) {
    checks->push_back(
        fmt::format("one node gave {} rows, distributed {}", local.size(), remote.size()));
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

int64_t StageRequests(const CascadeRunStats& s, const std::string& stage) {
  const cascade::StageReport* report = FindStageReport(s.report, stage);
  return report == nullptr ? 0 : report->requests;
}

// What limits the ratio, from the counts Analyse filled in.
std::string LimitSentence(const EdgeBenchResult& r, int64_t n_ref) {
  std::string out = fmt::format(
      "What limits the ratio here: {} of {} frames ({:.0f}%) reached the reference, {:.0f}% of "
      "the one-node model time (W1 = {:.2f} s); the distributed run only splits that part over "
      "N_S = {} reference servers, so the ideal ratio is W1 / B = {:.2f} / {:.2f} s = {:.2f}x "
      "and this run reached {:.2f}x ({:.0f}% of it).",
      n_ref, r.frames, r.frames > 0 ? 100.0 * n_ref / r.frames : 0, 100 * r.reference_share,
      r.one_node_model_seconds, r.servers, r.one_node_model_seconds, r.distributed_bound_seconds,
      r.ideal_ratio, r.ratio, 100 * r.ratio_over_ideal);
  if (r.ratio_over_ideal < 0.8) {
    out += fmt::format(
        " The gap to the ideal is work that --time-scale does not shrink: the one-node run "
        "spent {:.2f} s outside the emulated models (decoding, difference detector), and each "
        "request has real transport overhead.",
        std::max(0.0, r.one_node.wall_seconds - r.one_node_model_seconds));
  }
  if (r.servers_for_seed_ratio > 0) {
    out += fmt::format(" The seed's {:.2f}x needs N_S >= {} at these counts", r.seed_ratio,
                       r.servers_for_seed_ratio);
  } else {
    out += fmt::format(" No N_S reaches the seed's {:.2f}x at these counts", r.seed_ratio);
  }
  if (r.saturation_servers > 0) {
    out += fmt::format(
        "; from N_S = {} on, the single specialized server ({} requests x {:.4g} s) is the "
        "critical path (ideal {:.1f}x)",
        r.saturation_servers, StageRequests(r.distributed, "specialized"), r.specialized_seconds,
        r.saturation_ratio);
  }
  return out + ".";
}

// Fills the ideal ratio and the sentence on what limits the measured one.
void Analyse(EdgeBenchResult& r) {
  const double t_s = r.specialized_seconds;
  const double t_r = r.reference_seconds;
  const int64_t n_spec = r.one_node.specialized_requests;
  const int64_t n_ref = r.one_node.reference_requests;
  const double spec_path = static_cast<double>(StageRequests(r.distributed, "specialized")) * t_s;
  auto bound = [&](int n_s) {
    const double ref_path = static_cast<double>((n_ref + n_s - 1) / n_s) * t_r;
    return 2 * r.network_delay_seconds + std::max(spec_path, ref_path);
  };
  r.one_node_model_seconds = static_cast<double>(n_spec) * t_s + static_cast<double>(n_ref) * t_r;
  r.reference_share = r.one_node_model_seconds > 0 ? n_ref * t_r / r.one_node_model_seconds : 0;
  r.distributed_bound_seconds = bound(r.servers);
  r.ideal_ratio = r.one_node_model_seconds / r.distributed_bound_seconds;
  r.ratio_over_ideal = r.ideal_ratio > 0 ? r.ratio / r.ideal_ratio : 0;
  for (int n_s = 1; n_s <= 4096; ++n_s) {
    const double ideal = r.one_node_model_seconds / bound(n_s);
    if (r.servers_for_seed_ratio == 0 && ideal >= r.seed_ratio) r.servers_for_seed_ratio = n_s;
    if (static_cast<double>((n_ref + n_s - 1) / n_s) * t_r <= spec_path) {
      r.saturation_servers = n_s;
      r.saturation_ratio = ideal;
      break;
    }
  }
  r.limit = LimitSentence(r, n_ref);
}

std::string StatusCells(const std::array<int64_t, labels::kNumFrameStatuses>& c) {
  return fmt::format("{:>7} {:>7} {:>7}", c[static_cast<int>(FrameStatus::kDiffReused)],
                     c[static_cast<int>(FrameStatus::kSpecialized)],
                     c[static_cast<int>(FrameStatus::kReference)]);
}

}  // namespace

absl::StatusOr<EdgeBenchResult> RunEdgeBench(const EdgeBenchOptions& o) {
  DNS_RETURN_IF_ERROR(CheckOptions(o));
  const Clock::TimePoint start = Clock::Real()->Now();
  EdgeBenchResult r;
  r.time_scale = o.time_scale;
  r.servers = o.servers;
  r.specialized_seconds = kSeedSpecializedSeconds * o.time_scale;
  r.reference_seconds = kSeedReferenceSeconds * o.time_scale;
  r.network_delay_seconds = kSeedNetworkDelaySeconds * o.time_scale;
  r.network_emulation =
      "in process, client side: each model reply reaches the cascade the delay later "
      "(emulation::DelayedStage), plus the real loopback round trip";
  r.specialized_batch = o.specialized_batch;
  r.payload = o.payload;
  r.diff_threshold = o.diff_threshold;
  r.seed_one_node_seconds = kSeedOneNodeSeconds * o.time_scale;
  r.seed_distributed_seconds = kSeedDistributedSeconds * o.time_scale;
  r.seed_ratio = kSeedOneNodeSeconds / kSeedDistributedSeconds;
  Report(o.progress, fmt::format("edge: rendering a {}x{} synthetic video of {} frames", o.width,
                                 o.height, o.frames));
  DNS_ASSIGN_OR_RETURN(ReplayWorkload w,
                       PrepareReplayWorkload({.frames = o.frames,
                                              .width = o.width,
                                              .height = o.height,
                                              .uncertain_share = o.uncertain_share,
                                              .object_name = kObject},
                                             o.scratch_dir + "/workload"));
  r.video = w.video;
  r.width = w.width;
  r.height = w.height;
  r.frames = w.frames;
  std::vector<labels::FrameResult> local_rows;
  std::vector<labels::FrameResult> remote_rows;
  Report(o.progress, "edge: one node (local cascade, every stage in process)");
  DNS_ASSIGN_OR_RETURN(r.one_node, RunOneNode(o, r, w, &local_rows));
  Report(o.progress, fmt::format("edge: one node {:.2f} s; distributed ({} reference servers)",
                                 r.one_node.wall_seconds, o.servers));
  DNS_ASSIGN_OR_RETURN(r.distributed, RunDistributed(o, r, w, &remote_rows));
  Report(o.progress, fmt::format("edge: distributed {:.2f} s", r.distributed.wall_seconds));
  r.ratio = r.one_node.wall_seconds / r.distributed.wall_seconds;
  r.checks = r.distributed.checks;
  CompareRows(local_rows, remote_rows, &r.checks);
  if (StageRequests(r.distributed, "reference") != r.one_node.reference_requests) {
    r.checks.push_back(fmt::format("reference requests: one node {}, distributed {}",
                                   r.one_node.reference_requests,
                                   StageRequests(r.distributed, "reference")));
  }
  Analyse(r);
  r.total_seconds = SecondsBetween(start, Clock::Real()->Now());
  return r;
}

std::string FormatEdgeBench(const EdgeBenchResult& r) {
  std::string out = fmt::format(
      "{} frames of {} ({}x{}); time scale {}: specialized {:.4g} s, reference {:.4g} s per "
      "request; network {:.4g} s per request ({}); difference detector real (global MSE, "
      "threshold {}); c_low 0.2, c_high 0.8\n"
      "distributed: 1 specialized server ({} frame(s) per request), {} reference servers "
      "(one request at a time each), payload {}\n",
      r.frames, r.video, r.width, r.height, r.time_scale, r.specialized_seconds,
      r.reference_seconds, r.network_delay_seconds, r.network_emulation, r.diff_threshold,
      r.specialized_batch, r.servers, r.payload);
  out += fmt::format(
      "seed (Figure 4, 500 frames, 2-CPU edge): one node {:.0f} s, distributed {:.0f} s = "
      "{:.2f}x; x{} below\n\n",
      kSeedOneNodeSeconds, kSeedDistributedSeconds, r.seed_ratio, r.time_scale);
  out += fmt::format("{:<12} {:>8} {:>12} {:>9} {:>8} {:>7} {:>7} {:>7} {:>7}\n", "run", "wall s",
                     fmt::format("seed x{} s", r.time_scale), "spec req", "ref req", "reused",
                     "spec", "ref", "cpu s");
  out += fmt::format("{:<12} {:>8.2f} {:>12.2f} {:>9} {:>8} {} {:>7.2f}\n", "one node",
                     r.one_node.wall_seconds, r.seed_one_node_seconds,
                     r.one_node.specialized_requests, r.one_node.reference_requests,
                     StatusCells(r.one_node.status_counts), r.one_node.cpu_seconds);
  out += fmt::format("{:<12} {:>8.2f} {:>12.2f} {:>9} {:>8} {} {:>7.2f}\n", "distributed",
                     r.distributed.wall_seconds, r.seed_distributed_seconds,
                     StageRequests(r.distributed, "specialized"),
                     StageRequests(r.distributed, "reference"),
                     StatusCells(r.distributed.status_counts), r.distributed.cpu_seconds);
  out += fmt::format(
      "{:<12} {:>7.2f}x {:>11.2f}x   (ideal from the counts {:.2f}x: W1 {:.2f} s "
      "/ B {:.2f} s)\n\n",
      "ratio", r.ratio, r.seed_ratio, r.ideal_ratio, r.one_node_model_seconds,
      r.distributed_bound_seconds);
  out += r.limit + "\n";
  for (const std::string& c : r.checks) out += "CHECK FAILED: " + c + "\n";
  return out;
}

std::string EdgeBenchCsv(const EdgeBenchResult& r) {
  std::string out =
      "run,frames,time_scale,servers,wall_seconds,seed_seconds,specialized_requests,"
      "reference_requests,diff_reused,specialized,reference,cpu_seconds,ratio,seed_ratio,"
      "ideal_ratio\n";
  auto line = [&](const char* run, double wall, double seed, int64_t spec, int64_t ref,
                  const std::array<int64_t, labels::kNumFrameStatuses>& c, double cpu) {
    out += fmt::format("{},{},{},{},{:.4f},{:.2f},{},{},{},{},{},{:.3f},{:.4f},{:.4f},{:.4f}\n",
                       run, r.frames, r.time_scale, r.servers, wall, seed, spec, ref,
                       c[static_cast<int>(FrameStatus::kDiffReused)],
                       c[static_cast<int>(FrameStatus::kSpecialized)],
                       c[static_cast<int>(FrameStatus::kReference)], cpu, r.ratio, r.seed_ratio,
                       r.ideal_ratio);
  };
  line("one_node", r.one_node.wall_seconds, r.seed_one_node_seconds,
       r.one_node.specialized_requests, r.one_node.reference_requests, r.one_node.status_counts,
       r.one_node.cpu_seconds);
  line("distributed", r.distributed.wall_seconds, r.seed_distributed_seconds,
       StageRequests(r.distributed, "specialized"), StageRequests(r.distributed, "reference"),
       r.distributed.status_counts, r.distributed.cpu_seconds);
  return out;
}

std::string EdgeBenchJson(const EdgeBenchResult& r) {
  auto statuses = [](const std::array<int64_t, labels::kNumFrameStatuses>& c) {
    Json j = Json::object();
    for (int i = 0; i < labels::kNumFrameStatuses; ++i) {
      j[std::string(labels::FrameStatusName(static_cast<FrameStatus>(i)))] = c[i];
    }
    return j;
  };
  const cascade::StageSeconds& st = r.one_node.stage_seconds;
  Json one_node = {{"wall_seconds", r.one_node.wall_seconds},
                   {"cpu_seconds", r.one_node.cpu_seconds},
                   {"specialized_requests", r.one_node.specialized_requests},
                   {"reference_requests", r.one_node.reference_requests},
                   {"statuses", statuses(r.one_node.status_counts)},
                   {"stage_seconds",
                    {{"decode", st.decode},
                     {"preprocess", st.preprocess},
                     {"difference", st.difference},
                     {"specialized", st.specialized},
                     {"reference", st.reference}}}};
  Json distributed = {{"wall_seconds", r.distributed.wall_seconds},
                      {"cpu_seconds", r.distributed.cpu_seconds},
                      {"decode_seconds", r.distributed.decode_seconds},
                      {"statuses", statuses(r.distributed.status_counts)},
                      {"report", Json::parse(cascade::ReportToJson(r.distributed.report))}};
  Json j = {{"video", r.video},
            {"width", r.width},
            {"height", r.height},
            {"frames", r.frames},
            {"time_scale", r.time_scale},
            {"servers", r.servers},
            {"specialized_seconds", r.specialized_seconds},
            {"reference_seconds", r.reference_seconds},
            {"network_delay_seconds", r.network_delay_seconds},
            {"network_emulation", r.network_emulation},
            {"specialized_batch", r.specialized_batch},
            {"payload", r.payload},
            {"diff_threshold", r.diff_threshold},
            {"one_node", one_node},
            {"distributed", distributed},
            {"ratio", r.ratio},
            {"seed",
             {{"one_node_seconds", kSeedOneNodeSeconds},
              {"distributed_seconds", kSeedDistributedSeconds},
              {"one_node_seconds_scaled", r.seed_one_node_seconds},
              {"distributed_seconds_scaled", r.seed_distributed_seconds},
              {"ratio", r.seed_ratio}}},
            {"one_node_model_seconds", r.one_node_model_seconds},
            {"distributed_bound_seconds", r.distributed_bound_seconds},
            {"ideal_ratio", r.ideal_ratio},
            {"ratio_over_ideal", r.ratio_over_ideal},
            {"reference_share", r.reference_share},
            {"servers_for_seed_ratio", r.servers_for_seed_ratio},
            {"saturation_servers", r.saturation_servers},
            {"saturation_ratio", r.saturation_ratio},
            {"limit", r.limit},
            {"checks", r.checks},
            {"total_seconds", r.total_seconds}};
  return j.dump(2) + "\n";
}

}  // namespace dnoscope::bench
