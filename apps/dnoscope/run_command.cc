// `dnoscope run`: the cascade over a video. Each model stage runs in this
// process (a worker thread per stage, the embedded default) or, when its
// --specialized/--reference value is a list of http:// URLs, on model
// servers (load-balanced); decoding and the difference detector always run
// here. Both kinds of stage go through the same engine and policy. Live
// semantics (pacing, lateness, drops, reconnects, SIGINT/SIGTERM), events
// and client metrics come from live::LiveRun (src/live).
#include <cstdio>
#include <fstream>
#include <iostream>

#include "cascade/cascade.h"
#include "cascade/summary.h"
#include "client/remote_stage.h"
#include "commands.h"
#include "run_command.h"
#include "common/progress.h"
#include "common/status_macros.h"
#include "common_options.h"
#include "live/live_run.h"
#include "live_options.h"

#include "fmt/format.h"
#include "nlohmann/json.hpp"
#include "labels/prediction_csv.h"
#include "models/backends/backend_util.h"
#include "models/local_stage.h"
#include "spdlog/spdlog.h"

namespace dnoscope::app {

bool IsUrl(const std::string& s) {
  return s.rfind("http://", 0) == 0 || s.rfind("https://", 0) == 0 || s.rfind("grpc://", 0) == 0;
}

size_t QueueCapacity(const RunArgs& a, bool live_input, size_t otherwise) {
  return live_input || a.live.realtime ? live::kLiveQueueFrames : otherwise;
}

cascade::Stages MeteredStages(live::LiveRun& live_run, const OwnedStages& stages) {
  cascade::Stages view = stages.view();
  if (view.specialized) view.specialized = live_run.Meter("specialized", view.specialized);
  view.reference = live_run.Meter("reference", view.reference);
  return view;
}

namespace {

template <typename T>
void Override(CLI::App* app, const char* flag, const T& value, T* target) {
  if (app->count(flag) > 0) *target = value;
}

absl::Status ParseResolution(const std::string& text, int* w, int* h) {
  if (std::sscanf(text.c_str(), "%dx%d", w, h) != 2 || *w < 1 || *h < 1) {
    return absl::InvalidArgumentError(
        fmt::format("bad resolution '{}': expected WIDTHxHEIGHT, e.g. 100x100", text));
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status ApplyOverrides(CLI::App* app, const RunArgs& a, cascade::CascadeConfig* c) {
  Override(app, "--model-repository", a.model_repository, &c->model_repository);
  Override(app, "--object", a.object, &c->object);
  Override(app, "--min-confidence", a.min_confidence, &c->min_confidence);
  if (!IsUrl(a.reference)) Override(app, "--reference", a.reference, &c->reference.model);
  Override(app, "--reference-weights", a.reference_weights, &c->reference.weights);
  Override(app, "--reference-names", a.reference_names, &c->reference.names);
  if (!IsUrl(a.specialized)) Override(app, "--specialized", a.specialized, &c->specialized.model);
  Override(app, "--c-low", a.c_low, &c->c_low);
  Override(app, "--c-high", a.c_high, &c->c_high);
  Override(app, "--diff-threshold", a.diff_threshold, &c->diff.threshold);
  Override(app, "--background", a.background, &c->diff_background);
  if (a.no_diff) c->diff_enabled = false;
  if (app->count("--fp-target") > 0) c->drift.fp_target = a.fp_target;
  if (app->count("--fn-target") > 0) c->drift.fn_target = a.fn_target;
  if (app->count("--skip") > 0) c->skip = a.video.skip;
  if (!a.video.roi.empty()) {
    DNS_ASSIGN_OR_RETURN(c->roi, ToRoi(a.video.roi));
  }
  if (!a.diff_metric.empty()) {
    DNS_ASSIGN_OR_RETURN(c->diff.metric, detect::ParseDiffMetric(a.diff_metric));
  }
  if (!a.diff_reference.empty())
    DNS_RETURN_IF_ERROR(detect::ParseReferenceMode(a.diff_reference, &c->diff));
  if (!a.diff_resolution.empty()) {
    DNS_RETURN_IF_ERROR(ParseResolution(a.diff_resolution, &c->diff.width, &c->diff.height));
  }
  return cascade::ValidateCascadeConfig(*c);
}

void AddOverrideOptions(CLI::App* sub, RunArgs* a) {
  sub->add_option("--model-repository", a->model_repository,
                  "Model repository root for model names");
  sub->add_option("--object", a->object, "Object class the query asks for (default: person)");
  sub->add_option("--min-confidence", a->min_confidence,
                  "Reference detections below this score are ignored (default: 0)");
  sub->add_option("--reference", a->reference,
                  "Reference detector: hog, a .onnx/.cfg file or a repository model name "
                  "(default: hog); or model servers http://host:port[,http://host:port...] to "
                  "run the stage remotely (model name: --reference-model)");
  sub->add_option("--reference-weights", a->reference_weights,
                  "Darknet .weights for a .cfg reference");
  sub->add_option("--reference-names", a->reference_names, "Class names file for the reference");
  sub->add_option("--specialized", a->specialized,
                  "Specialized classifier (.onnx file or repository name); off by default; or "
                  "model servers http://host:port[,...] (model name: --specialized-model)");
  sub->add_option("--c-low", a->c_low,
                  "Specialized confidence at or below which a frame is absent (default: 0)");
  sub->add_option("--c-high", a->c_high,
                  "Specialized confidence at or above which a frame is present (default: 1)");
  sub->add_option("--diff-threshold", a->diff_threshold,
                  "Difference threshold: a frame whose MSE to its reference frame is at most this "
                  "reuses that frame's label (default: 0 = only identical frames)");
  sub->add_option("--diff-metric", a->diff_metric, "global or blocked MSE (default: global)");
  sub->add_option(
      "--diff-reference", a->diff_reference,
      "Reference frame: anchor (last model-labelled frame), delta:N (N processed frames "
      "earlier) or background (needs --background) (default: anchor)");
  sub->add_option("--diff-resolution", a->diff_resolution,
                  "Resolution the difference detector compares at, WxH (default: 100x100)");
  sub->add_option("--background", a->background,
                  "Empty-scene image for --diff-reference background");
  sub->add_flag("--no-diff", a->no_diff, "Disable the difference detector");
}

// The model name a remote stage asks the servers for: the flag, else the
// config's model when it is a plain name (not a file path).
absl::StatusOr<std::string> RemoteModelName(const std::string& flag_value,
                                            const std::string& config_model,
                                            std::string_view stage) {
  if (!flag_value.empty()) return flag_value;
  if (!config_model.empty() && config_model.find_first_of("/.") == std::string::npos) {
    return config_model;
  }
  return absl::InvalidArgumentError(fmt::format(
      "the {0} stage is remote: give the served model's name with --{0}-model ({1})", stage,
      config_model.empty() ? "the config names no " + std::string(stage) + " model"
                           : "the config's '" + config_model + "' is a file, not a model name"));
}

// How the remote stages reach their servers.
struct RemoteSettings {
  client::RemoteModelOptions model;
  client::HttpTransportOptions transport;
};

absl::StatusOr<RemoteSettings> ToRemoteSettings(const RunArgs& a) {
  RemoteSettings r;
  client::RemoteModelOptions& o = r.model;
  DNS_ASSIGN_OR_RETURN(r.transport.format, client::ParseWireFormat(a.protocol));
  DNS_ASSIGN_OR_RETURN(o.balancer.policy, client::ParseBalancePolicy(a.balance));
  o.balancer.max_in_flight_per_endpoint = a.max_in_flight_per_endpoint;
  o.attempt_timeout = std::chrono::milliseconds(a.attempt_timeout_ms);
  o.max_attempts = a.max_attempts;
  o.unavailable_patience = std::chrono::milliseconds(
      static_cast<int64_t>(a.unavailable_patience_s * 1000));
  return r;
}

// A stage on model servers (`target` is the URL list) or in this process.
absl::StatusOr<std::unique_ptr<models::ModelStage>> MakeStage(const std::string& target,
                                                              const models::ModelSpec& spec,
                                                              const std::string& repository,
                                                              RemoteSettings remote) {
  if (IsUrl(target)) {
    DNS_ASSIGN_OR_RETURN(std::vector<client::Endpoint> endpoints,
                         client::ParseEndpointList(target));
    remote.model.model = spec.model;
    remote.model.version = spec.version;
    if (!spec.names.empty()) {
      DNS_ASSIGN_OR_RETURN(remote.model.class_names, models::ReadClassNames(spec.names));
    }
    return client::ConnectRemoteStage(std::move(endpoints), remote.model, remote.transport);
  }
  models::ModelSpec local = spec;
  local.repository = repository;
  DNS_ASSIGN_OR_RETURN(std::unique_ptr<models::Model> model, models::LoadModel(local));
  return models::MakeLocalStage(std::move(model));
}

absl::StatusOr<cascade::CascadeOptions> ToCascadeOptions(const RunArgs& a) {
  cascade::CascadeOptions options;
  options.max_window_frames = a.window;
  options.max_model_frames = a.max_model_frames;
  options.specialized_batching.max_batch = a.max_batch;
  options.specialized_batching.max_delay =
      std::chrono::microseconds(static_cast<int64_t>(a.max_delay_ms * 1000));
  DNS_ASSIGN_OR_RETURN(options.reference_payload.format,
                       cascade::ParsePayloadFormat(a.reference_payload));
  options.reference_payload.jpeg_quality = a.jpeg_quality;
  if (!a.reference_resize.empty()) {
    DNS_RETURN_IF_ERROR(ParseResolution(a.reference_resize, &options.reference_payload.resize_width,
                                        &options.reference_payload.resize_height));
  }
  options.audit.rate = a.audit_rate;
  options.audit.seed = a.audit_seed;
  options.audit.level = a.audit_level;
  options.audit.max_pending = a.max_audit_frames;
  DNS_ASSIGN_OR_RETURN(options.drift.mode, cascade::ParseDriftMode(a.on_drift));
  options.drift.window_rows = a.drift_window;
  options.drift.min_audits = a.drift_min_audits;
  return options;
}

absl::Status ResolveRunConfig(CLI::App* app, const RunArgs& a, cascade::CascadeConfig* config) {
  DNS_RETURN_IF_ERROR(ApplyOverrides(app, a, config));
  if (IsUrl(a.reference)) {
    DNS_ASSIGN_OR_RETURN(config->reference.model,
                         RemoteModelName(a.reference_model, config->reference.model, "reference"));
  }
  if (IsUrl(a.specialized)) {
    DNS_ASSIGN_OR_RETURN(
        config->specialized.model,
        RemoteModelName(a.specialized_model, config->specialized.model, "specialized"));
  }
  return cascade::ValidateCascadeConfig(*config);
}

absl::StatusOr<OwnedStages> MakeStages(const RunArgs& a, const cascade::CascadeConfig& config) {
  DNS_ASSIGN_OR_RETURN(RemoteSettings remote, ToRemoteSettings(a));
  OwnedStages stages;
  if (config.specialized_enabled()) {
    DNS_ASSIGN_OR_RETURN(stages.specialized, MakeStage(a.specialized, config.specialized,
                                                       config.model_repository, remote));
    spdlog::info("specialized stage: {}", stages.specialized->Describe());
  }
  DNS_ASSIGN_OR_RETURN(stages.reference,
                       MakeStage(a.reference, config.reference, config.model_repository, remote));
  spdlog::info("reference stage: {}", stages.reference->Describe());
  return stages;
}

namespace {

struct RunOutcome {
  absl::StatusOr<cascade::CascadeSummary> summary;
  cascade::RunReport report;
};

// Runs the cascade over `source` with the stages the arguments name, made
// into `*stages` (metered for the client metrics of `live_run`).
absl::StatusOr<RunOutcome> RunCascade(const RunArgs& a, const cascade::CascadeConfig& config,
                                      video::FrameSource& source,
                                      const cascade::ResultCallback& on_result,
                                      std::optional<ProgressReporter>& progress,
                                      live::LiveRun& live_run, const live::StreamStats& stats,
                                      OwnedStages* stages) {
  DNS_ASSIGN_OR_RETURN(cascade::CascadeOptions options, ToCascadeOptions(a));
  options.queue_capacity = QueueCapacity(a, source.info().live, options.queue_capacity);
  DNS_ASSIGN_OR_RETURN(*stages, MakeStages(a, config));
  const cascade::Stages view = MeteredStages(live_run, *stages);
  DNS_ASSIGN_OR_RETURN(auto cascade, cascade::Cascade::Create(config, options, view));
  // The in-flight figures take the stages' locks: refresh them a few times a second.
  std::string in_flight;
  Clock::TimePoint next_refresh{};
  auto on_progress = [&](const cascade::CascadeSummary& s) {
    if (!progress) return;
    const Clock::TimePoint now = Clock::Real()->Now();
    if (now >= next_refresh) {
      in_flight = cascade->InFlightLine();
      next_refresh = now + std::chrono::milliseconds(250);
    }
    progress->Update(s.frames, cascade::StatusShareLine(s) + " | in flight " + in_flight +
                                   live::LiveProgressText(stats.snapshot()));
  };
  RunOutcome outcome{cascade->Run(source, on_result, on_progress), {}};
  outcome.report = cascade->report();
  return outcome;
}

absl::Status ExecuteRun(CLI::App* app, const RunArgs& a) {
  if (!a.streams.empty()) return ExecuteStreams(app, a);
  if (a.video.video.empty()) {
    return absl::InvalidArgumentError("give --video (one stream) or --streams (a streams file)");
  }
  // Declared first so that they outlive the metrics server, which reads them.
  OwnedStages stages;
  // First: blocks SIGINT/SIGTERM before any thread starts.
  DNS_ASSIGN_OR_RETURN(std::unique_ptr<live::LiveRun> live_run, live::LiveRun::Start(a.live));
  if (a.out == "-" && a.live.events == "-") {
    return absl::InvalidArgumentError("--out - and --events - would both write to stdout");
  }
  cascade::CascadeConfig config;
  if (!a.config_path.empty()) {
    DNS_ASSIGN_OR_RETURN(config, cascade::ReadCascadeConfig(a.config_path));
  }
  DNS_RETURN_IF_ERROR(ResolveRunConfig(app, a, &config));
  DNS_ASSIGN_OR_RETURN(video::FrameSourceOptions source_options, ToFrameSourceOptions(a.video));
  source_options.skip = config.skip;
  DNS_ASSIGN_OR_RETURN(auto opened, video::OpenFrameSource(source_options));
  const std::string stream = opened->info().uri;
  live::StreamStats* stats = live_run->AddStream(stream);
  DNS_ASSIGN_OR_RETURN(auto source,
                       live_run->WrapSource(std::move(opened), source_options, stats));

  std::unique_ptr<labels::PredictionCsvWriter> writer;
  if (!a.out.empty()) {
    DNS_ASSIGN_OR_RETURN(writer, labels::PredictionCsvWriter::Open(a.out, a.audit_rate > 0));
  }
  const video::VideoInfo info = source->info();
  spdlog::info(
      "run: {} ({}x{}, {:.2f} fps, {} frames), reference '{}'{}", info.uri, info.width, info.height,
      info.fps, info.frame_count, config.reference.model,
      config.specialized_enabled() ? ", specialized '" + config.specialized.model + "'" : "");
  std::optional<ProgressReporter> progress =
      MakeFrameProgress(a.progress, info, source_options.range);
  std::unique_ptr<live::LiveRows> rows = live_run->MakeRows(stream, info.fps, stats);
  auto on_result = [&](const labels::FrameResult& r) {
    if (writer) DNS_RETURN_IF_ERROR(writer->Write(r));
    rows->OnRow(r);
    return absl::OkStatus();
  };
  absl::StatusOr<RunOutcome> ran =
      RunCascade(a, config, *source, on_result, progress, *live_run, *stats, &stages);
  if (!ran.ok()) {
    if (writer) (void)writer->Close();
    return ran.status();
  }
  RunOutcome& outcome = *ran;
  progress.reset();
  if (writer) DNS_RETURN_IF_ERROR(writer->Close());
  live_run->Finish();
  const live::StreamStats::Snapshot live_figures = stats->snapshot();
  if (live_run->stop()->stopped()) {
    spdlog::info("run stopped by signal: {} rows written", live_figures.rows);
  }
  absl::StatusOr<cascade::CascadeSummary>& summary = outcome.summary;
  if (!summary.ok()) {
    std::fputs(cascade::ReportToTable(outcome.report).c_str(), stderr);
    return summary.status();
  }
  if (a.compare_decode) {
    if (info.live)
      return absl::InvalidArgumentError("--compare-decode needs a file, not a live stream");
    DNS_ASSIGN_OR_RETURN(auto again, video::OpenFrameSource(source_options));
    DNS_ASSIGN_OR_RETURN(summary->decode_only_frames_per_second,
                         cascade::MeasureDecodeOnly(*again, config, {}, Clock::Real()));
  }
  std::FILE* table_out = a.out == "-" ? stderr : stdout;
  std::fputs(cascade::SummaryToTable(*summary, info).c_str(), table_out);
  std::fputs(live::LiveSummaryTable(live_figures).c_str(), table_out);
  std::fputs(cascade::ReportToTable(outcome.report).c_str(), table_out);
  if (!a.summary_json.empty()) {
    nlohmann::json j = nlohmann::json::parse(cascade::SummaryToJson(*summary, info));
    // "distributed" for compatibility: local stages report here too.
    j["distributed"] = nlohmann::json::parse(cascade::ReportToJson(outcome.report));
    j["live"] = nlohmann::json::parse(live::LiveSummaryJson(live_figures));
    std::ofstream json(a.summary_json);
    json << j.dump(2) << "\n";
    if (!json) return absl::PermissionDeniedError(fmt::format("cannot write '{}'", a.summary_json));
  }
  return absl::OkStatus();
}

void AddDistributedOptions(CLI::App* sub, RunArgs* a) {
  const char* group = "Stages: batching, payload and reorder window (every run); servers, protocol and retries (stages given as URL lists)";
  auto add = [&](const char* flag, auto* target, const char* help) {
    return sub->add_option(flag, *target, help)->group(group)->capture_default_str();
  };
  add("--reference-model", &a->reference_model,
      "Reference model name on the servers (default: the config's reference model)");
  add("--specialized-model", &a->specialized_model,
      "Specialized model name on the servers (default: the config's specialized model)");
  add("--protocol", &a->protocol,
      "kserve (KServe v2 REST, binary tensor extension), kserve-json, tfserving, or "
      "kserve-grpc (KServe v2 gRPC, e.g. a server's --grpc-port; give the stage as "
      "grpc://host:port)")
      ->check(CLI::IsMember({"kserve", "kserve-json", "tfserving", "kserve-grpc"}));
  add("--balance", &a->balance,
      "Load balancing over a stage's servers: p2c (power of two choices on outstanding "
      "requests), round-robin or random")
      ->check(CLI::IsMember({"p2c", "round-robin", "random"}));
  add("--max-in-flight-per-endpoint", &a->max_in_flight_per_endpoint,
      "Requests outstanding on one server at most")
      ->check(CLI::Range(1, 4096));
  add("--max-batch", &a->max_batch,
      "Frames per specialized request (1 = one frame per request, as NoScope-distributed); "
      "must not exceed the served model's max_batch_size")
      ->check(CLI::Range(1, 4096));
  add("--max-delay-ms", &a->max_delay_ms,
      "How long a partial specialized batch waits for more frames (0: batch only frames "
      "already decoded)")
      ->check(CLI::Range(0.0, 10000.0));
  add("--reference-payload", &a->reference_payload,
      "How frames go to the reference stage: raw (UINT8 pixels), jpeg or png")
      ->check(CLI::IsMember({"raw", "jpeg", "png"}));
  add("--jpeg-quality", &a->jpeg_quality, "JPEG quality for --reference-payload jpeg")
      ->check(CLI::Range(1, 100));
  add("--reference-resize", &a->reference_resize,
      "Resize frames to WxH on the client before sending them to the reference stage "
      "(boxes are scaled back); default: full frame");
  add("--window", &a->window,
      "Frames decoded but not yet written at most (the reorder window; bounds memory)")
      ->check(CLI::Range(1, 1000000));
  add("--max-model-frames", &a->max_model_frames,
      "Frames inside the model stages at most (each holds its full image)")
      ->check(CLI::Range(1, 100000));
  add("--attempt-timeout-ms", &a->attempt_timeout_ms,
      "Deadline of one request attempt on one server; then it is retried elsewhere")
      ->check(CLI::Range(int64_t{1}, int64_t{3600000}));
  add("--max-attempts", &a->max_attempts, "Attempts per request over all servers")
      ->check(CLI::Range(1, 1000));
  add("--unavailable-patience-s", &a->unavailable_patience_s,
      "When every server of a stage has been down this long, the run fails naming the first "
      "frame it could not label (rows before it are written)")
      ->check(CLI::Range(0.0, 86400.0));
}

void AddAuditOptions(CLI::App* sub, RunArgs* a) {
  const char* group = "Accuracy audit: the error on this video, estimated while it runs";
  auto add = [&](const char* flag, auto* target, const char* help) {
    return sub->add_option(flag, *target, help)->group(group)->capture_default_str();
  };
  add("--audit-rate", &a->audit_rate,
      "Share of the frames the cheap stages decided (difference reuse, specialized certain) "
      "also sent to the reference, at low priority, without changing their labels; 0: off. "
      "The summary, --summary-json (\"audit\") and the progress line then give the per-frame "
      "FP and FN rates with confidence intervals (strata: deciding stage x label, weighted "
      "by their frame counts; Wilson score interval per stratum, Bonferroni over strata, so "
      "conservative); --out gains an 'audited' column")
      ->check(CLI::Range(0.0, 1.0));
  add("--audit-seed", &a->audit_seed,
      "Which frames are audited is a function of this seed and the frame number only: the "
      "same seed audits the same frames in local and distributed runs");
  add("--audit-level", &a->audit_level, "Confidence level of the audit's intervals")
      ->check(CLI::Range(0.5, 0.9999));
  add("--max-audit-frames", &a->max_audit_frames,
      "Audited frames waiting for the reference at most (each holds its full image); the "
      "decoder waits when this many are pending")
      ->check(CLI::Range(1, 100000));
  add("--on-drift", &a->on_drift,
      "What to do when the audit shows the error left its targets, judged after each audited "
      "frame on the last --drift-window rows (once they hold --drift-min-audits audits): drift "
      "when the FP or FN interval lies wholly above its target. off; warn: log and count; "
      "tighten: step to the next safer setting of the config's drift.frontier (dnoscope "
      "optimize writes it, cheapest to safest; the last step leaves the specialized stage out) "
      "and back a step when both intervals lie wholly under the targets; fallback: send every "
      "changed frame to the reference until restarted. A change decided at frame F applies "
      "from frame F + --window, so the rows do not depend on timing or on where the stages "
      "run. Needs --audit-rate > 0. Changes are logged and listed in the summary and "
      "--summary-json (\"drift\")")
      ->check(CLI::IsMember({"off", "warn", "tighten", "fallback"}));
  sub->add_option("--fp-target", a->fp_target,
      "Per-frame FP rate the drift response holds the run to (default: the config's "
      "drift.fp_target, which dnoscope optimize writes)")
      ->group(group)
      ->check(CLI::Range(0.0, 1.0));
  sub->add_option("--fn-target", a->fn_target,
      "Per-frame FN rate the drift response holds the run to (default: the config's "
      "drift.fn_target)")
      ->group(group)
      ->check(CLI::Range(0.0, 1.0));
  add("--drift-window", &a->drift_window, "Rows the drift response judges over")
      ->check(CLI::Range(int64_t{1}, int64_t{100000000}));
  add("--drift-min-audits", &a->drift_min_audits,
      "Audited frames the window needs before it is judged")
      ->check(CLI::Range(1, 1000000));
}

}  // namespace

Command AddRunCommand(CLI::App& root) {
  auto args = std::make_shared<RunArgs>();
  CLI::App* sub = root.add_subcommand(
      "run",
      "Run the cascade (difference detector -> specialized model -> reference detector) over a "
      "video (or every stream of a --streams file) and write one row per frame: frame,label,status,diff_score,"
      "specialized_confidence,reference_confidence");
  AddVideoOptions(*sub, &args->video);
  sub->get_option("--video")->required(false)->description(
      "Video file (mp4, avi, mkv...) or stream/device URL FFmpeg opens (udp://, tcp://, rtsp://, "
      "/dev/video0); or --streams for many");
  sub->add_option("--config", args->config_path,
                  "Cascade config JSON (models, thresholds, resolutions, ROI, object); options "
                  "below override it");
  sub->add_option("--out", args->out, "Output CSV, '-' for stdout (default: none, summary only)");
  sub->add_option("--summary-json", args->summary_json,
                  "Write the run summary as JSON to this file");
  sub->add_flag("--compare-decode", args->compare_decode,
                "After the run, time a decode-and-resize-only pass over the same input and report "
                "cascade frames/s relative to it");
  AddProgressOption(*sub, &args->progress);
  AddOverrideOptions(sub, args.get());
  AddDistributedOptions(sub, args.get());
  AddAuditOptions(sub, args.get());
  AddStreamsOptions(sub, args.get());
  AddLiveOptions(sub, &args->live);
  return {sub, [sub, args] { return ExecuteRun(sub, *args); }};
}

}  // namespace dnoscope::app
