// The cost-based threshold search (NoScope's optimizer): over extracted
// Features, find the setting (skip, t_diff, c_low, c_high, or the specialized
// stage left out) of lowest expected cost per frame whose FP and FN rates on
// the fitting range stay within the targets.
//
// Search space: every skip candidate; for each, t_diff in {0} plus quantiles
// of the scores the detector computes at threshold 0 (for anchor mode, the
// consecutive-frame scores); for each, the specialized stage left out, or
// (c_low, c_high) from confidence quantiles (see threshold_sweep.h for how
// the pairs are swept in O(Q log Q) per t_diff). The difference detector is
// replayed for real (detect::DifferenceDetector on the stored images).
//
// Expected cost per frame of the range, in ms:
//   (c_diff * scored + c_spec * to_models [when used] + c_ref * to_reference) / frames
// Decoding is common to every setting and reported apart.
//
// When no setting meets the targets, the result is the safe fallback: skip 1,
// t_diff 0 (only identical frames reuse a label) and no specialized stage
// (every changed frame goes to the reference), flagged met_targets = false.
//
// Thread-safety: pure function.
#pragma once

#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "common/clock.h"
#include "detect/difference_detector.h"
#include "opencv2/core.hpp"
#include "optimizer/features.h"
#include "optimizer/simulation.h"

namespace dnoscope::optimizer {

struct SearchOptions {
  Targets targets;
  // Difference metric, resolution and reference mode (threshold ignored);
  // must match the resolution the Features were extracted at.
  detect::DiffOptions diff;
  // Background image (BGR uint8 of the ROI) for background reference mode.
  cv::Mat background;
  // Per-frame stage costs the expected cost is computed from.
  StageCosts costs;
  // Sampling periods to try (each >= 1).
  std::vector<int> skip_candidates = {1};
  // Difference-threshold quantiles per skip (plus 0).
  int diff_threshold_candidates = 48;
  // Confidence thresholds (quantiles, plus one below and one above all).
  int confidence_thresholds = 256;
};

// Frames per path under a setting; shares are fractions of all frames.
struct FrameShares {
  int64_t frames = 0;
  int64_t skipped = 0;
  int64_t corrupt = 0;
  int64_t diff_reused = 0;
  int64_t specialized = 0;
  int64_t reference = 0;
  // Frames the difference detector scored (sampled and decodable).
  int64_t scored = 0;
  double Share(int64_t count) const { return frames ? static_cast<double>(count) / frames : 0.0; }
};

// What a setting is expected to do on the fitting range.
struct Expectation {
  Setting setting;
  Accuracy accuracy;
  FrameShares shares;
  // Expected cost per frame of the model stages and the difference detector.
  double cost_ms_per_frame = 0;
};

struct SearchResult {
  // The cheapest setting meeting the targets, or the fallback.
  Expectation chosen;
  bool met_targets = false;
  // Settings the search covered (each exactly, see threshold_sweep.h), the
  // accuracy evaluations it needed for that, and its duration.
  int64_t settings_covered = 0;
  int64_t evaluations = 0;
  double seconds = 0;
  // Candidates tried: difference thresholds (over all skips) and confidence thresholds.
  int64_t diff_thresholds_tried = 0;
  int64_t confidence_thresholds_tried = 0;
};

// The safe setting used when no setting meets the targets.
Setting FallbackSetting();

// Expected accuracy, shares and cost of one setting (by full simulation).
absl::StatusOr<Expectation> Expect(const Features& features, const SearchOptions& options,
                                   const Setting& setting);

// Runs the search. `clock` (not owned) times it. InvalidArgument for empty
// features, targets outside [0, 1], negative costs, bad skip candidates or
// detector options, fewer than 2 confidence thresholds, bad window settings.
absl::StatusOr<SearchResult> SearchThresholds(const Features& features,
                                              const SearchOptions& options, Clock* clock);

}  // namespace dnoscope::optimizer
