// The bench's one driver of cascade::Cascade: runs a cascade over a video
// once, measures it (wall time, process CPU time) and cross-checks the
// cascade's own accounting (one row per frame, in order; the summary's
// statuses; every stage's frames, requests, latency samples and endpoint
// attempts). And the tables every scenario shows its runs in.
//
// Thread-safety: RunCascade blocks; call it from one thread.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "bench/table.h"
#include "cascade/cascade.h"
#include "cascade/cascade_config.h"
#include "cascade/summary.h"
#include "common/clock.h"
#include "labels/prediction_csv.h"
#include "models/model_stage.h"
#include "video/frame_source.h"

namespace dnoscope::bench {

// What one run measured.
struct CascadeRunStats {
  // Rows delivered.
  int64_t frames = 0;
  double wall_seconds = 0;
  double frames_per_second = 0;
  // CPU time of the whole process during the run (in-process servers
  // included); cpu / wall near the core count means the machine set the pace.
  double cpu_seconds = 0;
  // Frames of each status, counted from the rows.
  std::array<int64_t, labels::kNumFrameStatuses> status_counts{};
  cascade::CascadeSummary summary;
  cascade::RunReport report;
  // Disagreements between the rows, the summary and the report; empty when
  // everything adds up.
  std::vector<std::string> checks;

  int64_t Count(labels::FrameStatus status) const {
    return status_counts[static_cast<int>(status)];
  }
  // The report of stage "specialized" or "reference"; nullptr when absent.
  const cascade::StageReport* Stage(std::string_view stage) const;
  // Requests of `stage` (0 when absent).
  int64_t StageRequests(std::string_view stage) const;
};

// A run's config, options and stages; the stages are owned here and used
// by the cascade, so they (e.g. a DelayedStage's times) stay readable after
// the run.
struct CascadeSetup {
  cascade::CascadeConfig config;
  cascade::CascadeOptions options;
  // Null when the config has no specialized model.
  std::unique_ptr<models::ModelStage> specialized;
  std::unique_ptr<models::ModelStage> reference;
};

// `seconds` as a clock duration.
inline Clock::Duration ToDuration(double seconds) {
  return std::chrono::duration_cast<Clock::Duration>(std::chrono::duration<double>(seconds));
}

// Frames [0, frames) of `video`.
inline video::FrameSourceOptions FirstFrames(const std::string& video, int64_t frames) {
  return {.uri = video, .range = {0, frames}};
}

// Runs `setup` over the frames of `source` (expecting end - start rows when
// the range has an end). With `rows` non-null, appends every row. Errors:
// creating the cascade, opening the video, the run's.
absl::StatusOr<CascadeRunStats> RunCascade(const CascadeSetup& setup,
                                           const video::FrameSourceOptions& source,
                                           std::vector<labels::FrameResult>* rows = nullptr);

// Appends "<label>: <check>" for each failed check of `run`.
void AddChecks(const std::string& label, const CascadeRunStats& run,
               std::vector<std::string>* checks);

// A run and the key of its table row (its policy, N_S, variant, ...).
struct KeyedRun {
  Cell key;
  CascadeRunStats run;
};

// AddChecks for each run, labelled "<key column> <key>".
void AddChecks(const Column& key, const std::vector<KeyedRun>& runs,
               std::vector<std::string>* checks);

// A table with one row per run: the run's key (a column of its own, e.g.
// {"policy"}), then the named measurements of the run, in order:
//   frames, wall, rate, cpu, diff_reused, specialized, reference (rows of
//   each status), and of the run's stage `stage`: requests,
//   frames_per_request, sent, p50, p90, p99, max, retries; e2e_p50, e2e_p99
//   (decode to row).
// Unknown names are skipped.
Table RunTable(std::string name, std::string title, Column key, const std::vector<KeyedRun>& runs,
               std::string_view stage, const std::vector<std::string>& measurements);

// One row per stage of `run`: requests, frames, MB sent, latency
// p50/p90/p99/max, retries.
Table StageTable(std::string name, std::string title, const CascadeRunStats& run);

}  // namespace dnoscope::bench
