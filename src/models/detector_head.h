// Detector heads for OpenCV DNN detectors: frame -> input blob (letterbox or
// plain resize), raw network outputs -> boxes in frame pixels (per-class
// confidence threshold, NMS). Pure functions; thread-safe.
//
// Output formats understood:
//  - kDarknet: what OpenCV's Darknet importer returns for YOLOv2 [region]
//    and YOLOv3/v4/Yolo-Fastest [yolo] layers: one Mat per output layer,
//    rows [cx, cy, w, h, objectness, class scores...] normalised to [0,1]
//    of the network input (class scores already multiplied by objectness).
//  - kYoloV5: ONNX [1, N, 5 + C], rows [cx, cy, w, h, objectness, class
//    scores...] in network-input pixels; score = objectness * class score.
//  - kYoloV8: ONNX [1, 4 + C, N], columns [cx, cy, w, h, class scores...] in
//    network-input pixels, no objectness.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "opencv2/core.hpp"

namespace dnoscope::models {

struct BoxDetection;

enum class HeadFormat { kDarknet, kYoloV5, kYoloV8 };

// "darknet", "yolov5", "yolov8" (the names config.json uses).
const char* HeadFormatName(HeadFormat format);

struct DetectorHeadOptions {
  HeadFormat format = HeadFormat::kDarknet;
  // Network input size in pixels. 0 = take it from the model when it is
  // loaded (a Darknet cfg's [net] width/height; an ONNX graph's fixed input
  // H/W, else 640). MakeInputBlob/DecodeDetections treat a 0 that reaches
  // them as the frame's own size.
  int input_width = 0;
  int input_height = 0;
  // Keep aspect ratio and pad (grey 114) instead of stretching.
  bool letterbox = false;
  // Minimum score for a box to be kept.
  float confidence_threshold = 0.25f;
  // IoU above which the weaker of two boxes is suppressed.
  float nms_threshold = 0.45f;
  // Per-class minimum scores by class id, overriding confidence_threshold.
  std::map<int, float> class_thresholds;
  // Suppress across classes instead of per class.
  bool class_agnostic_nms = false;
  // BGR -> RGB before inference (Darknet and most YOLO exports want RGB).
  bool swap_rb = true;
  // Pixel scale (1/255 maps uint8 to [0,1]).
  double scale = 1.0 / 255.0;
};

// How network-input coordinates map back to frame pixels:
// frame_x = (input_x - pad_x) / scale_x, likewise y.
struct InputTransform {
  double scale_x = 1;
  double scale_y = 1;
  double pad_x = 0;
  double pad_y = 0;
};

// NCHW float blob for a BGR uint8 frame, and the transform to undo it.
cv::Mat MakeInputBlob(const cv::Mat& frame, const DetectorHeadOptions& options,
                      InputTransform* transform);

// Decodes raw outputs into boxes in frame pixels (clipped to the frame),
// thresholded and NMS-filtered, sorted by descending score. InvalidArgument
// when the outputs do not have the format's shape.
absl::StatusOr<std::vector<BoxDetection>> DecodeDetections(const std::vector<cv::Mat>& outputs,
                                                           const DetectorHeadOptions& options,
                                                           const InputTransform& transform,
                                                           int num_classes, int frame_width,
                                                           int frame_height);

// Greedy NMS over `boxes` (per class unless class_agnostic); returns the kept
// boxes sorted by descending score.
std::vector<BoxDetection> NonMaxSuppression(const std::vector<BoxDetection>& boxes,
                                            float iou_threshold, bool class_agnostic);

// Intersection over union of two boxes (0 when either is empty).
float IoU(const BoxDetection& a, const BoxDetection& b);

}  // namespace dnoscope::models
