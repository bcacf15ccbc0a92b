// Rendering of DistributedReport (declared in async_cascade.h).
#include "distributed/async_cascade.h"
#include "fmt/format.h"
#include "nlohmann/json.hpp"

namespace dnoscope::distributed {
namespace {

nlohmann::json LatencyJson(const LatencySummary& l) {
  return {{"count", l.count}, {"p50_ms", l.p50_ms}, {"p90_ms", l.p90_ms},
          {"p99_ms", l.p99_ms}, {"max_ms", l.max_ms}};
}

std::string LatencyText(const LatencySummary& l) {
  if (l.count == 0) return "n=0";
  return fmt::format("p50 {:.1f} ms, p90 {:.1f} ms, p99 {:.1f} ms, max {:.1f} ms (n={})",
                     l.p50_ms, l.p90_ms, l.p99_ms, l.max_ms, l.count);
}

}  // namespace

std::string ReportToJson(const DistributedReport& report) {
  nlohmann::json stages = nlohmann::json::array();
  for (const StageReport& s : report.stages) {
    nlohmann::json endpoints = nlohmann::json::array();
    for (const StageEndpointStats& e : s.stats.endpoints) {
      endpoints.push_back({{"endpoint", e.name},
                           {"requests", e.requests},
                           {"failures", e.failures},
                           {"ejections", e.ejections},
                           {"ejected", e.ejected},
                           {"bytes_sent", e.bytes_sent}});
    }
    stages.push_back({{"stage", s.stage},
                      {"description", s.description},
                      {"requests", s.requests},
                      {"frames", s.frames},
                      {"bytes_sent", s.bytes_sent},
                      {"retries", s.stats.retries},
                      {"latency", LatencyJson(s.latency)},
                      {"endpoints", endpoints}});
  }
  nlohmann::json j = {{"stages", stages},
                      {"model_frame_latency", LatencyJson(report.model_frame_latency)},
                      {"end_to_end_latency", LatencyJson(report.end_to_end_latency)}};
  return j.dump(2);
}

std::string ReportToTable(const DistributedReport& report) {
  std::string out;
  for (const StageReport& s : report.stages) {
    out += fmt::format("{:<12}   {}\n", s.stage, s.description);
    out += fmt::format("  requests     {} ({} frames), {:.1f} KiB sent, {} retries\n", s.requests,
                       s.frames, s.bytes_sent / 1024.0, s.stats.retries);
    out += fmt::format("  latency      {}\n", LatencyText(s.latency));
    const bool local = s.stats.endpoints.size() == 1 && s.stats.endpoints[0].name == "local";
    if (!local) {
      for (const StageEndpointStats& e : s.stats.endpoints) {
        out += fmt::format("    {:<24} {:>7} attempts {:>5} failures {:>3} ejections {:>10.1f} KiB{}\n",
                           e.name, e.requests, e.failures, e.ejections, e.bytes_sent / 1024.0,
                           e.ejected ? "  (ejected)" : "");
      }
    }
  }
  out += fmt::format("model frames   decode to label: {}\n", LatencyText(report.model_frame_latency));
  out += fmt::format("all frames     decode to row:   {}\n", LatencyText(report.end_to_end_latency));
  return out;
}

}  // namespace dnoscope::distributed
