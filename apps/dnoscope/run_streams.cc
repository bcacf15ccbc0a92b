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

#include "cascade/summary.h"
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

absl::Status WriteSummaryJson(const std::string& path, const streams::MultiStreamSummary& summary,
                              const models::BatchingStage* batching) {
  nlohmann::json j = nlohmann::json::parse(streams::MultiStreamSummaryToJson(summary));
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
  DNS_ASSIGN_OR_RETURN(OwnedStages stages,
                       MakeSharedStages(a, plans[stage_plan].config, &batching));
  DNS_ASSIGN_OR_RETURN(auto run, streams::MultiStreamRun::Create(plans, stages.view(), options));
  spdlog::info("run: {} streams from '{}'", plans.size(), a.streams);
  std::optional<ProgressReporter> progress = MakeStreamsProgress(a.progress);
  streams::MultiStreamSummary summary = run->Run([&] {
    if (!progress) return;
    const std::vector<streams::StreamStatus> statuses = run->Statuses();
    int64_t frames = 0;
    for (const streams::StreamStatus& s : statuses) frames += s.frames;
    progress->Update(frames, streams::ProgressLine(statuses));
  });
  progress.reset();
  std::fputs(streams::MultiStreamSummaryToTable(summary).c_str(), stdout);
  if (batching) {
    const models::BatchingFigures f = batching->figures();
    std::fprintf(stdout, "specialized requests merged across streams: %lld -> %lld (%.2f frames each)\n",
                 static_cast<long long>(f.requests), static_cast<long long>(f.batches),
                 f.MeanBatchRows());
  }
  if (!a.summary_json.empty()) DNS_RETURN_IF_ERROR(WriteSummaryJson(a.summary_json, summary, batching));
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
