// The drift response: the audit (audit.h) judged on a sliding window of the
// latest rows, and what the run does when the window says the cascade's
// error left its targets:
//
//  - warn: log and count;
//  - tighten: step to the next safer setting of the frontier (cascade
//    config "drift.frontier", written by the optimizer from cheapest to
//    safest; see DriftFrontier), and back one step when the interval is
//    wholly under the targets again;
//  - fallback: go to the safest setting (the specialized stage left out:
//    every changed frame goes to the reference) until the run is restarted.
//
// Judgment: after each audited row, once the window holds min_audits
// audits, the window's intervals (stratified, Wilson + Bonferroni, at the
// audit's level) are compared with the targets: drift when the FP or FN
// interval lies wholly above its target; "under" when both lie wholly at or
// below. After a change the window restarts with the first row decided
// under the new setting, so a setting is only judged on its own rows.
//
// Determinism: the monitor sees rows in frame order, each with its audit
// (the engine emits an audited row only once its audit is back), and a
// change decided at the row of frame F applies from frame F + lag. The
// engine sets lag to its reorder window and admits frame G only once every
// frame up to G - lag has been judged, so which setting decides each frame
// is a function of the video, the models and the audit seed alone: local,
// distributed and multi-stream runs give the same rows.
//
// Thread-compatible: the engine guards it with its mutex.
#pragma once

#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "cascade/audit.h"
#include "cascade/cascade_config.h"
#include "labels/prediction_csv.h"

namespace dnoscope::cascade {

inline constexpr size_t kMaxReportedChanges = 256;

enum class DriftMode : uint8_t { kOff, kWarn, kTighten, kFallback };

// "off", "warn", "tighten", "fallback"; InvalidArgument listing them.
absl::StatusOr<DriftMode> ParseDriftMode(std::string_view name);
std::string_view DriftModeName(DriftMode mode);

struct DriftOptions {
  DriftMode mode = DriftMode::kOff;
  // Per-frame error rates the run is held to.
  double fp_target = 0.05;
  double fn_target = 0.05;
  // Rows the judgment looks back over.
  int64_t window_rows = 3000;
  // Audited rows the window needs before it is judged.
  int min_audits = 30;
  // Confidence level of the window's intervals (the audit's).
  double level = 0.95;
};

// InvalidArgument for targets outside [0, 1], window_rows < 1,
// min_audits < 1 or a level outside (0, 1).
absl::Status ValidateDriftOptions(const DriftOptions& options);

// One event: a change of setting, or (warn, or nothing safer left) a
// detection that changed nothing (from_step == to_step).
struct DriftChange {
  // The row whose audit decided it, and the first frame the new setting
  // decides.
  int64_t decided_at = 0;
  int64_t effective_from = 0;
  int from_step = 0;
  int to_step = 0;
  // "tighten", "relax", "fallback" or "warn".
  std::string action;
  // The window's estimate when it was decided.
  int64_t audited = 0;
  Interval fp_interval;
  Interval fn_interval;
};

struct DriftReport {
  DriftMode mode = DriftMode::kOff;
  double fp_target = 0;
  double fn_target = 0;
  // The setting of the latest change (frames from its effective_from on).
  int step = 0;
  std::vector<OperatingPoint> frontier;
  int64_t detections = 0;  // windows judged above a target
  int64_t tightenings = 0;
  int64_t relaxations = 0;
  bool fallen_back = false;
  // The latest kMaxReportedChanges events (the counts above cover all).
  std::vector<DriftChange> changes;
  // The current window: rows and audits in it.
  int64_t window_rows = 0;
  int64_t window_audits = 0;
};

// JSON for the summary's "drift" key: mode, fp_target, fn_target, step,
// steps, detections, tightenings, relaxations, fallen_back, window_rows,
// window_audits, frontier[{diff_threshold, specialized, c_low, c_high}],
// changes[{decided_at, effective_from, from_step, to_step, action, audited,
// fp_interval, fn_interval}].
std::string DriftToJson(const DriftReport& report);
// "drift step 1/3 (2 changes)" for the progress line.
std::string DriftProgressText(const DriftReport& report);
// One log line for a change.
std::string DriftChangeText(const DriftChange& change, const DriftReport& report);

class DriftMonitor {
 public:
  // `frontier` as DriftFrontier gives it (at least one setting); `lag` >= 1.
  DriftMonitor(DriftOptions options, std::vector<OperatingPoint> frontier, int64_t lag);

  // Whether the mode may change settings (the engine must then gate
  // admission on the rows judged).
  bool ChangesSettings() const;
  int64_t lag() const { return lag_; }

  // The setting frame `frame` is decided under: valid once every frame up
  // to frame - lag has been given to OnRow.
  int StepFor(int64_t frame) const;
  const OperatingPoint& Point(int step) const { return frontier_[step]; }

  // The next completed row, in frame order, with the reference's label
  // when it was audited (nullopt when not audited or the audit failed).
  // Returns the event it caused, if any.
  std::optional<DriftChange> OnRow(const labels::FrameResult& row,
                                   std::optional<bool> reference_label);

  DriftReport Report() const;

 private:
  struct WindowRow {
    labels::FrameResult row;
    std::optional<bool> reference_label;
  };
  std::optional<DriftChange> Judge(int64_t frame);
  void Restart(int64_t from_frame);

  const DriftOptions options_;
  const std::vector<OperatingPoint> frontier_;
  const int64_t lag_;
  std::deque<WindowRow> window_;
  AuditEstimator estimator_;
  // Rows before this frame were decided under an earlier setting.
  int64_t judge_from_ = 0;
  // (first frame, step), frames increasing.
  std::vector<std::pair<int64_t, int>> schedule_;
  DriftReport report_;
};

}  // namespace dnoscope::cascade
