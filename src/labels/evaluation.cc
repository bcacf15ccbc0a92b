#include "labels/evaluation.h"

#include <algorithm>
#include <vector>

#include "absl/status/status.h"
#include "common/status_macros.h"
#include "fmt/format.h"
#include "nlohmann/json.hpp"

namespace dnoscope::labels {
namespace {

double Ratio(int64_t num, int64_t den) {
  return den == 0 ? 0.0 : static_cast<double>(num) / static_cast<double>(den);
}

absl::Status CheckOptions(const EvalOptions& options) {
  if (options.window < 1) {
    return absl::InvalidArgumentError(fmt::format("window must be >= 1, got {}", options.window));
  }
  if (options.window_min_positive < 1 || options.window_min_positive > options.window) {
    return absl::InvalidArgumentError(
        fmt::format("window_min_positive must be in [1, window={}], got {}", options.window,
                    options.window_min_positive));
  }
  if (options.range.start < 0) {
    return absl::InvalidArgumentError(fmt::format("negative range start {}", options.range.start));
  }
  return absl::OkStatus();
}

// Resolves the range end: explicit (clipped to the last predicted frame + 1
// when nothing is predicted past it), or the last predicted frame + 1.
absl::StatusOr<int64_t> RangeEnd(std::span<const FrameResult> predictions,
                                 const FrameRange& range, bool* clipped) {
  int64_t last = range.start - 1;
  for (const FrameResult& r : predictions) {
    if (r.frame >= range.start && (!range.end || r.frame < *range.end)) {
      last = std::max(last, r.frame);
    }
  }
  int64_t end = last + 1;
  *clipped = range.end && *range.end > end && end > range.start;
  if (range.end && !*clipped) end = *range.end;
  if (end <= range.start) {
    return absl::InvalidArgumentError(fmt::format("empty evaluation range {}:{} ({} predictions)",
                                                  range.start, end, predictions.size()));
  }
  return end;
}

// Predicted labels of frames [start, end), one per frame; 0/1.
absl::StatusOr<std::vector<uint8_t>> DensePredictions(std::span<const FrameResult> predictions,
                                                      int64_t start, int64_t end) {
  constexpr uint8_t kMissing = 2;
  std::vector<uint8_t> dense(static_cast<size_t>(end - start), kMissing);
  for (const FrameResult& r : predictions) {
    if (r.frame < start || r.frame >= end) continue;
    uint8_t& slot = dense[r.frame - start];
    if (slot != kMissing) {
      return absl::InvalidArgumentError(fmt::format("frame {} is predicted twice", r.frame));
    }
    slot = r.label ? 1 : 0;
  }
  const auto missing = std::find(dense.begin(), dense.end(), kMissing);
  if (missing != dense.end()) {
    const int64_t count = std::count(missing, dense.end(), kMissing);
    return absl::InvalidArgumentError(
        fmt::format("no prediction for frame {} ({} of the {} frames in range {}:{} missing)",
                    start + (missing - dense.begin()), count, dense.size(), start, end));
  }
  return dense;
}

}  // namespace

Confusion CountFrames(std::span<const uint8_t> truth, std::span<const uint8_t> predicted) {
  Confusion c;
  for (size_t i = 0; i < truth.size(); ++i) c.Add(truth[i] != 0, predicted[i] != 0);
  return c;
}

Confusion CountWindows(std::span<const uint8_t> truth, std::span<const uint8_t> predicted,
                       int window, int window_min_positive) {
  Confusion windows;
  const int64_t n = static_cast<int64_t>(truth.size());
  for (int64_t w = 0; w < n; w += window) {
    const int64_t len = std::min<int64_t>(window, n - w);
    const int64_t need = (int64_t{window_min_positive} * len + window - 1) / window;
    int64_t truth_positive = 0;
    int64_t predicted_positive = 0;
    for (int64_t i = w; i < w + len; ++i) {
      truth_positive += truth[i] != 0 ? 1 : 0;
      predicted_positive += predicted[i] != 0 ? 1 : 0;
    }
    windows.Add(truth_positive >= need, predicted_positive >= need);
  }
  return windows;
}

absl::StatusOr<EvalResult> Evaluate(const LabelIndex& truth,
                                    std::span<const FrameResult> predictions,
                                    const EvalOptions& options) {
  DNS_RETURN_IF_ERROR(CheckOptions(options));
  const int64_t start = options.range.start;
  bool clipped = false;
  DNS_ASSIGN_OR_RETURN(const int64_t end, RangeEnd(predictions, options.range, &clipped));
  DNS_ASSIGN_OR_RETURN(std::vector<uint8_t> predicted, DensePredictions(predictions, start, end));
  std::vector<uint8_t> actual(predicted.size());
  for (int64_t f = start; f < end; ++f) actual[f - start] = truth.Positive(f) ? 1 : 0;
  const Confusion frames = CountFrames(actual, predicted);
  const Confusion windows =
      CountWindows(actual, predicted, options.window, options.window_min_positive);

  EvalResult r;
  r.start = start;
  r.end = end;
  r.end_clipped = clipped;
  r.frames = frames.total();
  r.true_positives = frames.tp;
  r.false_positives = frames.fp;
  r.true_negatives = frames.tn;
  r.false_negatives = frames.fn;
  r.fp_rate = Ratio(frames.fp, frames.fp + frames.tn);
  r.fn_rate = Ratio(frames.fn, frames.fn + frames.tp);
  r.accuracy = Ratio(frames.tp + frames.tn, frames.total());
  r.windows = windows.total();
  r.window_fp_rate = Ratio(windows.fp, windows.fp + windows.tn);
  r.window_fn_rate = Ratio(windows.fn, windows.fn + windows.tp);
  r.window_accuracy = Ratio(windows.tp + windows.tn, windows.total());
  return r;
}

std::string EvalResultToJson(const EvalResult& r) {
  nlohmann::ordered_json j;
  j["frames"] = r.frames;
  j["true_positives"] = r.true_positives;
  j["false_positives"] = r.false_positives;
  j["true_negatives"] = r.true_negatives;
  j["false_negatives"] = r.false_negatives;
  j["fp_rate"] = r.fp_rate;
  j["fn_rate"] = r.fn_rate;
  j["accuracy"] = r.accuracy;
  j["windows"] = r.windows;
  j["window_fp_rate"] = r.window_fp_rate;
  j["window_fn_rate"] = r.window_fn_rate;
  j["window_accuracy"] = r.window_accuracy;
  return j.dump(2);
}

}  // namespace dnoscope::labels
