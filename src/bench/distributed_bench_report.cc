// Tables, CSV and JSON of the distributed-cascade benchmarks.
#include <string>

#include "bench/distributed_bench.h"
#include "fmt/format.h"
#include "nlohmann/json.hpp"

namespace dnoscope::bench {
namespace {

using labels::FrameStatus;
using Json = nlohmann::ordered_json;

double Share(const CascadeRunStats& s, FrameStatus status) {
  return s.frames > 0 ? static_cast<double>(s.status_counts[static_cast<int>(status)]) / s.frames
                      : 0;
}

std::string StatusLine(const CascadeRunStats& s) {
  return fmt::format(
      "statuses: diff-reused {:.1f}%, specialized {:.1f}%, reference {:.1f}% of {} frames",
      100 * Share(s, FrameStatus::kDiffReused), 100 * Share(s, FrameStatus::kSpecialized),
      100 * Share(s, FrameStatus::kReference), s.frames);
}

std::string StageTable(const cascade::RunReport& report) {
  std::string out =
      fmt::format("{:<12} {:>9} {:>8} {:>11} {:>8} {:>8} {:>8} {:>8} {:>8}\n", "stage", "requests",
                  "frames", "MB sent", "p50 ms", "p90 ms", "p99 ms", "max ms", "retries");
  for (const cascade::StageReport& s : report.stages) {
    out += fmt::format("{:<12} {:>9} {:>8} {:>11.1f} {:>8.2f} {:>8.2f} {:>8.2f} {:>8.2f} {:>8}\n",
                       s.stage, s.requests, s.frames, s.bytes_sent / 1e6, s.latency.p50_ms,
                       s.latency.p90_ms, s.latency.p99_ms, s.latency.max_ms, s.stats.retries);
  }
  return out;
}

std::string Checks(const std::string& label, const CascadeRunStats& s) {
  std::string out;
  for (const std::string& c : s.checks) out += fmt::format("CHECK FAILED ({}): {}\n", label, c);
  return out;
}

Json LatencyJson(const cascade::LatencySummary& l) {
  return {{"count", l.count},
          {"p50_ms", l.p50_ms},
          {"p90_ms", l.p90_ms},
          {"p99_ms", l.p99_ms},
          {"max_ms", l.max_ms}};
}

Json RunJson(const CascadeRunStats& s) {
  Json statuses = Json::object();
  for (int i = 0; i < labels::kNumFrameStatuses; ++i) {
    statuses[std::string(labels::FrameStatusName(static_cast<FrameStatus>(i)))] =
        s.status_counts[i];
  }
  Json stages = Json::array();
  for (const cascade::StageReport& st : s.report.stages) {
    Json endpoints = Json::array();
    for (const models::StageEndpointStats& e : st.stats.endpoints) {
      endpoints.push_back({{"name", e.name},
                           {"requests", e.requests},
                           {"failures", e.failures},
                           {"ejections", e.ejections},
                           {"bytes_sent", e.bytes_sent}});
    }
    stages.push_back({{"stage", st.stage},
                      {"description", st.description},
                      {"requests", st.requests},
                      {"frames", st.frames},
                      {"bytes_sent", st.bytes_sent},
                      {"latency", LatencyJson(st.latency)},
                      {"retries", st.stats.retries},
                      {"endpoints", endpoints}});
  }
  return {{"frames", s.frames},
          {"wall_seconds", s.wall_seconds},
          {"frames_per_second", s.frames_per_second},
          {"cpu_seconds", s.cpu_seconds},
          {"decode_seconds", s.decode_seconds},
          {"statuses", statuses},
          {"stages", stages},
          {"model_frame_latency", LatencyJson(s.report.model_frame_latency)},
          {"end_to_end_latency", LatencyJson(s.report.end_to_end_latency)},
          {"checks", s.checks}};
}

int64_t StageRequests(const CascadeRunStats& s, const std::string& stage) {
  for (const cascade::StageReport& st : s.report.stages) {
    if (st.stage == stage) return st.requests;
  }
  return 0;
}

const cascade::LatencySummary& ReferenceLatency(const CascadeRunStats& s) {
  static const cascade::LatencySummary kNone;
  for (const cascade::StageReport& st : s.report.stages) {
    if (st.stage == "reference") return st.latency;
  }
  return kNone;
}

}  // namespace

std::string FormatClientBench(const ClientBenchResult& r) {
  const CascadeRunStats& s = r.run;
  std::string out =
      fmt::format("video: {} ({}x{}, {} frames)\n", r.video, r.width, r.height, s.frames);
  out += fmt::format(
      "decode only (MeasureDecodeOnly):         {:>8.1f} frames/s (before {:.1f}, after {:.1f})\n",
      r.decode_only_frames_per_second, r.decode_only_before, r.decode_only_after);
  out += fmt::format(
      "AsyncCascade, both stages remote (0 ms): {:>8.1f} frames/s, wall {:.2f} s\n"
      "ratio cascade / decode-only:             {:>8.2f}   (goal >= 0.80)\n",
      s.frames_per_second, s.wall_seconds, r.ratio);
  out +=
      fmt::format("process CPU during the run (servers included): {:.2f} s = {:.2f} cores busy\n",
                  s.cpu_seconds, s.wall_seconds > 0 ? s.cpu_seconds / s.wall_seconds : 0);
  out += fmt::format("decoding inside the run: {:.2f} s = {:.0f}% of the wall time\n",
                     s.decode_seconds,
                     s.wall_seconds > 0 ? 100 * s.decode_seconds / s.wall_seconds : 0);
  out += StatusLine(s) + "\n\n" + StageTable(s.report);
  out += fmt::format("end-to-end latency (decode to row): p50 {:.1f} ms, p99 {:.1f} ms\n",
                     s.report.end_to_end_latency.p50_ms, s.report.end_to_end_latency.p99_ms);
  return out + Checks("client", s);
}

std::string ClientBenchCsv(const ClientBenchResult& r) {
  const CascadeRunStats& s = r.run;
  return fmt::format(
      "video,width,height,frames,decode_only_fps,cascade_fps,ratio,wall_seconds,"
      "diff_reused,specialized,reference,specialized_requests,reference_requests\n"
      "{},{},{},{},{:.1f},{:.1f},{:.3f},{:.3f},{},{},{},{},{}\n",
      r.video, r.width, r.height, s.frames, r.decode_only_frames_per_second, s.frames_per_second,
      r.ratio, s.wall_seconds, s.status_counts[static_cast<int>(FrameStatus::kDiffReused)],
      s.status_counts[static_cast<int>(FrameStatus::kSpecialized)],
      s.status_counts[static_cast<int>(FrameStatus::kReference)], StageRequests(s, "specialized"),
      StageRequests(s, "reference"));
}

std::string ClientBenchJson(const ClientBenchResult& r) {
  Json j = {{"video", r.video},
            {"width", r.width},
            {"height", r.height},
            {"decode_only_frames_per_second", r.decode_only_frames_per_second},
            {"decode_only_before", r.decode_only_before},
            {"decode_only_after", r.decode_only_after},
            {"cascade_frames_per_second", r.run.frames_per_second},
            {"ratio", r.ratio},
            {"goal_ratio", 0.8},
            {"run", RunJson(r.run)}};
  return j.dump(2) + "\n";
}

std::string FormatScalingBench(const ScalingBenchResult& r) {
  std::string out = fmt::format(
      "N_R = {} frames, all to the reference; T_sc = {:.1f} ms; T_n = {:.3f} ms "
      "(GET /v2/health/ready)\n\n",
      r.frames, r.service_ms, r.network_rtt_ms);
  out +=
      fmt::format("{:>4} {:>8} {:>9} {:>8} {:>10} {:>9} {:>12} {:>8} {:>8}\n", "N_S", "wall s",
                  "frames/s", "speedup", "efficiency", "bound s", "wall/bound", "p50 ms", "p99 ms");
  for (const ScalingRow& row : r.rows) {
    const cascade::LatencySummary& l = ReferenceLatency(row.run);
    out += fmt::format(
        "{:>4} {:>8.2f} {:>9.1f} {:>8.2f} {:>10.2f} {:>9.2f} {:>12.3f} {:>8.1f} {:>8.1f}\n",
        row.servers, row.run.wall_seconds, row.run.frames_per_second, row.speedup, row.efficiency,
        row.bound_seconds, row.latency_over_bound, l.p50_ms, l.p99_ms);
  }
  out += "goals: efficiency >= 0.90; wall/bound within 1.00 +- 0.10\n";
  for (const ScalingRow& row : r.rows) out += Checks(fmt::format("N_S={}", row.servers), row.run);
  return out;
}

std::string ScalingBenchCsv(const ScalingBenchResult& r) {
  std::string out =
      "servers,frames,service_ms,network_rtt_ms,wall_seconds,frames_per_second,speedup,"
      "efficiency,bound_seconds,wall_over_bound,ref_p50_ms,ref_p90_ms,ref_p99_ms\n";
  for (const ScalingRow& row : r.rows) {
    const cascade::LatencySummary& l = ReferenceLatency(row.run);
    out += fmt::format(
        "{},{},{:.3f},{:.4f},{:.4f},{:.2f},{:.3f},{:.3f},{:.4f},{:.4f},{:.3f},{:.3f},{:.3f}\n",
        row.servers, row.run.frames, r.service_ms, r.network_rtt_ms, row.run.wall_seconds,
        row.run.frames_per_second, row.speedup, row.efficiency, row.bound_seconds,
        row.latency_over_bound, l.p50_ms, l.p90_ms, l.p99_ms);
  }
  return out;
}

std::string ScalingBenchJson(const ScalingBenchResult& r) {
  Json rows = Json::array();
  for (const ScalingRow& row : r.rows) {
    rows.push_back({{"servers", row.servers},
                    {"speedup", row.speedup},
                    {"efficiency", row.efficiency},
                    {"bound_seconds", row.bound_seconds},
                    {"wall_over_bound", row.latency_over_bound},
                    {"run", RunJson(row.run)}});
  }
  Json j = {{"frames", r.frames},
            {"service_ms", r.service_ms},
            {"network_rtt_ms", r.network_rtt_ms},
            {"goal_efficiency", 0.9},
            {"goal_wall_over_bound_tolerance", 0.1},
            {"rows", rows}};
  return j.dump(2) + "\n";
}

std::string FormatBalanceBench(const BalanceBenchResult& r) {
  std::string out = fmt::format(
      "{} reference servers, one request at a time each: {} x {:.1f} ms and 1 x {:.1f} ms "
      "(the last); {} frames, all to the reference\n\n",
      r.servers, r.servers - 1, r.service_ms, r.slow_service_ms, r.frames);
  out += fmt::format("{:<8} {:>8} {:>9} {:>8} {:>8} {:>8} {:>8}  {}\n", "policy", "wall s",
                     "frames/s", "p50 ms", "p90 ms", "p99 ms", "max ms", "requests per server");
  for (const BalanceRow& row : r.rows) {
    const cascade::LatencySummary& l = ReferenceLatency(row.run);
    std::string per_server;
    for (int64_t n : row.requests_per_server) per_server += fmt::format("{} ", n);
    out += fmt::format("{:<8} {:>8.2f} {:>9.1f} {:>8.1f} {:>8.1f} {:>8.1f} {:>8.1f}  {}\n",
                       row.policy, row.run.wall_seconds, row.run.frames_per_second, l.p50_ms,
                       l.p90_ms, l.p99_ms, l.max_ms, per_server);
  }
  for (const BalanceRow& row : r.rows) out += Checks(row.policy, row.run);
  return out;
}

std::string BalanceBenchCsv(const BalanceBenchResult& r) {
  std::string out =
      "policy,servers,service_ms,slow_service_ms,frames,wall_seconds,frames_per_second,"
      "ref_p50_ms,ref_p90_ms,ref_p99_ms,ref_max_ms,slow_server_requests\n";
  for (const BalanceRow& row : r.rows) {
    const cascade::LatencySummary& l = ReferenceLatency(row.run);
    out +=
        fmt::format("{},{},{:.3f},{:.3f},{},{:.4f},{:.2f},{:.3f},{:.3f},{:.3f},{:.3f},{}\n",
                    row.policy, r.servers, r.service_ms, r.slow_service_ms, row.run.frames,
                    row.run.wall_seconds, row.run.frames_per_second, l.p50_ms, l.p90_ms, l.p99_ms,
                    l.max_ms, row.requests_per_server.empty() ? 0 : row.requests_per_server.back());
  }
  return out;
}

std::string BalanceBenchJson(const BalanceBenchResult& r) {
  Json rows = Json::array();
  for (const BalanceRow& row : r.rows) {
    rows.push_back({{"policy", row.policy},
                    {"requests_per_server", row.requests_per_server},
                    {"run", RunJson(row.run)}});
  }
  Json j = {{"servers", r.servers},
            {"service_ms", r.service_ms},
            {"slow_service_ms", r.slow_service_ms},
            {"frames", r.frames},
            {"rows", rows}};
  return j.dump(2) + "\n";
}

}  // namespace dnoscope::bench
