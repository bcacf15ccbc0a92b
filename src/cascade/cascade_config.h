// The cascade config: which models answer the query, with which thresholds,
// at which resolutions, over which region of the frame. Read from JSON and
// overridden from the command line.
//
// JSON (every key optional; unknown keys are rejected so typos do not pass):
// {
//   "object": "person",              // the class the query asks for
//   "min_confidence": 0.0,           // reference detections below are ignored
//   "roi": [x0, y0, x1, y1],         // object counts when its box centre is inside
//   "skip": 1,                       // process every skip-th frame
//   "model_repository": "models",    // root for repository model names
//   "difference": {
//     "enabled": true, "metric": "global" | "blocked", "width": 100, "height": 100,
//     "threshold": 0.0, "reference": "anchor" | "delta:N" | "background",
//     "grid": [rows, cols], "reduce": "max" | "sum", "weights": [..],
//     "background": "empty_scene.png"
//   },
//   "specialized": {                  // optional stage
//     "model": "name-or-path.onnx", "version": -1,
//     "c_low": 0.1, "c_high": 0.9, "width": 50, "height": 50
//   },
//   "reference": {
//     "model": "hog" | "name" | "path.onnx" | "path.cfg", "weights": "path.weights",
//     "names": "coco.names", "version": -1
//   },
//   "drift": {                        // what `run --on-drift` steps along
//     "fp_target": 0.05, "fn_target": 0.05,
//     "frontier": [                   // settings safer than the config's own, cheapest first
//       {"diff_threshold": 8.0, "specialized": true, "c_low": 0.05, "c_high": 0.95,
//        "expected_fp_rate": 0.01, "expected_fn_rate": 0.02, "cost_ms_per_frame": 3.1}
//     ]
//   }
// }
// Relative file paths are resolved against the config file's directory.
#pragma once

#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "common/roi.h"
#include "detect/difference_detector.h"
#include "models/model_repository.h"
#include "opencv2/core.hpp"

namespace dnoscope::cascade {

// A setting the cascade can switch to while it runs (a drift response): the
// difference threshold and the specialized stage's thresholds, or the
// specialized stage left out (every changed frame goes to the reference).
// Skip, resolutions and models stay as configured.
struct OperatingPoint {
  double diff_threshold = 0;
  bool specialized = true;
  float c_low = 0;
  float c_high = 1;
  // What the optimizer expected of it on its fitting range; NaN: unknown.
  double expected_fp_rate = std::numeric_limits<double>::quiet_NaN();
  double expected_fn_rate = std::numeric_limits<double>::quiet_NaN();
  double cost_ms_per_frame = std::numeric_limits<double>::quiet_NaN();
};

struct DriftConfig {
  // The per-frame error rates the run is held to (the optimizer's targets).
  std::optional<double> fp_target;
  std::optional<double> fn_target;
  // Settings safer than the config's own, cheapest first.
  std::vector<OperatingPoint> frontier;
};

struct CascadeConfig {
  // Query.
  std::string object = "person";
  float min_confidence = 0;
  std::optional<Roi> roi;
  int skip = 1;
  std::string model_repository;

  // Difference detector.
  bool diff_enabled = true;
  detect::DiffOptions diff;
  std::string diff_background;

  // Specialized model (disabled when specialized.model is empty).
  models::ModelSpec specialized{.kind = "classifier"};
  float c_low = 0.0f;
  float c_high = 1.0f;
  int specialized_width = 50;
  int specialized_height = 50;

  // Reference detector.
  models::ModelSpec reference{.model = "hog"};

  // Drift response settings (used by `run --on-drift`).
  DriftConfig drift;

  bool specialized_enabled() const { return !specialized.model.empty(); }
};

// Parses config JSON. `base_dir` resolves relative paths ("" = as given).
// InvalidArgument naming the key and the expected type for bad values.
absl::StatusOr<CascadeConfig> ParseCascadeConfig(std::string_view json_text,
                                                 std::string_view source_name,
                                                 const std::string& base_dir);

// Reads and parses a config file (paths relative to its directory).
absl::StatusOr<CascadeConfig> ReadCascadeConfig(const std::string& path);

// The config's own setting (the first operating point).
OperatingPoint OwnOperatingPoint(const CascadeConfig& config);

// The settings a drift response steps along, cheapest first: the config's
// own, drift.frontier, and last, when the safest so far still uses the
// specialized stage, that setting without it.
std::vector<OperatingPoint> DriftFrontier(const CascadeConfig& config);

// Checks cross-field consistency: thresholds ordered, sizes positive, skip >= 1,
// background image given for background mode.
absl::Status ValidateCascadeConfig(const CascadeConfig& config);

// True when a model value names a file (it has a path separator or a .onnx or
// .cfg extension) rather than "hog" or a repository model name.
bool LooksLikeModelFile(const std::string& model);

// The background image the difference detector compares with in background
// mode, cropped to the ROI; an empty Mat in other modes. InvalidArgument when
// the file is missing, not an image, or smaller than the ROI.
absl::StatusOr<cv::Mat> LoadDiffBackground(const CascadeConfig& config);

// Serializes to the JSON format above (invalid UTF-8 in paths is replaced).
std::string CascadeConfigToJson(const CascadeConfig& config);

}  // namespace dnoscope::cascade
