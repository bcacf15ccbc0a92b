// Replays the cascade's decisions on extracted Features, without models:
// what the sampling and the difference detector do to each frame for one
// (skip, t_diff), and the labels and statuses a full setting produces.
//
// The replay is the cascade's own policy (cascade/policy.h) driven over
// precomputed scores: the real detect::DifferenceDetector runs on the stored
// images of the sampled, decodable frames; CascadePolicy routes every frame,
// judges the stored specialized confidence, keeps the label memory; the
// reference's verdict is the truth by definition (NoScope counts
// reference-labelled frames as correct).
//
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "absl/status/statusor.h"
#include "cascade/policy.h"
#include "detect/difference_detector.h"
#include "labels/prediction_csv.h"
#include "opencv2/core.hpp"
#include "optimizer/features.h"

namespace dnoscope::optimizer {

// One point of the search space.
struct Setting {
  // Process every skip-th frame of the range.
  int skip = 1;
  // Difference threshold: a frame whose score is at most this reuses a label.
  double diff_threshold = 0;
  // False: the specialized stage is left out of the cascade (every changed
  // frame goes to the reference; the config then names no specialized model).
  bool use_specialized = false;
  // Used when use_specialized: conf <= c_low -> absent, conf >= c_high ->
  // present. c_low < 0 never says absent; c_high > 1 never says present.
  float c_low = -1;
  float c_high = 2;
};

struct DiffPlan {
  int skip = 1;
  double threshold = 0;
  // How many frames back the detector may name (the policy's label memory).
  int reuse_depth = 1;
  // Per frame of the Features: the policy's routing under (skip, threshold).
  std::vector<cascade::Routing> routing;
  // Per frame: the kModels frame whose label this frame ends up with (itself
  // for kModels frames), or -1 for a constant "absent" (background reuse, or
  // a copy made before any frame was labelled). The threshold sweep's
  // shortcut (threshold_sweep.h); SimulateSetting does not use it.
  std::vector<int32_t> decider;
  // Per frame: the difference score; NaN when not scored.
  std::vector<double> score;
  // Frames the difference detector scored, and those sent to the models.
  int64_t processed = 0;
  int64_t to_models = 0;

  cascade::Route route(int64_t i) const { return routing[i].route; }
};

// The detector options (`diff`, with its threshold replaced by `threshold`)
// and background (BGR uint8 of the ROI, any size; only for background mode)
// replayed over `features`. InvalidArgument for bad options or skip < 1.
absl::StatusOr<DiffPlan> PlanDifference(const Features& features, const detect::DiffOptions& diff,
                                        const cv::Mat& background, int skip, double threshold);

// The cascade's result for every frame under `setting`; `plan` must be the
// plan of (setting.skip, setting.diff_threshold). Frame numbers are video
// indices; reference_confidence stays NaN (only the real reference knows it).
// Internal only if the policy finds the plan inconsistent (a bug).
absl::StatusOr<std::vector<labels::FrameResult>> SimulateSetting(const Features& features,
                                                                 const DiffPlan& plan,
                                                                 const Setting& setting);

// PlanDifference + SimulateSetting.
absl::StatusOr<std::vector<labels::FrameResult>> Simulate(const Features& features,
                                                          const detect::DiffOptions& diff,
                                                          const cv::Mat& background,
                                                          const Setting& setting);

// Error counts and rates: fp_rate = fp / negatives, fn_rate = fn / positives
// (0 when the denominator is 0), as labels::Evaluate computes them.
struct ErrorRates {
  int64_t fp = 0;
  int64_t fn = 0;
  int64_t negatives = 0;
  int64_t positives = 0;
  double fp_rate = 0;
  double fn_rate = 0;
};

struct Accuracy {
  ErrorRates frames;
  // NoScope windows: consecutive windows of `window` frames from the range
  // start (the last may be shorter), positive when at least
  // ceil(window_min_positive * length / window) of their frames are.
  ErrorRates windows;
};

// The accuracy the user asks for.
struct Targets {
  // Highest acceptable FP and FN rates (0..1).
  double max_fp_rate = 0.01;
  double max_fn_rate = 0.01;
  // False: per-frame rates; true: NoScope's per-window rates.
  bool per_window = false;
  int window = 30;
  int window_min_positive = 28;
  // 0: the fitting range's rates must meet the targets (NoScope). In (0,1):
  // the upper end of their one-sided Wilson score interval at this
  // confidence must, so that a small or lucky fitting range does not pass
  // settings that miss the targets on new frames.
  double confidence = 0;
};

// Upper bound of the one-sided Wilson score interval of the rate
// errors/total at `confidence` in (0,1); the plain rate when confidence is 0
// (and 0 when total is 0).
double RateUpperBound(int64_t errors, int64_t total, double confidence);
// The FP / FN rate the targets are checked against (see Targets::confidence).
double CheckedFpRate(const ErrorRates& rates, const Targets& targets);
double CheckedFnRate(const ErrorRates& rates, const Targets& targets);

// True when the rates `targets` constrain (per frame or per window) are met.
bool MeetsTargets(const Accuracy& accuracy, const Targets& targets);
// True when `rates` are within the targets' FP and FN limits.
bool WithinTargets(const ErrorRates& rates, const Targets& targets);

ErrorRates MakeRates(int64_t fp, int64_t fn, int64_t negatives, int64_t positives);

// Accuracy of `predicted` (0/1 per frame) against `truth` (same length).
Accuracy MeasureAccuracy(std::span<const uint8_t> truth, std::span<const uint8_t> predicted,
                         int window, int window_min_positive);

}  // namespace dnoscope::optimizer
