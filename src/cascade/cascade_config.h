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
//   }
// }
// Relative file paths are resolved against the config file's directory.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "common/roi.h"
#include "detect/difference_detector.h"
#include "models/model_repository.h"
#include "opencv2/core.hpp"

namespace dnoscope::cascade {

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

  bool specialized_enabled() const { return !specialized.model.empty(); }
};

// Parses config JSON. `base_dir` resolves relative paths ("" = as given).
// InvalidArgument naming the key and the expected type for bad values.
absl::StatusOr<CascadeConfig> ParseCascadeConfig(std::string_view json_text,
                                                 std::string_view source_name,
                                                 const std::string& base_dir);

// Reads and parses a config file (paths relative to its directory).
absl::StatusOr<CascadeConfig> ReadCascadeConfig(const std::string& path);

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
