// Training data for a specialized classifier: the frames of a video range,
// cropped to the region of interest and shrunk to the classifier's input
// (50x50x3 BGR by default, NoScope's size), each with a binary label
// derived from a reference label CSV, split into training and validation
// sets.
//
// Labels: a frame is positive when the label filter (object, minimum
// confidence, box centre inside the ROI) matches one of its rows. Optional
// NoScope smoothing then marks frame f positive when at least `min_positive`
// of the `window` frames centred on f (f - window/2 .. f + window/2, labels
// of frames outside the range included) are positive.
//
// Coverage rule: a label CSV lists only frames with detections, so a file
// whose rows all lie before the first frame of the range cannot describe the
// range (it was made for an earlier part of the video, or is truncated); it
// is refused. Frames of the range that have no rows are negative. Rows of
// every object count for coverage, not only the queried one.
//
// Memory: frames are kept as uint8 (7.5 KB per 50x50 frame).
// Thread-safety: pure functions; a Dataset is a value type.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/roi.h"
#include "labels/label_csv.h"
#include "opencv2/core.hpp"
#include "video/frame_source.h"

namespace dnoscope::train {

struct DatasetOptions {
  // Which label rows make a frame positive; `filter.roi` also crops the frames.
  labels::LabelFilter filter;
  // Classifier input size in pixels.
  int width = 50;
  int height = 50;
  // NoScope smoothing: window length in frames (odd, >= 1; 1 = off) and the
  // positives within it (1..window) that make the centre frame positive.
  int smooth_window = 1;
  int smooth_min_positive = 1;
  // Share of the frames held out for validation, in (0, 1). The split is
  // stratified: each class contributes this share (at least one frame).
  double validation_fraction = 0.2;
  // Seed of the shuffled split.
  uint64_t seed = 1;
  // Names the label file in error messages.
  std::string labels_name = "labels";
};

struct ClassBalance {
  int64_t positives = 0;
  int64_t negatives = 0;

  int64_t total() const { return positives + negatives; }
  // positives / total; 0 when empty.
  double positive_share() const;
  // "120 positive (21.4%), 440 negative".
  std::string ToString() const;
};

struct Dataset {
  int width = 0;
  int height = 0;
  // Frames [range.start, range.end) of the video the samples came from
  // (first and last decoded frame + 1).
  FrameRange range;
  // Sample i: pixels[i*width*height*3 ...] BGR HWC uint8, label 0/1, frame index.
  std::vector<uint8_t> pixels;
  std::vector<uint8_t> labels;
  std::vector<int64_t> frame_indices;
  // Positive frames before smoothing (for the report).
  int64_t raw_positives = 0;
  // Indices of samples in each split, shuffled, disjoint, covering all samples.
  std::vector<int64_t> train;
  std::vector<int64_t> validation;

  int64_t size() const { return static_cast<int64_t>(labels.size()); }
  size_t image_bytes() const { return static_cast<size_t>(width) * height * 3; }
  const uint8_t* image(int64_t i) const { return pixels.data() + i * image_bytes(); }
  // A CV_8UC3 header over sample i's pixels (no copy; valid while the
  // Dataset is alive and unchanged).
  cv::Mat ImageMat(int64_t i) const;
  // Class balance of all samples, or of the samples at `indices`.
  ClassBalance Balance() const;
  ClassBalance Balance(std::span<const int64_t> indices) const;
};

// Called after each decoded frame with the number of frames read so far.
using DatasetProgress = std::function<void(int64_t frames_read)>;

// Decodes every sampled frame `source` yields (its range and skip decide
// which), labels it from `detections` and splits the samples.
// Errors (InvalidArgument): bad options; an ROI outside the frame; a range
// with no decodable frames; labels that do not cover the range (see above);
// a range or training split holding only one class. Errors of `source`
// pass through.
absl::StatusOr<Dataset> BuildDataset(video::FrameSource& source,
                                     std::span<const labels::Detection> detections,
                                     const DatasetOptions& options,
                                     const DatasetProgress& on_frame = {});

// Per-frame labels for frames [0, num_frames) with NoScope smoothing (see the
// file comment): 0/1 each. `window` odd >= 1, 1 <= min_positive <= window.
std::vector<uint8_t> SmoothLabels(const labels::LabelIndex& index, int64_t num_frames, int window,
                                  int min_positive);

// Stratified shuffled split of `labels` (0/1) into training and validation
// index lists; deterministic for a seed on every platform (own Fisher-Yates
// over std::mt19937_64). Each class gives round(fraction * count) samples,
// clamped to [1, count - 1] when it has at least two.
void SplitTrainValidation(std::span<const uint8_t> labels, double validation_fraction,
                          uint64_t seed, std::vector<int64_t>* train,
                          std::vector<int64_t>* validation);

}  // namespace dnoscope::train
