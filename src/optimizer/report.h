// What the optimizer writes: the cascade config JSON (as
// cascade::CascadeConfigToJson writes it, so ParseCascadeConfig and
// `dnoscope run --config` read it unchanged) with an extra top-level
// "optimizer" object that the cascade ignores:
//
//   "optimizer": {
//     "video", "labels",
//     "fitting_range": {"start", "end", "frames", "positive_frames"},
//     "targets": {"fp_rate", "fn_rate", "unit": "frame" | "window", "window",
//                 "window_min_positive"},
//     "met_targets": bool, "fallback": bool,
//     "chosen": {"skip", "diff_threshold", "specialized": bool,
//                "specialized_model", "c_low", "c_high"},
//     "expected": {"fp_rate", "fn_rate", "window_fp_rate", "window_fn_rate",
//                  "shares": {"diff_reused", "specialized", "reference",
//                             "skipped", "corrupt"},
//                  "frames": {same keys, counts},
//                  "cost_ms_per_frame", "reference_every_frame_ms_per_frame",
//                  "speedup_over_reference", "speedup_with_decode"},
//     "stage_costs_ms": {"decode", "difference", "specialized", "reference"},
//     "stage_cost_sources": {"difference" | ...: "given" | "measured on N frames"},
//     "search": {"seconds", "skip_candidates", "diff_thresholds",
//                "confidence_thresholds", "settings_covered", "evaluations"},
//     "checks": {"reference_checked", "reference_agreed",
//                "confidence_batch_deviation"},
//     "warnings": [strings]
//   }
//
// Thread-safety: pure functions (WriteOptimizedConfig writes one file).
#pragma once

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "cascade/cascade_config.h"
#include "optimizer/optimizer.h"

namespace dnoscope::optimizer {

// The "optimizer" object, as JSON text.
std::string OptimizerReportJson(const OptimizeResult& result, const OptimizeOptions& options);

// `config` with its relative paths (model repository, file models, weights,
// names, background: relative to the working directory) rewritten relative
// to `out_dir`, the directory the config file goes to, because the cascade
// resolves them against the config file's directory.
cascade::CascadeConfig RebasePaths(const cascade::CascadeConfig& config,
                                   const std::string& out_dir);

// The whole file: RebasePaths(result.config, out_dir) as CascadeConfigToJson
// writes it, plus the "optimizer" object. InvalidArgument when a path cannot
// be encoded (not UTF-8).
absl::StatusOr<std::string> OptimizedConfigJson(const OptimizeResult& result,
                                                const OptimizeOptions& options,
                                                const std::string& out_dir);

// Writes OptimizedConfigJson for `path`'s directory to `path` (creating the
// directory when missing).
// PermissionDenied when the file cannot be written.
absl::Status WriteOptimizedConfig(const std::string& path, const OptimizeResult& result,
                                  const OptimizeOptions& options);

// A readable multi-line report: chosen values, expected accuracy, shares,
// costs and speedup, warnings.
std::string FormatReport(const OptimizeResult& result, const OptimizeOptions& options);

}  // namespace dnoscope::optimizer
