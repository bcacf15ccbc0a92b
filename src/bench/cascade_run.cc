#include "bench/cascade_run.h"

#include <ctime>

#include "common/clock.h"
#include "common/status_macros.h"
#include "fmt/format.h"
#include "video/frame_source.h"

namespace dnoscope::bench {

absl::StatusOr<OwnedCascade> MakeOwnedCascade(const cascade::CascadeConfig& config,
                                              const cascade::CascadeOptions& options,
                                              std::unique_ptr<models::ModelStage> specialized,
                                              std::unique_ptr<models::ModelStage> reference) {
  OwnedCascade owned;
  owned.specialized = std::move(specialized);
  owned.reference = std::move(reference);
  DNS_ASSIGN_OR_RETURN(owned.cascade,
                       cascade::Cascade::Create(config, options,
                                                {owned.specialized.get(), owned.reference.get()}));
  return owned;
}

absl::StatusOr<CascadeRunStats> RunAsyncCascadeTimed(
    const cascade::CascadeConfig& config, const cascade::CascadeOptions& options,
    std::unique_ptr<models::ModelStage> specialized,
    std::unique_ptr<models::ModelStage> reference, const std::string& video, int64_t frames,
    std::vector<labels::FrameResult>* rows) {
  DNS_ASSIGN_OR_RETURN(OwnedCascade cascade, MakeOwnedCascade(config, options,
                                                              std::move(specialized),
                                                              std::move(reference)));
  video::FrameSourceOptions source_options;
  source_options.uri = video;
  source_options.range.end = frames;
  DNS_ASSIGN_OR_RETURN(std::unique_ptr<video::FrameSource> source,
                       video::OpenFrameSource(source_options));
  CascadeRunStats s;
  int64_t out_of_order = 0;
  const std::clock_t cpu_start = std::clock();
  const Clock::TimePoint start = Clock::Real()->Now();
  DNS_ASSIGN_OR_RETURN(cascade::CascadeSummary summary,
                       cascade->Run(*source, [&](const labels::FrameResult& r) {
                         if (r.frame != s.frames) ++out_of_order;
                         ++s.frames;
                         ++s.status_counts[static_cast<int>(r.status)];
                         if (rows != nullptr) rows->push_back(r);
                         return absl::OkStatus();
                       }));
  s.wall_seconds = SecondsBetween(start, Clock::Real()->Now());
  s.cpu_seconds = static_cast<double>(std::clock() - cpu_start) / CLOCKS_PER_SEC;
  s.frames_per_second = s.wall_seconds > 0 ? s.frames / s.wall_seconds : 0;
  s.decode_seconds = summary.stage_seconds.decode;
  s.report = cascade->report();
  if (s.frames != frames)
    s.checks.push_back(fmt::format("{} rows for {} frames", s.frames, frames));
  if (out_of_order > 0) s.checks.push_back(fmt::format("{} rows out of order", out_of_order));
  if (summary.status_counts != s.status_counts) {
    s.checks.push_back("summary status counts differ from the rows' statuses");
  }
  const cascade::StageReport* ref = FindStageReport(s.report, "reference");
  const int64_t ref_rows = StatusCount(s, labels::FrameStatus::kReference);
  if ((ref == nullptr ? 0 : ref->frames) != ref_rows) {
    s.checks.push_back(fmt::format("reference stage frames {} != {} reference rows",
                                   ref == nullptr ? 0 : ref->frames, ref_rows));
  }
  return s;
}

absl::StatusOr<std::vector<std::unique_ptr<ReplayServer>>> StartReplayFleet(
    const std::string& dir, const ReplayModelSpec& model, const std::vector<double>& service_ms) {
  std::vector<std::unique_ptr<ReplayServer>> fleet;
  for (size_t i = 0; i < service_ms.size(); ++i) {
    ReplayModelSpec spec = model;
    spec.service_time_ms = service_ms[i];
    DNS_ASSIGN_OR_RETURN(std::unique_ptr<ReplayServer> server,
                         ReplayServer::Start(fmt::format("{}/server{}", dir, i), {spec}));
    fleet.push_back(std::move(server));
  }
  return fleet;
}

std::vector<client::Endpoint> FleetEndpoints(
    const std::vector<std::unique_ptr<ReplayServer>>& fleet) {
  std::vector<client::Endpoint> endpoints;
  for (const auto& server : fleet) endpoints.push_back(server->endpoint());
  return endpoints;
}

const cascade::StageReport* FindStageReport(const cascade::RunReport& report,
                                                const std::string& stage) {
  for (const cascade::StageReport& s : report.stages) {
    if (s.stage == stage) return &s;
  }
  return nullptr;
}

int64_t StatusCount(const CascadeRunStats& s, labels::FrameStatus status) {
  return s.status_counts[static_cast<int>(status)];
}

}  // namespace dnoscope::bench
