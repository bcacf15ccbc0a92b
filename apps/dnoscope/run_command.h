// What `dnoscope run` shares between its single-stream path
// (run_command.cc) and its multi-stream path (run_streams.cc): the parsed
// arguments, how they turn a cascade config into the run's config, and the
// stages they name. Internal to the app.
#pragma once

#include <memory>
#include <string>

#include "CLI/CLI.hpp"
#include "absl/status/statusor.h"
#include "cascade/cascade.h"
#include "cascade/cascade_config.h"
#include "common_options.h"
#include "live/live_run.h"
#include "models/model_stage.h"

namespace dnoscope::app {

struct RunArgs {
  VideoArgs video;
  std::string config_path;
  std::string out;
  std::string summary_json;
  bool compare_decode = false;
  std::string progress = "auto";
  // Overrides of the cascade config; applied only when given.
  std::string model_repository, object, reference, reference_weights, reference_names;
  std::string specialized, diff_metric, diff_reference, diff_resolution, background;
  float min_confidence = 0, c_low = 0, c_high = 1;
  double diff_threshold = 0;
  bool no_diff = false;
  // Distributed run.
  std::string specialized_model, reference_model;
  std::string protocol = "kserve", balance = "p2c";
  int max_in_flight_per_endpoint = 8;
  int max_batch = 1;
  double max_delay_ms = 0;
  std::string reference_payload = "raw", reference_resize;
  int jpeg_quality = 90;
  int window = 1024, max_model_frames = 64;
  int64_t attempt_timeout_ms = 30000;
  int max_attempts = 8;
  double unavailable_patience_s = 30;
  // Accuracy audit (cascade/audit.h).
  double audit_rate = 0;
  uint64_t audit_seed = 1;
  double audit_level = 0.95;
  int max_audit_frames = 16;
  // Drift response (cascade/drift.h).
  std::string on_drift = "off";
  double fp_target = 0.05, fn_target = 0.05;
  int64_t drift_window = 3000;
  int drift_min_audits = 30;
  // Live semantics, events and client metrics (live/live_run.h).
  live::LiveRunOptions live;
  // Many streams (run_streams.cc): the streams file, and the merging of
  // specialized requests across streams.
  std::string streams;
  // Run only this entry (0-based) of the streams file, e.g. a Kubernetes
  // Indexed Job's $JOB_COMPLETION_INDEX; -1: every entry.
  int stream_index = -1;
  int stream_batch = 16;
  double stream_batch_delay_ms = 1;
};

bool IsUrl(const std::string& s);

// Applies the command line's overrides to `config` (read from a file),
// names remote models, and validates the result.
absl::Status ResolveRunConfig(CLI::App* app, const RunArgs& a, cascade::CascadeConfig* config);

// The cascade's stages, owned for the run.
struct OwnedStages {
  std::unique_ptr<models::ModelStage> specialized;
  std::unique_ptr<models::ModelStage> reference;
  cascade::Stages view() const { return {specialized.get(), reference.get()}; }
};

// The stages `a` names for `config`'s models (remote for URL lists, in this
// process otherwise); the specialized one only when the config enables it.
absl::StatusOr<OwnedStages> MakeStages(const RunArgs& a, const cascade::CascadeConfig& config);

absl::StatusOr<cascade::CascadeOptions> ToCascadeOptions(const RunArgs& a);

// The decoded frames a run buffers: live::kLiveQueueFrames when any of its
// input is live (`live_input`) or paced (--realtime), else `otherwise`.
size_t QueueCapacity(const RunArgs& a, bool live_input, size_t otherwise);

// `stages` counted under "specialized" and "reference" for the client metrics.
cascade::Stages MeteredStages(live::LiveRun& live_run, const OwnedStages& stages);

// `dnoscope run --streams FILE` (run_streams.cc).
absl::Status ExecuteStreams(CLI::App* app, const RunArgs& a);
// Adds --streams and the cross-stream batching options.
void AddStreamsOptions(CLI::App* sub, RunArgs* a);

}  // namespace dnoscope::app
