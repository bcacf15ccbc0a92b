// Accuracy of a cascade run against reference labels, per frame and per
// NoScope window. Thread-safe (pure functions).
//
// Per frame: fp_rate = FP / (FP + TN) (share of truly negative frames
// labelled positive), fn_rate = FN / (FN + TP), accuracy = (TP + TN) / frames.
// Per window: the range is cut into consecutive windows of `window` frames
// (the last, shorter one included); a window is positive when at least
// `window_min_positive` of its frames are (scaled down for the short window);
// the same rates are computed over windows.
#pragma once

#include <cstdint>
#include <span>
#include <string>

#include "absl/status/statusor.h"
#include "common/roi.h"
#include "labels/label_csv.h"
#include "labels/prediction_csv.h"

namespace dnoscope::labels {

struct EvalOptions {
  // Frames to compare; end defaults to the last predicted frame + 1.
  // Predictions outside the range are ignored; truth frames past
  // truth.num_frames() count as negative. An end past the last predicted
  // frame is clipped to it when every frame before is predicted (a run over
  // the same range stops where the video ends); EvalResult says so.
  FrameRange range;
  // NoScope's window size and positives needed.
  int window = 30;
  int window_min_positive = 28;
};

struct EvalResult {
  // The range compared, [start, end).
  int64_t start = 0;
  int64_t end = 0;
  // True when the requested end was past the last predicted frame and was
  // clipped to it.
  bool end_clipped = false;
  int64_t frames = 0;
  int64_t true_positives = 0;
  int64_t false_positives = 0;
  int64_t true_negatives = 0;
  int64_t false_negatives = 0;
  double fp_rate = 0;
  double fn_rate = 0;
  double accuracy = 0;
  int64_t windows = 0;
  double window_fp_rate = 0;
  double window_fn_rate = 0;
  double window_accuracy = 0;
};

// Counts of a binary classification.
struct Confusion {
  int64_t tp = 0;
  int64_t fp = 0;
  int64_t tn = 0;
  int64_t fn = 0;

  void Add(bool truth, bool predicted) {
    if (truth) {
      ++(predicted ? tp : fn);
    } else {
      ++(predicted ? fp : tn);
    }
  }
  int64_t total() const { return tp + fp + tn + fn; }
  int64_t positives() const { return tp + fn; }
  int64_t negatives() const { return fp + tn; }
};

// Per frame: truth[i] against predicted[i] (0/1, same length).
Confusion CountFrames(std::span<const uint8_t> truth, std::span<const uint8_t> predicted);

// NoScope's windows, the one implementation: consecutive windows of
// `window` frames from the first (the last may be shorter), positive when at
// least ceil(window_min_positive * length / window) of their frames are
// (exactly window_min_positive for full windows). `truth` and `predicted`
// are 0/1 per frame, same length.
Confusion CountWindows(std::span<const uint8_t> truth, std::span<const uint8_t> predicted,
                       int window, int window_min_positive);

// Compares predictions with truth over options.range. Errors (InvalidArgument):
// a frame of the range missing from the predictions (the message names the
// first one), a frame predicted twice, an empty range, bad window settings
// (window < 1, window_min_positive outside [1, window]).
absl::StatusOr<EvalResult> Evaluate(const LabelIndex& truth,
                                    std::span<const FrameResult> predictions,
                                    const EvalOptions& options);

// JSON object with the EvalResult fields (snake_case keys, declaration order,
// two-space indentation, no trailing newline).
std::string EvalResultToJson(const EvalResult& result);

}  // namespace dnoscope::labels
