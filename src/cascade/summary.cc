#include "cascade/summary.h"

#include "fmt/format.h"
#include "nlohmann/json.hpp"

namespace dnoscope::cascade {
namespace {

using labels::FrameStatus;

double Share(const CascadeSummary& s, FrameStatus status) {
  return s.frames > 0 ? static_cast<double>(s.status_counts[static_cast<int>(status)]) / s.frames
                      : 0.0;
}

constexpr FrameStatus kAllStatuses[] = {FrameStatus::kSkipped, FrameStatus::kDiffReused,
                                        FrameStatus::kSpecialized, FrameStatus::kReference,
                                        FrameStatus::kCorrupt, FrameStatus::kDropped};

nlohmann::json LatencyJson(const LatencySummary& l) {
  return {{"count", l.count}, {"p50_ms", l.p50_ms}, {"p90_ms", l.p90_ms},
          {"p99_ms", l.p99_ms}, {"max_ms", l.max_ms}};
}

std::string LatencyText(const LatencySummary& l) {
  if (l.count == 0) return "n=0";
  return fmt::format("p50 {:.1f} ms, p90 {:.1f} ms, p99 {:.1f} ms, max {:.1f} ms (n={})",
                     l.p50_ms, l.p90_ms, l.p99_ms, l.max_ms, l.count);
}

nlohmann::json EndpointsJson(const models::StageStats& stats) {
  nlohmann::json endpoints = nlohmann::json::array();
  for (const models::StageEndpointStats& e : stats.endpoints) {
    endpoints.push_back({{"endpoint", e.name},
                         {"requests", e.requests},
                         {"failures", e.failures},
                         {"ejections", e.ejections},
                         {"ejected", e.ejected},
                         {"bytes_sent", e.bytes_sent}});
  }
  return endpoints;
}

}  // namespace

std::string SummaryToJson(const CascadeSummary& s, const video::VideoInfo& video) {
  nlohmann::json counts, shares;
  for (FrameStatus st : kAllStatuses) {
    const std::string name(labels::FrameStatusName(st));
    counts[name] = s.status_counts[static_cast<int>(st)];
    shares[name] = Share(s, st);
  }
  nlohmann::json j = {
      {"frames", s.frames},
      {"wall_seconds", s.wall_seconds},
      {"frames_per_second", s.frames_per_second},
      {"positive_frames", s.positive_frames},
      {"corrupt_frames", s.corrupt_frames},
      {"status_counts", counts},
      {"status_shares", shares},
      {"stage_seconds",
       {{"decode", s.stage_seconds.decode},
        {"preprocess", s.stage_seconds.preprocess},
        {"difference", s.stage_seconds.difference},
        {"specialized", s.stage_seconds.specialized},
        {"reference", s.stage_seconds.reference}}},
      {"video",
       {{"uri", video.uri},
        {"width", video.width},
        {"height", video.height},
        {"fps", video.fps},
        {"frame_count", video.frame_count}}},
  };
  if (s.decode_only_frames_per_second) {
    j["decode_only_frames_per_second"] = *s.decode_only_frames_per_second;
    j["cascade_over_decode_ratio"] = *s.decode_only_frames_per_second > 0
                                         ? s.frames_per_second / *s.decode_only_frames_per_second
                                         : 0.0;
  }
  if (s.audit) {
    j["audit"] = nlohmann::json::parse(AuditToJson(*s.audit));
    j["audit"]["failures"] = s.audit_failures;
  }
  if (s.drift) j["drift"] = nlohmann::json::parse(DriftToJson(*s.drift));
  return j.dump(2);
}

std::string SummaryToTable(const CascadeSummary& s, const video::VideoInfo& video) {
  std::string out = fmt::format("video          {} ({}x{}, {:.2f} fps)\n", video.uri, video.width,
                                video.height, video.fps);
  out += fmt::format("frames         {} ({} with the object, {:.1f}%)\n", s.frames,
                     s.positive_frames, s.frames ? 100.0 * s.positive_frames / s.frames : 0.0);
  for (FrameStatus st : kAllStatuses) {
    const int64_t n = s.status_counts[static_cast<int>(st)];
    if (n == 0 && (st == FrameStatus::kCorrupt || st == FrameStatus::kDropped)) continue;
    out += fmt::format("  {:<12} {:>8}  {:5.1f}%\n", labels::FrameStatusName(st), n,
                       100.0 * Share(s, st));
  }
  out += fmt::format("time           {:.2f} s wall, {:.1f} frames/s\n", s.wall_seconds,
                     s.frames_per_second);
  const StageSeconds& t = s.stage_seconds;
  out += fmt::format(
      "  stage seconds decode {:.2f}, preprocess {:.2f}, difference {:.3f}, specialized {:.2f}, "
      "reference {:.2f}\n",
      t.decode, t.preprocess, t.difference, t.specialized, t.reference);
  if (s.decode_only_frames_per_second) {
    const double d = *s.decode_only_frames_per_second;
    out += fmt::format("decode only    {:.1f} frames/s (cascade runs at {:.2f}x of decoding)\n", d,
                       d > 0 ? s.frames_per_second / d : 0.0);
  }
  if (s.audit) {
    const AuditEstimate& a = *s.audit;
    out += fmt::format(
        "audit          {} frames re-checked by the reference ({} failed); per frame, {:.0f}% "
        "intervals:\n",
        a.audited, s.audit_failures, 100 * a.level);
    out += fmt::format("  FP rate      {:.2f}%  [{:.2f}%, {:.2f}%]\n", 100 * a.fp_rate,
                       100 * a.fp_interval.low, 100 * a.fp_interval.high);
    out += fmt::format("  FN rate      {:.2f}%  [{:.2f}%, {:.2f}%]\n", 100 * a.fn_rate,
                       100 * a.fn_interval.low, 100 * a.fn_interval.high);
    for (const StratumEstimate& st : a.strata) {
      if (st.frames == 0) continue;
      out += fmt::format("  {:<11} {} {:>7} frames, {:>5} audited, {:>4} wrong\n", st.stage,
                         st.label ? "present" : "absent ", st.frames, st.audited, st.wrong);
    }
  }
  if (s.drift) {
    const DriftReport& d = *s.drift;
    out += fmt::format(
        "drift          {} (targets FP {:.1f}%, FN {:.1f}%): {} detected, {} tightened, {} "
        "relaxed{}; ends at step {} of 0..{}\n",
        DriftModeName(d.mode), 100 * d.fp_target, 100 * d.fn_target, d.detections, d.tightenings,
        d.relaxations, d.fallen_back ? ", fell back" : "", d.step, d.frontier.size() - 1);
    for (const DriftChange& c : d.changes) out += "  " + DriftChangeText(c, d) + "\n";
  }
  return out;
}

std::string StatusShareLine(const CascadeSummary& s) {
  return fmt::format("diff {:.1f}% spec {:.1f}% ref {:.1f}% skip {:.1f}% | {} positive",
                     100 * Share(s, FrameStatus::kDiffReused),
                     100 * Share(s, FrameStatus::kSpecialized),
                     100 * Share(s, FrameStatus::kReference), 100 * Share(s, FrameStatus::kSkipped),
                     s.positive_frames) +
         (s.audit ? " | " + AuditProgressText(*s.audit) : std::string()) +
         (s.drift ? " | " + DriftProgressText(*s.drift) : std::string());
}

std::string ReportToJson(const RunReport& report) {
  nlohmann::json stages = nlohmann::json::array();
  for (const StageReport& s : report.stages) {
    stages.push_back({{"stage", s.stage},
                      {"description", s.description},
                      {"requests", s.requests},
                      {"frames", s.frames},
                      {"bytes_sent", s.bytes_sent},
                      {"retries", s.stats.retries},
                      {"latency", LatencyJson(s.latency)},
                      {"endpoints", EndpointsJson(s.stats)}});
  }
  nlohmann::json j = {{"stages", stages},
                      {"model_frame_latency", LatencyJson(report.model_frame_latency)},
                      {"end_to_end_latency", LatencyJson(report.end_to_end_latency)}};
  return j.dump(2);
}

std::string ReportToTable(const RunReport& report) {
  std::string out;
  for (const StageReport& s : report.stages) {
    out += fmt::format("{:<12}   {}\n", s.stage, s.description);
    out += fmt::format("  requests     {} ({} frames), {:.1f} KiB sent, {} retries\n", s.requests,
                       s.frames, s.bytes_sent / 1024.0, s.stats.retries);
    out += fmt::format("  latency      {}\n", LatencyText(s.latency));
    const bool local = s.stats.endpoints.size() == 1 && s.stats.endpoints[0].name == "local";
    if (local) continue;
    for (const models::StageEndpointStats& e : s.stats.endpoints) {
      out += fmt::format(
          "    {:<24} {:>7} attempts {:>5} failures {:>3} ejections {:>10.1f} KiB{}\n", e.name,
          e.requests, e.failures, e.ejections, e.bytes_sent / 1024.0,
          e.ejected ? "  (ejected)" : "");
    }
  }
  out += fmt::format("model frames   decode to label: {}\n", LatencyText(report.model_frame_latency));
  out += fmt::format("all frames     decode to row:   {}\n", LatencyText(report.end_to_end_latency));
  return out;
}

std::string InFlightText(std::string_view tag, const models::StageStats& stats) {
  int total = 0;
  std::string parts;
  for (const models::StageEndpointStats& e : stats.endpoints) {
    total += e.in_flight;
    if (stats.endpoints.size() > 1) {
      parts += fmt::format("{}{}:{}{}", parts.empty() ? "" : " ", e.name, e.in_flight,
                           e.ejected ? "!" : "");
    }
  }
  return parts.empty() ? fmt::format("{} {}", tag, total) : fmt::format("{} {} ({})", tag, total, parts);
}

}  // namespace dnoscope::cascade
