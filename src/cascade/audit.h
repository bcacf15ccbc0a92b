// The accuracy audit: what the cascade's error is on the video being
// processed, estimated from a random sample of the frames the cheap stages
// decided, re-labelled by the reference (SUPG-style sampling of the oracle).
//
// Strata. A frame the reference decided is right by definition (the
// reference is the truth the targets are stated against). The frames that
// can be wrong are those a cheap stage decided; they are cut into strata by
// the deciding stage (difference reuse, specialized certain) and the label
// the cascade gave (present/absent), because within a stratum every frame
// has the same kind of possible error: a "present" frame can only be a false
// positive, an "absent" one only a false negative. Each stratum's error
// share q_s is estimated from its audited frames, and the run's per-frame
// rates follow from the strata sizes N_s (known exactly: every row is
// counted) and the reference-decided frames:
//
//   FP = sum over present strata of N_s q_s,  FN = sum over absent strata,
//   fp_rate = FP / (FP + TN),  fn_rate = FN / (FN + TP)   (labels/evaluation.h)
//
// Intervals: a Wilson score interval per stratum at level 1 - alpha/k
// (Bonferroni over the k strata that have frames), so that with probability
// at least 1 - alpha every q_s lies in its interval at once. Both rates are
// non-decreasing in every q_s, so the rates at the strata's lower (upper)
// bounds bound the rate from below (above): a conservative 1 - alpha
// interval. A stratum with frames but no audits contributes [0, 1].
//
// Frames inherited from a skipped or corrupt neighbour are not audited
// (their image is not decoded or not usable) and count as labelled right.
//
// Pure values and functions; thread-compatible.
#pragma once

#include <array>
#include <cstdint>
#include <string>

#include "absl/status/status.h"

#include "labels/prediction_csv.h"

namespace dnoscope::cascade {

struct AuditOptions {
  // Share of the cheaply decided frames also sent to the reference; 0: off.
  double rate = 0;
  // The sample is a function of (seed, frame): same seed, same frames.
  uint64_t seed = 1;
  // Confidence level of the intervals.
  double level = 0.95;
  // Audited frames waiting for or inside the reference stage at once (each
  // keeps its full image); the edge waits when this many are pending.
  int max_pending = 16;
};

// InvalidArgument unless 0 <= rate <= 1, 0 < level < 1 and max_pending >= 1.
absl::Status ValidateAuditOptions(const AuditOptions& o);

// What a frame's audit is drawn from: a uniform number in [0, 1) from
// (seed, frame), so the sample does not depend on timing, threads or which
// stages are remote. True when the frame is audited at `rate`.
bool AuditDraw(uint64_t seed, int64_t frame, double rate);

// Wilson score interval for `successes` of `trials` at normal quantile `z`;
// [0, 1] when trials == 0.
struct Interval {
  double low = 0;
  double high = 1;
};
Interval WilsonInterval(int64_t successes, int64_t trials, double z);

// The two-sided normal quantile for `level` (e.g. 0.95 -> 1.96).
double NormalQuantileTwoSided(double level);

enum class AuditStage : uint8_t { kDiffReused = 0, kSpecialized = 1 };
inline constexpr int kNumAuditStrata = 4;  // stage x label

// The audit stratum of a completed row, if a cheap stage decided it.
// Returns -1 for rows the audit does not cover.
int AuditStratumOf(const labels::FrameResult& row);

struct StratumEstimate {
  std::string stage;  // "diff_reused" or "specialized"
  bool label = false;
  int64_t frames = 0;   // rows in the stratum
  int64_t audited = 0;  // of which audited
  int64_t wrong = 0;    // audited frames the reference disagreed with
  double error_share = 0;
  Interval interval;
};

struct AuditEstimate {
  double level = 0.95;
  int64_t frames = 0;
  int64_t audited = 0;
  int64_t reference_frames = 0;
  double fp_rate = 0;
  Interval fp_interval;
  double fn_rate = 0;
  Interval fn_interval;
  std::array<StratumEstimate, kNumAuditStrata> strata;
};

// Accumulates a run's rows and audit outcomes.
class AuditEstimator {
 public:
  // Every completed row, in any order (the reference-decided ones too).
  void AddRow(const labels::FrameResult& row);
  // An audited row (also given to AddRow) and the reference's label for it.
  void AddAudit(const labels::FrameResult& row, bool reference_label);
  // Take a row (and its audit) back out: a sliding window of rows.
  void RemoveRow(const labels::FrameResult& row);
  void RemoveAudit(const labels::FrameResult& row, bool reference_label);

  int64_t audited() const;
  AuditEstimate Estimate(double level) const;

 private:
  void CountRow(const labels::FrameResult& row, int delta);
  void CountAudit(const labels::FrameResult& row, bool reference_label, int delta);

  struct Stratum {
    int64_t frames = 0;
    int64_t audited = 0;
    int64_t wrong = 0;
  };
  std::array<Stratum, kNumAuditStrata> strata_{};
  int64_t frames_ = 0;
  // Rows decided by the reference (or inherited), by label.
  int64_t other_positive_ = 0;
  int64_t other_negative_ = 0;
};

// The estimate as JSON (the summary's "audit" key): level, frames, audited,
// reference_frames, fp_rate, fp_interval [low, high], fn_rate, fn_interval,
// method, and per stratum stage, label, frames, audited, wrong, error_share,
// interval.
std::string AuditToJson(const AuditEstimate& e);

// One line for the progress display: "audit 42 FP 1.2% [0.3, 4.0] FN ...".
std::string AuditProgressText(const AuditEstimate& e);

}  // namespace dnoscope::cascade
