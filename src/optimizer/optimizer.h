// `dnoscope optimize` as a library: choose the cascade's thresholds on a
// threshold-fitting range so that FP and FN rates against the reference
// labels stay under targets at the lowest expected cost per frame.
//
//   Optimize: video + label CSV + model specs -> OptimizeResult
//     1. reads the labels, checks they cover the range and name the object;
//     2. loads the specialized and reference models;
//     3. ExtractFeatures (features.h): difference images, confidences,
//        truth, measured stage costs (or costs given in the options);
//     4. SearchThresholds (search.h);
//     5. the chosen values applied to the base config.
//   WriteOptimizedConfig (report.h) writes the cascade config JSON with an
//   "optimizer" report that `dnoscope run --config` ignores.
//
// Thread-safety: functions are thread-safe for distinct arguments.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "cascade/cascade_config.h"
#include "common/clock.h"
#include "common/roi.h"
#include "labels/label_csv.h"
#include "optimizer/features.h"
#include "optimizer/search.h"
#include "video/frame_source.h"
#include "video/preprocess.h"

namespace dnoscope::optimizer {

struct OptimizeOptions {
  // The cascade to tune: query (object, min_confidence, roi), specialized and
  // reference model specs, model_repository, difference metric, resolution,
  // reference mode and background. skip, diff.threshold, c_low and c_high are
  // chosen. An empty specialized model tunes the cascade without that stage.
  cascade::CascadeConfig base;
  // Video and threshold-fitting range (disjoint from the training range).
  std::string video;
  FrameRange range;
  // NoScope label CSV of the reference (Optimize only).
  std::string labels_path;
  Targets targets;
  std::vector<int> skip_candidates = {1};
  // Stage costs in ms per frame given instead of measured.
  std::optional<double> cost_difference_ms;
  std::optional<double> cost_specialized_ms;
  std::optional<double> cost_reference_ms;
  // Search resolution (see SearchOptions).
  int diff_threshold_candidates = 48;
  int confidence_thresholds = 256;
  // Extraction (see FeatureOptions).
  int specialized_batch_size = 32;
  int specialized_timing_frames = 32;
  int reference_timing_frames = 8;
  int64_t max_feature_bytes = int64_t{1} << 30;
  video::Interpolation interpolation = video::Interpolation::kArea;
};

struct OptimizeResult {
  // `base` with the chosen skip, difference threshold and specialized
  // thresholds (specialized.model cleared when the stage is left out).
  cascade::CascadeConfig config;
  SearchResult search;
  // Costs the search used, and which of them the options gave (the others
  // were measured over `samples` frames).
  StageCosts costs;
  struct Given {
    bool difference = false;
    bool specialized = false;
    bool reference = false;
  } given;
  CostSamples samples;
  // The specialized model the confidences came from ("" when none).
  std::string specialized_model;
  // Fitting range as read.
  int64_t first_frame = 0;
  int64_t frames = 0;
  int64_t positive_frames = 0;
  int reference_checked = 0;
  int reference_agreed = 0;
  double confidence_batch_deviation = 0;
  // Expected speedup over running the reference on every frame: model stages
  // only, and with decoding overlapped as the cascade's decoder thread does.
  double speedup = 0;
  double speedup_with_decode = 0;
  // Things the user should know (unmet targets first).
  std::vector<std::string> warnings;
};

// Runs steps 1-5 on files. Errors: InvalidArgument for bad options, labels
// that do not cover the range or never name the object, an empty range;
// NotFound for missing files or models; the models' and decoder's errors.
absl::StatusOr<OptimizeResult> Optimize(const OptimizeOptions& options, Clock* clock,
                                        const FrameProgress& on_frame = {});

// Steps 3-5 with models and labels already at hand (tests use fakes).
// `source` must yield the fitting range at skip 1; `truth` labels frames by
// video index. models.specialized is required when base names a specialized
// model; models.reference may be null when the reference cost is given.
absl::StatusOr<OptimizeResult> OptimizeWithModels(video::FrameSource& source,
                                                  const FeatureModels& models,
                                                  const labels::LabelIndex& truth,
                                                  const OptimizeOptions& options, Clock* clock,
                                                  const FrameProgress& on_frame = {});

// `base` with `setting` applied (the config the cascade runs).
cascade::CascadeConfig ApplySetting(const cascade::CascadeConfig& base, const Setting& setting);

// The search options OptimizeWithModels derives from `options` and `costs`.
SearchOptions MakeSearchOptions(const OptimizeOptions& options, const StageCosts& costs);

}  // namespace dnoscope::optimizer
