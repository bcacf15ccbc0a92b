#include "bench/cascade_run.h"

#include <cmath>
#include <ctime>
#include <functional>

#include "bench/render.h"
#include "common/clock.h"
#include "common/status_macros.h"
#include "fmt/format.h"

namespace dnoscope::bench {
namespace {

using labels::FrameStatus;

// Rows must come once each, in frame order, from the range's first frame.
struct RowTally {
  int64_t rows = 0;
  int64_t next_frame = 0;
  std::array<int64_t, labels::kNumFrameStatuses> counts{};
  std::string first_problem;

  void Add(const labels::FrameResult& r) {
    if (r.frame != next_frame && first_problem.empty()) {
      first_problem = fmt::format("row {} is frame {}, expected frame {}", rows, r.frame, next_frame);
    }
    next_frame = r.frame + 1;
    ++rows;
    ++counts[static_cast<int>(r.status)];
  }
};

void CheckEndpoints(const cascade::StageReport& stage, std::vector<std::string>* checks) {
  int64_t attempts = 0;
  for (const models::StageEndpointStats& e : stage.stats.endpoints) {
    attempts += e.requests;
    if (e.in_flight != 0) {
      checks->push_back(fmt::format("{} endpoint {} still has {} in flight after the run",
                                    stage.stage, e.name, e.in_flight));
    }
  }
  if (attempts != stage.requests + stage.stats.retries) {
    checks->push_back(fmt::format("{} endpoint requests {} != requests {} + retries {}",
                                  stage.stage, attempts, stage.requests, stage.stats.retries));
  }
}

// `stage` must have seen `frames` frames (one per request when `one_per_request`).
void CheckStage(const cascade::StageReport* stage, std::string_view name, int64_t frames,
                bool one_per_request, std::vector<std::string>* checks) {
  if (stage == nullptr) {
    if (frames > 0) checks->push_back(fmt::format("no '{}' stage in the report", name));
    return;
  }
  if (stage->frames != frames) {
    checks->push_back(
        fmt::format("{} stage frames {} != {} rows that needed it", name, stage->frames, frames));
  }
  if (one_per_request && stage->requests != stage->frames) {
    checks->push_back(fmt::format("{} requests {} != frames {}", name, stage->requests, stage->frames));
  }
  if (stage->latency.count != stage->requests) {
    checks->push_back(fmt::format("{} latency samples {} != requests {}", name,
                                  stage->latency.count, stage->requests));
  }
  CheckEndpoints(*stage, checks);
}

void CheckRun(const RowTally& tally, std::optional<int64_t> expected_rows, bool specialized,
              CascadeRunStats* s) {
  std::vector<std::string>& checks = s->checks;
  if (!tally.first_problem.empty()) checks.push_back(tally.first_problem);
  if (expected_rows && tally.rows != *expected_rows) {
    checks.push_back(fmt::format("{} rows for {} frames", tally.rows, *expected_rows));
  }
  if (s->summary.frames != tally.rows) {
    checks.push_back(fmt::format("summary frames {} != rows {}", s->summary.frames, tally.rows));
  }
  if (s->summary.status_counts != tally.counts) {
    checks.push_back("summary status counts differ from the rows' statuses");
  }
  if (std::abs(s->summary.wall_seconds - s->wall_seconds) > 0.05 * s->wall_seconds + 0.01) {
    checks.push_back(fmt::format("summary wall {:.3f} s, measured around Run() {:.3f} s",
                                 s->summary.wall_seconds, s->wall_seconds));
  }
  const int64_t reference = s->Count(FrameStatus::kReference);
  CheckStage(s->Stage("reference"), "reference", reference, true, &checks);
  if (specialized) {
    CheckStage(s->Stage("specialized"), "specialized",
               reference + s->Count(FrameStatus::kSpecialized), false, &checks);
  }
}

// Everything RunTable can show about a run and its table's stage (null
// when the run has no such stage).
struct Measurement {
  Column column;
  std::function<Cell(const CascadeRunStats&, const cascade::StageReport*)> value;
};

Cell OfStage(const cascade::StageReport* s, const std::function<Cell(const cascade::StageReport&)>& f) {
  return s == nullptr ? Cell() : f(*s);
}

const std::vector<Measurement>& Measurements() {
  using R = const CascadeRunStats&;
  using S = const cascade::StageReport*;
  using St = const cascade::StageReport&;
  static const std::vector<Measurement> kAll = {
      {{"frames"}, [](R r, S) { return Cell(r.frames); }},
      {{"wall", "s", 2}, [](R r, S) { return Cell(r.wall_seconds); }},
      {{"rate", "frames/s", 1}, [](R r, S) { return Cell(r.frames_per_second); }},
      {{"cpu", "s", 2}, [](R r, S) { return Cell(r.cpu_seconds); }},
      {{"diff_reused"}, [](R r, S) { return Cell(r.Count(FrameStatus::kDiffReused)); }},
      {{"specialized"}, [](R r, S) { return Cell(r.Count(FrameStatus::kSpecialized)); }},
      {{"reference"}, [](R r, S) { return Cell(r.Count(FrameStatus::kReference)); }},
      {{"requests"}, [](R, S s) { return OfStage(s, [](St x) { return Cell(x.requests); }); }},
      {{"stage_frames"}, [](R, S s) { return OfStage(s, [](St x) { return Cell(x.frames); }); }},
      {{"frames_per_request", "", 2}, [](R, S s) {
         return OfStage(s, [](St x) { return Cell(x.requests ? 1.0 * x.frames / x.requests : 0.0); });
       }},
      {{"sent", "MB", 1}, [](R, S s) { return OfStage(s, [](St x) { return Cell(x.bytes_sent / 1e6); }); }},
      {{"p50", "ms", 2}, [](R, S s) { return OfStage(s, [](St x) { return Cell(x.latency.p50_ms); }); }},
      {{"p90", "ms", 2}, [](R, S s) { return OfStage(s, [](St x) { return Cell(x.latency.p90_ms); }); }},
      {{"p99", "ms", 2}, [](R, S s) { return OfStage(s, [](St x) { return Cell(x.latency.p99_ms); }); }},
      {{"max", "ms", 2}, [](R, S s) { return OfStage(s, [](St x) { return Cell(x.latency.max_ms); }); }},
      {{"retries"}, [](R, S s) { return OfStage(s, [](St x) { return Cell(x.stats.retries); }); }},
      {{"e2e_p50", "ms", 1}, [](R r, S) { return Cell(r.report.end_to_end_latency.p50_ms); }},
      {{"e2e_p99", "ms", 1}, [](R r, S) { return Cell(r.report.end_to_end_latency.p99_ms); }},
  };
  return kAll;
}

}  // namespace

const cascade::StageReport* CascadeRunStats::Stage(std::string_view stage) const {
  for (const cascade::StageReport& s : report.stages) {
    if (s.stage == stage) return &s;
  }
  return nullptr;
}

int64_t CascadeRunStats::StageRequests(std::string_view stage) const {
  const cascade::StageReport* s = Stage(stage);
  return s == nullptr ? 0 : s->requests;
}

absl::StatusOr<CascadeRunStats> RunCascade(const CascadeSetup& setup,
                                           const video::FrameSourceOptions& source_options,
                                           std::vector<labels::FrameResult>* rows) {
  DNS_ASSIGN_OR_RETURN(std::unique_ptr<cascade::Cascade> cascade,
                       cascade::Cascade::Create(setup.config, setup.options,
                                                {setup.specialized.get(), setup.reference.get()}));
  DNS_ASSIGN_OR_RETURN(std::unique_ptr<video::FrameSource> source,
                       video::OpenFrameSource(source_options));
  RowTally tally;
  tally.next_frame = source_options.range.start;
  const std::clock_t cpu_start = std::clock();
  const Clock::TimePoint start = Clock::Real()->Now();
  CascadeRunStats s;
  DNS_ASSIGN_OR_RETURN(s.summary, cascade->Run(*source, [&](const labels::FrameResult& r) {
    tally.Add(r);
    if (rows != nullptr) rows->push_back(r);
    return absl::OkStatus();
  }));
  s.wall_seconds = SecondsBetween(start, Clock::Real()->Now());
  s.cpu_seconds = static_cast<double>(std::clock() - cpu_start) / CLOCKS_PER_SEC;
  s.frames = tally.rows;
  s.frames_per_second = s.wall_seconds > 0 ? s.frames / s.wall_seconds : 0;
  s.status_counts = tally.counts;
  s.report = cascade->report();
  const FrameRange& range = source_options.range;
  const std::optional<int64_t> expected =
      range.end ? std::optional<int64_t>(*range.end - range.start) : std::nullopt;
  CheckRun(tally, expected, setup.specialized != nullptr, &s);
  return s;
}

void AddChecks(const std::string& label, const CascadeRunStats& run,
               std::vector<std::string>* checks) {
  for (const std::string& c : run.checks) checks->push_back(label + ": " + c);
}

void AddChecks(const Column& key, const std::vector<KeyedRun>& runs,
               std::vector<std::string>* checks) {
  for (const KeyedRun& r : runs) AddChecks(key.name + " " + FormatCell(r.key, key), r.run, checks);
}

Table RunTable(std::string name, std::string title, Column key, const std::vector<KeyedRun>& runs,
               std::string_view stage, const std::vector<std::string>& measurements) {
  std::vector<const Measurement*> chosen;
  for (const std::string& m : measurements) {
    for (const Measurement& candidate : Measurements()) {
      if (candidate.column.name == m) chosen.push_back(&candidate);
    }
  }
  Table table{.name = std::move(name), .title = std::move(title), .columns = {std::move(key)}};
  for (const Measurement* m : chosen) table.columns.push_back(m->column);
  for (const KeyedRun& r : runs) {
    std::vector<Cell> row = {r.key};
    for (const Measurement* m : chosen) row.push_back(m->value(r.run, r.run.Stage(stage)));
    table.AddRow(std::move(row));
  }
  return table;
}

Table StageTable(std::string name, std::string title, const CascadeRunStats& run) {
  const std::vector<std::string> measurements = {"requests", "stage_frames", "sent", "p50",
                                                 "p90",      "p99",          "max",  "retries"};
  Table table = RunTable(std::move(name), std::move(title), {"stage"}, {}, "", measurements);
  for (const cascade::StageReport& s : run.report.stages) {
    table.AddRow(RunTable("", "", {"stage"}, {{s.stage, run}}, s.stage, measurements).rows[0]);
  }
  return table;
}

}  // namespace dnoscope::bench
