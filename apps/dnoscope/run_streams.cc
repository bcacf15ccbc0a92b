// `dnoscope run --streams FILE`: every stream of a streams file
// (streams/stream_list.h) through this one process, over the stages the
// command line names — one ModelStage per stage for the whole process, the
// specialized one merging requests across streams (models/batching_stage.h).
// The command line's other options apply to every stream, as they would to
// a single-stream run of it; an entry's roi/frames/skip override its config.
// Exit status: 0 when every stream ended normally, 1 otherwise (bad
// streams file: nothing ran; a failed stream: the others ran to the end and
// the summary says which failed and why).
#include <cstdio>
#include <fstream>

#include <map>

#include "cascade/summary.h"
#include "live/live_run.h"
#include "common/progress.h"
#include "common/status_macros.h"
#include "fmt/format.h"
#include "models/batching_stage.h"
#include "nlohmann/json.hpp"
#include "run_command.h"
#include "spdlog/spdlog.h"
#include "streams/multi_stream.h"
#include "streams/stream_list.h"

namespace dnoscope::app {
namespace {

using streams::StreamEntry;
using streams::StreamPlan;

// A stream's CSV, with the live figures and events fed from every row.
class LiveCsvSink : public streams::RowSink {
 public:
  LiveCsvSink(std::unique_ptr<streams::RowSink> csv, std::unique_ptr<live::LiveRows> rows)
      : csv_(std::move(csv)), rows_(std::move(rows)) {}
  absl::Status Write(const labels::FrameResult& row) override {
    rows_->OnRow(row);
    return csv_->Write(row);
  }
  absl::Status Close() override { return csv_->Close(); }

 private:
  std::unique_ptr<streams::RowSink> csv_;
  std::unique_ptr<live::LiveRows> rows_;
};

// Options that name one stream's input or output: per entry in a streams file.
constexpr const char* kPerStreamFlags[] = {"--video",  "--out",  "--roi",
                                           "--frames", "--skip", "--compare-decode"};

absl::Status EntryError(size_t i, const StreamEntry& e, const absl::Status& s) {
  return absl::Status(s.code(), fmt::format("streams file: {}: {}", streams::EntryLabel(i, e.name),
                                            std::string(s.message())));
}

// Entry i's plan: its config, the entry's overrides, then the command line's.
absl::StatusOr<StreamPlan> PlanStream(CLI::App* app, const RunArgs& a, const StreamEntry& e,
                                      size_t i) {
  absl::StatusOr<cascade::CascadeConfig> config = cascade::ReadCascadeConfig(e.config);
  if (!config.ok()) return EntryError(i, e, config.status());
  if (e.roi) config->roi = *e.roi;
  if (e.skip) config->skip = *e.skip;
  if (absl::Status s = ResolveRunConfig(app, a, &*config); !s.ok()) return EntryError(i, e, s);
  StreamPlan plan;
  plan.name = e.name;
  plan.config = *config;
  plan.source.uri = e.video;
  plan.source.skip = config->skip;
  if (e.frames) plan.source.range = *e.frames;
  plan.out = e.out;
  return plan;
}

bool SameModel(const models::ModelSpec& x, const models::ModelSpec& y) {
  return x.model == y.model && x.weights == y.weights && x.names == y.names &&
         x.version == y.version;
}

// Every stream shares the process's stages, so their configs must name the
// same models (a stream may leave the specialized stage out). Returns the
// plan whose models the stages load.
absl::StatusOr<size_t> CheckSharedModels(const RunArgs& a, const std::vector<StreamPlan>& plans,
                                         const std::vector<StreamEntry>& entries) {
  size_t with_spec = plans.size();
  for (size_t i = 0; i < plans.size(); ++i) {
    const cascade::CascadeConfig& c = plans[i].config;
    const cascade::CascadeConfig& first = plans[0].config;
    const bool local_repo = !IsUrl(a.reference) || (c.specialized_enabled() && !IsUrl(a.specialized));
    if (!SameModel(c.reference, first.reference) ||
        (local_repo && c.model_repository != first.model_repository)) {
      return EntryError(i, entries[i], absl::InvalidArgumentError(fmt::format(
                                           "reference model '{}' differs from {}'s '{}': every "
                                           "stream shares the process's stages",
                                           c.reference.model, streams::EntryLabel(0, entries[0].name),
                                           first.reference.model)));
    }
    if (!c.specialized_enabled()) continue;
    if (with_spec == plans.size()) {
      with_spec = i;
    } else if (!SameModel(c.specialized, plans[with_spec].config.specialized)) {
      return EntryError(
          i, entries[i],
          absl::InvalidArgumentError(fmt::format(
              "specialized model '{}' differs from {}'s '{}': every stream shares the process's "
              "stages",
              c.specialized.model, streams::EntryLabel(with_spec, entries[with_spec].name),
              plans[with_spec].config.specialized.model)));
    }
  }
  return with_spec == plans.size() ? 0 : with_spec;
}

// The process's stages; the specialized one merges requests across streams.
absl::StatusOr<OwnedStages> MakeSharedStages(const RunArgs& a, const cascade::CascadeConfig& config,
                                             models::BatchingStage** batching) {
  DNS_ASSIGN_OR_RETURN(OwnedStages stages, MakeStages(a, config));
  *batching = nullptr;
  if (stages.specialized && a.stream_batch > 1) {
    models::BatchingStageOptions options;
    options.max_batch = a.stream_batch;
    options.max_delay =
        std::chrono::microseconds(static_cast<int64_t>(a.stream_batch_delay_ms * 1000));
    DNS_ASSIGN_OR_RETURN(std::unique_ptr<models::BatchingStage> merged,
                         models::BatchingStage::Create(std::move(stages.specialized), options));
    *batching = merged.get();
    stages.specialized = std::move(merged);
    spdlog::info("specialized stage shared by every stream: {}", (*batching)->Describe());
  }
  return stages;
}

// The summary JSON, each stream with its live figures ("live", as a
// single-stream run's) by name.
absl::Status WriteSummaryJson(const std::string& path, const streams::MultiStreamSummary& summary,
                              const models::BatchingStage* batching,
                              const std::map<std::string, std::string>& live_json) {
  nlohmann::json j = nlohmann::json::parse(streams::MultiStreamSummaryToJson(summary));
  if (j.contains("streams")) {
    for (nlohmann::json& stream : j["streams"]) {
      auto it = live_json.find(stream.value("name", ""));
      if (it != live_json.end()) stream["live"] = nlohmann::json::parse(it->second);
    }
  }
  if (batching) {
    const models::BatchingFigures f = batching->figures();
    j["aggregate"]["specialized_batching"] = {{"requests", f.requests},
                                              {"batches", f.batches},
                                              {"frames", f.rows},
                                              {"mean_batch_frames", f.MeanBatchRows()}};
  }
  std::ofstream out(path);
  out << j.dump(2) << "\n";
  if (!out) return absl::PermissionDeniedError(fmt::format("cannot write '{}'", path));
  return absl::OkStatus();
}

std::optional<ProgressReporter> MakeStreamsProgress(const std::string& mode) {
  if (mode == "off") return std::nullopt;
  ProgressReporter::Options options;
  options.terminal = mode == "bar" || (mode == "auto" && UseTerminalProgress());
  return std::optional<ProgressReporter>(std::in_place, options, Clock::Real());
}

}  // namespace

absl::Status ExecuteStreams(CLI::App* app, const RunArgs& a) {
  for (const char* flag : kPerStreamFlags) {
    if (app->count(flag) > 0) {
      return absl::InvalidArgumentError(
          fmt::format("{} names one stream: with --streams give it per entry of the streams file "
                      "(video, out, roi, frames, skip)",
                      flag));
    }
  }
  // Declared first so that they outlive the metrics server, which reads them.
  OwnedStages stages;
  // Before any thread starts: blocks SIGINT/SIGTERM (they end every stream
  // cleanly, all rows written).
  DNS_ASSIGN_OR_RETURN(std::unique_ptr<live::LiveRun> live_run, live::LiveRun::Start(a.live));
  DNS_ASSIGN_OR_RETURN(std::vector<StreamEntry> entries, streams::LoadStreamList(a.streams));
  if (a.stream_index >= 0) {
    if (static_cast<size_t>(a.stream_index) >= entries.size()) {
      return absl::InvalidArgumentError(
          fmt::format("--stream-index {}: the streams file '{}' has {} entries (0-based index)",
                      a.stream_index, a.streams, entries.size()));
    }
    entries = {entries[a.stream_index]};
  }
  DNS_RETURN_IF_ERROR(streams::CheckStreamFiles(entries));
  std::vector<StreamPlan> plans;
  for (size_t i = 0; i < entries.size(); ++i) {
    DNS_ASSIGN_OR_RETURN(StreamPlan plan, PlanStream(app, a, entries[i], i));
    plans.push_back(std::move(plan));
  }
  DNS_ASSIGN_OR_RETURN(size_t stage_plan, CheckSharedModels(a, plans, entries));
  DNS_ASSIGN_OR_RETURN(cascade::CascadeOptions options, ToCascadeOptions(a));
  models::BatchingStage* batching = nullptr;
  DNS_ASSIGN_OR_RETURN(stages, MakeSharedStages(a, plans[stage_plan].config, &batching));
  const cascade::Stages view = MeteredStages(*live_run, stages);
  // Each stream's source through the live stack (pacing, lateness, drops,
  // reconnects, stop on a signal) and its rows through the live figures and
  // events; both opened for every stream before any starts.
  std::map<std::string, live::StreamStats*> stats;
  std::map<std::string, double> fps;
  bool any_live = false;
  for (const StreamPlan& plan : plans) any_live |= video::IsLiveUri(plan.source.uri);
  streams::StreamIo io;
  io.open_source = [&](const StreamPlan& plan)
      -> absl::StatusOr<std::unique_ptr<video::FrameSource>> {
    DNS_ASSIGN_OR_RETURN(std::unique_ptr<video::FrameSource> opened,
                         video::OpenFrameSource(plan.source));
    live::StreamStats* s = live_run->AddStream(plan.name);
    stats[plan.name] = s;
    fps[plan.name] = opened->info().fps;
    DNS_ASSIGN_OR_RETURN(std::unique_ptr<live::LiveSource> wrapped,
                         live_run->WrapSource(std::move(opened), plan.source, s));
    return std::unique_ptr<video::FrameSource>(std::move(wrapped));
  };
  const bool audit_column = options.audit.rate > 0;
  io.open_sink = [&](const StreamPlan& plan) -> absl::StatusOr<std::unique_ptr<streams::RowSink>> {
    DNS_ASSIGN_OR_RETURN(std::unique_ptr<streams::RowSink> csv,
                         streams::OpenCsvSink(plan.out, audit_column));
    live::StreamStats* s = stats.at(plan.name);
    // The source was opened first (StreamIo's order); its frame rate times events.
    return std::unique_ptr<streams::RowSink>(
        new LiveCsvSink(std::move(csv), live_run->MakeRows(plan.name, fps.at(plan.name), s)));
  };
  options.queue_capacity = QueueCapacity(a, any_live, options.queue_capacity);
  DNS_ASSIGN_OR_RETURN(auto run,
                       streams::MultiStreamRun::Create(plans, view, options, std::move(io)));
  spdlog::info("run: {} streams from '{}'", plans.size(), a.streams);
  std::optional<ProgressReporter> progress = MakeStreamsProgress(a.progress);
  streams::MultiStreamSummary summary = run->Run([&] {
    if (!progress) return;
    const std::vector<streams::StreamStatus> statuses = run->Statuses();
    int64_t frames = 0;
    for (const streams::StreamStatus& s : statuses) frames += s.frames;
    std::string line = streams::ProgressLine(statuses);
    if (any_live || a.live.realtime) {
      for (const auto& [name, s] : stats) {
        line += fmt::format(" | {}:{}", name, live::LiveProgressText(s->snapshot()));
      }
    }
    progress->Update(frames, line);
  });
  progress.reset();
  live_run->Finish();
  if (live_run->stop()->stopped()) spdlog::info("run stopped by signal: every stream's rows written");
  std::fputs(streams::MultiStreamSummaryToTable(summary).c_str(), stdout);
  for (const auto& [name, s] : stats) {
    const std::string table = live::LiveSummaryTable(s->snapshot());
    if (!table.empty()) std::fprintf(stdout, "stream '%s':\n%s", name.c_str(), table.c_str());
  }
  if (batching) {
    const models::BatchingFigures f = batching->figures();
    std::fprintf(stdout, "specialized requests merged across streams: %lld -> %lld (%.2f frames each)\n",
                 static_cast<long long>(f.requests), static_cast<long long>(f.batches),
                 f.MeanBatchRows());
  }
  if (!a.summary_json.empty()) {
    std::map<std::string, std::string> live_json;
    for (const auto& [name, s] : stats) live_json[name] = live::LiveSummaryJson(s->snapshot());
    DNS_RETURN_IF_ERROR(WriteSummaryJson(a.summary_json, summary, batching, live_json));
  }
  if (summary.failed_streams > 0) {
    for (const streams::StreamOutcome& o : summary.streams) {
      if (o.status.ok()) continue;
      return absl::Status(o.status.code(),
                          fmt::format("{} of {} streams failed; first: '{}': {}",
                                      summary.failed_streams, summary.streams.size(), o.name,
                                      std::string(o.status.message())));
    }
  }
  return absl::OkStatus();
}

void AddStreamsOptions(CLI::App* sub, RunArgs* a) {
  const char* group = "Many streams";
  CLI::Option* streams = sub->add_option("--streams", a->streams,
                  "Streams file: a JSON list of {\"name\", \"video\", \"config\", \"out\"[, \"roi\", "
                  "\"frames\", \"skip\"]} entries, run together in this process over the stages "
                  "given here (instead of --video/--out); relative paths are relative to the "
                  "file. Exit status 1 when any stream fails (the others run to the end)")
      ->group(group);
  sub->add_option("--stream-index", a->stream_index,
                  "Run only entry N (0-based) of the streams file, e.g. $JOB_COMPLETION_INDEX in a "
                  "Kubernetes Indexed Job (one pod per entry)")
      ->group(group)
      ->needs(streams)
      ->check(CLI::Range(0, 1000000));
  sub->add_option("--stream-batch", a->stream_batch,
                  "Specialized frames merged into one request across streams at most (1: no "
                  "merging; capped by the model's max_batch_size)")
      ->group(group)
      ->capture_default_str()
      ->check(CLI::Range(1, 4096));
  sub->add_option("--stream-batch-delay-ms", a->stream_batch_delay_ms,
                  "How long a specialized request waits for other streams' requests to merge with")
      ->group(group)
      ->capture_default_str()
      ->check(CLI::Range(0.0, 1000.0));
}

}  // namespace dnoscope::app
