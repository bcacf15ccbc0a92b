// A model's config.json in a model repository:
//
//   <repo>/<model>/config.json
//   <repo>/<model>/<version>/<files>      (version: a positive integer folder)
//
// config.json fields (all but "backend" optional):
//   "name":            string, defaults to the folder name
//   "backend":         "opencv_dnn" | "hog" | "replay" | "identity"
//   "kind":            "detector" | "classifier"   (opencv_dnn, replay; default detector)
//   "files":           {"model": "x.onnx" | "x.cfg", "weights": "x.weights",
//                       "names": "coco.names", "labels": "labels.csv"}
//                      paths relative to the version folder
//   "max_batch_size":  int (default 0 for detectors, 64 for classifiers)
//   "instance_count":  int (default 1)
//   "dynamic_batching": {"max_queue_delay_us": int, "preferred_batch_sizes": [int]}
//   "version_policy":  exactly one of {"latest": {"num_versions": int >= 1}},
//                      {"all": {}}, {"specific": {"versions": [int >= 1, ...]}}
//                      which version folders are served (as Triton and TF
//                      Serving; default latest 1)
//   "detector":        {"format": "darknet"|"yolov5"|"yolov8", "input_width": int,
//                       "input_height": int, "letterbox": bool,   (opencv_dnn)
//                       "confidence_threshold": float, "nms_threshold": float,
//                       "class_thresholds": {"person": float, ...},
//                       "class_agnostic_nms": bool, "swap_rb": bool, "scale": float}
//   "classifier":      {"input_width": int, "input_height": int}   (opencv_dnn)
//   "hog":             {"hit_threshold": float, "win_stride": int, "padding": int,
//                       "scale": float, "max_width": int}          (hog)
//   "replay":          {"service_time_ms": float, "object_name": string,
//                       "frame_width": int, "frame_height": int}   (replay:
//                       service time slept once per request or batch; object_name
//                       keeps only that object's CSV rows; with the frame size of
//                       the labelled video, boxes are scaled to the image a
//                       request sends, like a real detector's, else returned in
//                       the CSV's frame pixels. "kind": "classifier" makes
//                       a zero-cost specialized model: "image" UINT8 [N,H,W,3] and
//                       "frame_index" INT64 [N] in, "confidence" FP32 [N,1] out = the
//                       frame's highest CSV confidence, 0 without rows; see
//                       models/backends/replay.h)
//   "identity":        {"datatype": "FP32"|"UINT8"|"INT32"|"INT64"|"BYTES"}   (identity:
//                       returns input "INPUT0" as output "OUTPUT0"; measures serving overhead)
// Unknown keys, and a backend section ("detector", "classifier", "hog",
// "replay") given for another backend, are rejected so that typos do not
// pass silently. "files.model" is required for opencv_dnn and
// "files.labels" for replay. Input sizes left out (0) are taken from the
// model: see DetectorHeadOptions and ModelConfig::classifier_width.
// class_thresholds are keyed by class name (see ModelConfig).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "models/detector_head.h"

namespace dnoscope::models {

struct HogOptions {
  // SVM hit threshold passed to detectMultiScale.
  double hit_threshold = 0;
  // Window stride in pixels.
  int win_stride = 8;
  // Padding added around the image, in pixels (helps people at the border).
  int padding = 8;
  // Scale step between pyramid levels.
  double scale = 1.05;
  // Frames wider than this are downscaled before detection (0: never);
  // boxes are mapped back to the input's pixels.
  int max_width = 0;
};

struct ReplayOptions {
  // Emulated service time per Infer call (a request, or a whole batch for
  // the classifier).
  double service_time_ms = 0;
  // When set, only rows with this object name are replayed.
  std::string object_name;
  // The labelled video's frame size (both or neither); when set, boxes are
  // scaled to the size of the image a request sends.
  int frame_width = 0;
  int frame_height = 0;
};

struct IdentityOptions {
  // KServe datatype name of INPUT0 / OUTPUT0.
  std::string datatype = "FP32";
};

// Which of a model's version folders are served.
struct VersionPolicy {
  enum class Kind { kLatest, kAll, kSpecific };
  Kind kind = Kind::kLatest;
  // kLatest: the highest this many versions (>= 1).
  int num_versions = 1;
  // kSpecific: these versions (ascending, no duplicates).
  std::vector<int64_t> versions;
};

// The versions of `available` (ascending) that `policy` serves, ascending.
// A kSpecific version that is not available is left out.
std::vector<int64_t> SelectVersions(const VersionPolicy& policy,
                                    const std::vector<int64_t>& available);

struct ModelConfig {
  std::string name;
  std::string backend;
  std::string kind = "detector";
  std::string model_file;
  std::string weights_file;
  std::string names_file;
  std::string labels_file;
  int max_batch_size = 0;
  int instance_count = 1;
  int64_t max_queue_delay_us = 0;
  std::vector<int> preferred_batch_sizes;
  VersionPolicy version_policy;
  // detector.class_thresholds keyed by class name, as config.json has
  // them; backends resolve them to class ids once the names are known
  // (InvalidArgument for a name the model does not have).
  std::map<std::string, float> class_thresholds;
  DetectorHeadOptions detector;
  // Classifier input size; 0 = from the ONNX graph's input shape [N,H,W,3]
  // (50x50, NoScope's size, when the graph leaves it symbolic).
  int classifier_width = 0;
  int classifier_height = 0;
  HogOptions hog;
  ReplayOptions replay;
  IdentityOptions identity;
};

// Parses config.json text. `source_name` prefixes errors; InvalidArgument
// names the offending key and the expected type.
absl::StatusOr<ModelConfig> ParseModelConfig(std::string_view json_text,
                                             std::string_view source_name,
                                             std::string_view default_name);

// Serializes a config (used by tools that write repositories).
std::string ModelConfigToJson(const ModelConfig& config);

}  // namespace dnoscope::models
