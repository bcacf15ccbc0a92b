#include "models/detector_head.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "absl/status/status.h"
#include "fmt/format.h"
#include "models/model.h"
#include "opencv2/dnn.hpp"
#include "opencv2/imgproc.hpp"

namespace dnoscope::models {
namespace {

// Columns before the class scores: cx, cy, w, h (+ objectness except YOLOv8).
int HeaderColumns(HeadFormat format) { return format == HeadFormat::kYoloV8 ? 4 : 5; }

// The network input size; an unresolved (0) dimension is the frame's own.
cv::Size NetworkInputSize(const DetectorHeadOptions& options, int frame_width, int frame_height) {
  return {options.input_width > 0 ? options.input_width : frame_width,
          options.input_height > 0 ? options.input_height : frame_height};
}

std::string MatShapeString(const cv::Mat& m) {
  std::vector<int64_t> shape(m.size.p, m.size.p + m.dims);
  return ShapeString(shape);
}

// A 2-D [boxes, columns] CV_32F view of one raw output. Darknet and YOLOv5
// give rows per box ([N,K] or [1,N,K]); YOLOv8 gives [1,K,N], transposed here.
absl::StatusOr<cv::Mat> BoxRows(const cv::Mat& out, HeadFormat format) {
  const bool batched = out.dims == 3 && out.size[0] == 1;
  if (out.type() != CV_32F || !(out.dims == 2 || batched) || !out.isContinuous()) {
    return absl::InvalidArgumentError(fmt::format(
        "{} output of shape {} (type {}) is not a continuous FP32 [N,K] or [1,N,K] matrix",
        HeadFormatName(format), MatShapeString(out), out.type()));
  }
  cv::Mat rows =
      batched ? cv::Mat(out.size[1], out.size[2], CV_32F, const_cast<uchar*>(out.ptr())) : out;
  if (format == HeadFormat::kYoloV8) return cv::Mat(rows.t());
  return rows;
}

// Per-class score thresholds: options.class_thresholds over confidence_threshold.
std::vector<float> ClassThresholds(const DetectorHeadOptions& options, int num_classes) {
  std::vector<float> thresholds(num_classes, options.confidence_threshold);
  for (const auto& [class_id, threshold] : options.class_thresholds) {
    if (class_id >= 0 && class_id < num_classes) thresholds[class_id] = threshold;
  }
  return thresholds;
}

struct DecodeContext {
  HeadFormat format;
  int num_classes;
  std::vector<float> thresholds;
  float min_threshold;
  // Multiplies normalised Darknet coordinates into network-input pixels.
  float coord_scale_x;
  float coord_scale_y;
  InputTransform transform;
  int frame_width;
  int frame_height;
};

float ClassScore(const float* row, int c, HeadFormat format) {
  switch (format) {
    case HeadFormat::kDarknet:
      return row[5 + c];
    case HeadFormat::kYoloV5:
      return row[4] * row[5 + c];
    case HeadFormat::kYoloV8:
      return row[4 + c];
  }
  return 0;
}

// Maps a network-input box to clipped frame pixels; false when it is empty.
bool ToFramePixels(const float* row, const DecodeContext& ctx, BoxDetection* box) {
  const double cx = row[0] * ctx.coord_scale_x, cy = row[1] * ctx.coord_scale_y;
  const double w = row[2] * ctx.coord_scale_x, h = row[3] * ctx.coord_scale_y;
  const InputTransform& t = ctx.transform;
  auto fx = [&](double x) {
    return static_cast<float>(std::clamp((x - t.pad_x) / t.scale_x, 0.0, 1.0 * ctx.frame_width));
  };
  auto fy = [&](double y) {
    return static_cast<float>(std::clamp((y - t.pad_y) / t.scale_y, 0.0, 1.0 * ctx.frame_height));
  };
  box->x1 = fx(cx - w / 2);
  box->x2 = fx(cx + w / 2);
  box->y1 = fy(cy - h / 2);
  box->y2 = fy(cy + h / 2);
  return box->x2 > box->x1 && box->y2 > box->y1;
}

// Emits one candidate per class whose score passes its threshold, as
// Darknet does, so that a per-class threshold can keep a second-best class.
void CollectCandidates(const cv::Mat& rows, const DecodeContext& ctx,
                       std::vector<BoxDetection>* candidates) {
  const bool has_objectness = ctx.format != HeadFormat::kYoloV8;
  for (int r = 0; r < rows.rows; ++r) {
    const float* row = rows.ptr<float>(r);
    // Class scores never exceed objectness, so most rows stop here.
    if (has_objectness && row[4] < ctx.min_threshold) continue;
    BoxDetection box;
    bool box_ready = false;
    for (int c = 0; c < ctx.num_classes; ++c) {
      const float score = ClassScore(row, c, ctx.format);
      if (score < ctx.thresholds[c]) continue;
      if (!box_ready) {
        if (!ToFramePixels(row, ctx, &box)) break;  // empty inside the frame
        box_ready = true;
      }
      box.class_id = c;
      box.score = score;
      candidates->push_back(box);
    }
  }
}

DecodeContext MakeContext(const DetectorHeadOptions& options, const InputTransform& transform,
                          int num_classes, int frame_width, int frame_height) {
  DecodeContext ctx{
      options.format, num_classes, ClassThresholds(options, num_classes), 0, 1, 1, transform,
      frame_width,    frame_height};
  ctx.min_threshold = *std::min_element(ctx.thresholds.begin(), ctx.thresholds.end());
  if (options.format == HeadFormat::kDarknet) {
    const cv::Size input = NetworkInputSize(options, frame_width, frame_height);
    ctx.coord_scale_x = static_cast<float>(input.width);
    ctx.coord_scale_y = static_cast<float>(input.height);
  }
  return ctx;
}

}  // namespace

cv::Mat MakeInputBlob(const cv::Mat& frame, const DetectorHeadOptions& options,
                      InputTransform* transform) {
  const cv::Size input_size = NetworkInputSize(options, frame.cols, frame.rows);
  const int width = input_size.width;
  const int height = input_size.height;
  InputTransform t;
  cv::Mat input = frame;
  if (options.letterbox) {
    const double s = std::min(1.0 * width / frame.cols, 1.0 * height / frame.rows);
    const int new_w = std::max(1, static_cast<int>(std::lround(frame.cols * s)));
    const int new_h = std::max(1, static_cast<int>(std::lround(frame.rows * s)));
    const int left = (width - new_w) / 2, top = (height - new_h) / 2;
    cv::Mat resized;
    cv::resize(frame, resized, cv::Size(new_w, new_h), 0, 0, cv::INTER_LINEAR);
    cv::copyMakeBorder(resized, input, top, height - new_h - top, left, width - new_w - left,
                       cv::BORDER_CONSTANT, cv::Scalar(114, 114, 114));
    t = {1.0 * new_w / frame.cols, 1.0 * new_h / frame.rows, 1.0 * left, 1.0 * top};
  } else {
    t = {1.0 * width / frame.cols, 1.0 * height / frame.rows, 0, 0};
  }
  if (transform != nullptr) *transform = t;
  return cv::dnn::blobFromImage(input, options.scale, cv::Size(width, height), cv::Scalar(),
                                options.swap_rb, /*crop=*/false);
}

absl::StatusOr<std::vector<BoxDetection>> DecodeDetections(const std::vector<cv::Mat>& outputs,
                                                           const DetectorHeadOptions& options,
                                                           const InputTransform& transform,
                                                           int num_classes, int frame_width,
                                                           int frame_height) {
  if (outputs.empty()) return absl::InvalidArgumentError("detector produced no outputs");
  // YOLOv5/v8 exports put the decoded boxes in their first output.
  const size_t used = options.format == HeadFormat::kDarknet ? outputs.size() : 1;
  std::vector<cv::Mat> rows(used);
  for (size_t i = 0; i < used; ++i) {
    absl::StatusOr<cv::Mat> r = BoxRows(outputs[i], options.format);
    if (!r.ok()) return r.status();
    rows[i] = *r;
    const int classes = r->cols - HeaderColumns(options.format);
    const int expected =
        num_classes > 0 ? num_classes : rows[0].cols - HeaderColumns(options.format);
    if (classes <= 0 || classes != expected) {
      return absl::InvalidArgumentError(fmt::format(
          "{} output {} has shape {}: expected {} + {} class columns",
          HeadFormatName(options.format), i, MatShapeString(outputs[i]),
          HeaderColumns(options.format), num_classes > 0 ? std::to_string(num_classes) : "C"));
    }
  }
  const DecodeContext ctx = MakeContext(
      options, transform, rows[0].cols - HeaderColumns(options.format), frame_width, frame_height);
  std::vector<BoxDetection> candidates;
  for (const cv::Mat& r : rows) CollectCandidates(r, ctx, &candidates);
  return NonMaxSuppression(candidates, options.nms_threshold, options.class_agnostic_nms);
}

std::vector<BoxDetection> NonMaxSuppression(const std::vector<BoxDetection>& boxes,
                                            float iou_threshold, bool class_agnostic) {
  std::vector<size_t> order(boxes.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return boxes[a].score > boxes[b].score; });
  std::vector<BoxDetection> kept;
  for (size_t i : order) {
    const BoxDetection& box = boxes[i];
    const bool suppressed = std::any_of(kept.begin(), kept.end(), [&](const BoxDetection& k) {
      return (class_agnostic || k.class_id == box.class_id) && IoU(k, box) > iou_threshold;
    });
    if (!suppressed) kept.push_back(box);
  }
  return kept;
}

float IoU(const BoxDetection& a, const BoxDetection& b) {
  const float area_a = std::max(0.0f, a.x2 - a.x1) * std::max(0.0f, a.y2 - a.y1);
  const float area_b = std::max(0.0f, b.x2 - b.x1) * std::max(0.0f, b.y2 - b.y1);
  if (area_a <= 0 || area_b <= 0) return 0;
  const float iw = std::max(0.0f, std::min(a.x2, b.x2) - std::max(a.x1, b.x1));
  const float ih = std::max(0.0f, std::min(a.y2, b.y2) - std::max(a.y1, b.y1));
  const float inter = iw * ih;
  return inter / (area_a + area_b - inter);
}

const char* HeadFormatName(HeadFormat format) {
  switch (format) {
    case HeadFormat::kDarknet:
      return "darknet";
    case HeadFormat::kYoloV5:
      return "yolov5";
    case HeadFormat::kYoloV8:
      return "yolov8";
  }
  return "unknown";
}

}  // namespace dnoscope::models
