// Difference detector: scores, reference bookkeeping and option parsing. The
// SumSquaredDiff kernels live in ssd_kernels.cc.
#include "detect/difference_detector.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/string_view.h"
#include "common/status_macros.h"
#include "fmt/format.h"
#include "opencv2/imgproc.hpp"
#include "spdlog/spdlog.h"

namespace dnoscope::detect {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

bool IsBgrFrame(const cv::Mat& m, int width, int height) {
  return m.type() == CV_8UC3 && m.cols == width && m.rows == height && m.dims == 2;
}

// Start of part `i` of `parts` near-equal parts of [0, length).
int Edge(int i, int parts, int length) { return static_cast<int>(int64_t{i} * length / parts); }

uint64_t FrameSsd(const cv::Mat& a, const cv::Mat& b) {
  const size_t row_bytes = static_cast<size_t>(a.cols) * 3;
  if (a.isContinuous() && b.isContinuous()) {
    return SumSquaredDiff(a.data, b.data, row_bytes * a.rows);
  }
  uint64_t sum = 0;
  for (int y = 0; y < a.rows; ++y) sum += SumSquaredDiff(a.ptr(y), b.ptr(y), row_bytes);
  return sum;
}

// Calls visit(block_index, mse) for each block, row-major.
template <typename Visit>
void ForEachBlockMse(const cv::Mat& a, const cv::Mat& b, int rows, int cols, Visit visit) {
  for (int r = 0; r < rows; ++r) {
    const int y0 = Edge(r, rows, a.rows);
    const int y1 = Edge(r + 1, rows, a.rows);
    for (int c = 0; c < cols; ++c) {
      const int x0 = Edge(c, cols, a.cols);
      const int x1 = Edge(c + 1, cols, a.cols);
      const size_t offset = static_cast<size_t>(x0) * 3;
      const size_t bytes = static_cast<size_t>(x1 - x0) * 3;
      uint64_t sum = 0;
      for (int y = y0; y < y1; ++y) {
        sum += SumSquaredDiff(a.ptr(y) + offset, b.ptr(y) + offset, bytes);
      }
      visit(r * cols + c, static_cast<double>(sum) / static_cast<double>(bytes * (y1 - y0)));
    }
  }
}

absl::Status CheckBlockedOptions(const DiffOptions& o) {
  if (o.grid_rows < 1 || o.grid_cols < 1 || o.grid_rows > o.height || o.grid_cols > o.width) {
    return absl::InvalidArgumentError(fmt::format(
        "blocked MSE grid {}x{} (rows x cols) does not fit a {}x{} frame (width x height)",
        o.grid_rows, o.grid_cols, o.width, o.height));
  }
  const size_t blocks = static_cast<size_t>(o.grid_rows) * o.grid_cols;
  if (!o.block_weights.empty() && o.block_weights.size() != blocks) {
    return absl::InvalidArgumentError(
        fmt::format("got {} block weights for {} blocks", o.block_weights.size(), blocks));
  }
  for (double w : o.block_weights) {
    if (!std::isfinite(w) || w < 0) {
      return absl::InvalidArgumentError(fmt::format("bad block weight {}", w));
    }
  }
  return absl::OkStatus();
}

absl::Status CheckOptions(const DiffOptions& o) {
  if (o.width < 1 || o.height < 1) {
    return absl::InvalidArgumentError(
        fmt::format("frame size {}x{} must be positive", o.width, o.height));
  }
  if (!(o.threshold >= 0)) {
    return absl::InvalidArgumentError(fmt::format("bad threshold {}", o.threshold));
  }
  if (o.reference == ReferenceMode::kDelta && (o.delta < 1 || o.delta > kMaxDelta)) {
    return absl::InvalidArgumentError(
        fmt::format("delta must be in [1, {}], got {}", kMaxDelta, o.delta));
  }
  if (o.metric == DiffMetric::kBlockedMse) return CheckBlockedOptions(o);
  return absl::OkStatus();
}

absl::StatusOr<cv::Mat> PrepareBackground(const cv::Mat& background, int width, int height) {
  if (background.empty() || background.type() != CV_8UC3) {
    return absl::InvalidArgumentError(
        "background reference mode needs a BGR uint8 (CV_8UC3) background image");
  }
  try {
    cv::Mat resized;
    cv::resize(background, resized, cv::Size(width, height), 0, 0, cv::INTER_AREA);
    return resized.isContinuous() ? resized : resized.clone();
  } catch (const cv::Exception& e) {
    return absl::InvalidArgumentError(fmt::format("cannot resize the background: {}", e.what()));
  }
}

}  // namespace

absl::StatusOr<std::unique_ptr<DifferenceDetector>> DifferenceDetector::Create(
    const DiffOptions& options, const cv::Mat& background) {
  DNS_RETURN_IF_ERROR(CheckOptions(options));
  std::unique_ptr<DifferenceDetector> detector(new DifferenceDetector(options));
  if (options.reference == ReferenceMode::kBackground) {
    DNS_ASSIGN_OR_RETURN(detector->background_,
                         PrepareBackground(background, options.width, options.height));
  }
  const size_t blocks = static_cast<size_t>(options.grid_rows) * options.grid_cols;
  detector->weights_ = options.block_weights;
  if (detector->weights_.empty() && options.metric == DiffMetric::kBlockedMse) {
    detector->weights_.assign(blocks, 1.0 / static_cast<double>(blocks));
  }
  const int slots = options.reference == ReferenceMode::kAnchor  ? 1
                    : options.reference == ReferenceMode::kDelta ? options.delta
                                                                 : 0;
  detector->ring_.resize(static_cast<size_t>(slots));
  return detector;
}

absl::Status DifferenceDetector::SetThreshold(double threshold) {
  if (!(threshold >= 0)) return absl::InvalidArgumentError(fmt::format("bad threshold {}", threshold));
  options_.threshold = threshold;
  return absl::OkStatus();
}

DiffDecision DifferenceDetector::Process(int64_t frame_index, const cv::Mat& frame) {
  if (!IsBgrFrame(frame, options_.width, options_.height)) return RejectFrame(frame_index, frame);
  switch (options_.reference) {
    case ReferenceMode::kAnchor:
      return ProcessAnchor(frame_index, frame);
    case ReferenceMode::kDelta:
      return ProcessDelta(frame_index, frame);
    case ReferenceMode::kBackground:
      return ProcessBackground(frame);
  }
  return DiffDecision{kNaN, true, -1};
}

DiffDecision DifferenceDetector::ProcessAnchor(int64_t frame_index, const cv::Mat& frame) {
  Stored& anchor = ring_[0];
  const DiffDecision decision = Compare(anchor, frame);
  // Only a frame that goes to the models becomes the anchor (and is copied).
  if (decision.changed) StoreFrame(frame_index, frame, &anchor);
  return decision;
}

DiffDecision DifferenceDetector::ProcessDelta(int64_t frame_index, const cv::Mat& frame) {
  Stored& slot = ring_[next_slot_];  // holds the frame of `delta` calls ago
  const DiffDecision decision = Compare(slot, frame);
  StoreFrame(frame_index, frame, &slot);
  AdvanceSlot();
  return decision;
}

DiffDecision DifferenceDetector::ProcessBackground(const cv::Mat& frame) const {
  const double score = ScoreUnchecked(background_, frame);
  return DiffDecision{score, !(score <= options_.threshold), -1};
}

DiffDecision DifferenceDetector::RejectFrame(int64_t frame_index, const cv::Mat& frame) {
  if (!warned_bad_frame_) {
    warned_bad_frame_ = true;
    spdlog::warn(
        "difference detector: frame {} is {}x{} of type {}, expected {}x{} CV_8UC3; treating it "
        "as changed (logged once)",
        frame_index, frame.cols, frame.rows, frame.type(), options_.width, options_.height);
  }
  // Anchor and delta modes both fill ring_[next_slot_] (the anchor ring has one slot).
  if (!ring_.empty()) {
    ring_[next_slot_].index = -1;
    AdvanceSlot();
  }
  return DiffDecision{kNaN, true, -1};
}

DiffDecision DifferenceDetector::Compare(const Stored& reference, const cv::Mat& frame) const {
  if (reference.index < 0) return DiffDecision{kNaN, true, -1};
  const double score = ScoreUnchecked(reference.frame, frame);
  const bool changed = !(score <= options_.threshold);  // NaN counts as changed
  return DiffDecision{score, changed, changed ? -1 : reference.index};
}

void DifferenceDetector::StoreFrame(int64_t frame_index, const cv::Mat& frame, Stored* slot) const {
  frame.copyTo(slot->frame);  // reuses the slot's buffer once allocated (same size and type)
  slot->index = frame_index;
}

double DifferenceDetector::Score(const cv::Mat& a, const cv::Mat& b) const {
  if (!IsBgrFrame(a, b.cols, b.rows) || b.type() != CV_8UC3 || a.empty()) return kNaN;
  if (options_.metric == DiffMetric::kBlockedMse &&
      (a.rows < options_.grid_rows || a.cols < options_.grid_cols)) {
    return kNaN;
  }
  return ScoreUnchecked(a, b);
}

double DifferenceDetector::ScoreUnchecked(const cv::Mat& a, const cv::Mat& b) const {
  if (options_.metric == DiffMetric::kGlobalMse) {
    return static_cast<double>(FrameSsd(a, b)) / (static_cast<double>(a.total()) * 3);
  }
  double score = 0;
  if (options_.reduce == BlockReduce::kMax) {
    ForEachBlockMse(a, b, options_.grid_rows, options_.grid_cols,
                    [&](int, double mse) { score = std::max(score, mse); });
  } else {
    ForEachBlockMse(a, b, options_.grid_rows, options_.grid_cols,
                    [&](int i, double mse) { score += weights_[i] * mse; });
  }
  return score;
}

void BlockMse(const cv::Mat& a, const cv::Mat& b, int rows, int cols, std::vector<double>* out) {
  out->assign(static_cast<size_t>(rows) * cols, 0.0);
  ForEachBlockMse(a, b, rows, cols, [out](int i, double mse) { (*out)[i] = mse; });
}

absl::StatusOr<DiffMetric> ParseDiffMetric(std::string_view text) {
  if (text == "global") return DiffMetric::kGlobalMse;
  if (text == "blocked") return DiffMetric::kBlockedMse;
  return absl::InvalidArgumentError(
      fmt::format("unknown difference metric '{}' (expected global or blocked)", text));
}

absl::StatusOr<BlockReduce> ParseBlockReduce(std::string_view text) {
  if (text == "max") return BlockReduce::kMax;
  if (text == "sum") return BlockReduce::kWeightedSum;
  return absl::InvalidArgumentError(
      fmt::format("unknown block reduction '{}' (expected max or sum)", text));
}

absl::Status ParseReferenceMode(std::string_view text, DiffOptions* options) {
  if (text == "anchor" || text == "background") {
    options->reference = text == "anchor" ? ReferenceMode::kAnchor : ReferenceMode::kBackground;
    return absl::OkStatus();
  }
  constexpr std::string_view kDeltaPrefix = "delta:";
  int delta = 0;
  if (text.substr(0, kDeltaPrefix.size()) == kDeltaPrefix) {
    const std::string_view n = text.substr(kDeltaPrefix.size());
    if (absl::SimpleAtoi(absl::string_view(n.data(), n.size()), &delta) && delta >= 1 &&
        delta <= kMaxDelta) {
      options->reference = ReferenceMode::kDelta;
      options->delta = delta;
      return absl::OkStatus();
    }
  }
  return absl::InvalidArgumentError(fmt::format(
      "bad reference mode '{}' (expected anchor, background or delta:N with 1 <= N <= {})", text,
      kMaxDelta));
}

std::string ReferenceModeString(const DiffOptions& options) {
  switch (options.reference) {
    case ReferenceMode::kAnchor:
      return "anchor";
    case ReferenceMode::kDelta:
      return fmt::format("delta:{}", options.delta);
    case ReferenceMode::kBackground:
      return "background";
  }
  return "unknown";
}

std::string_view DiffMetricName(DiffMetric metric) {
  return metric == DiffMetric::kGlobalMse ? "global" : "blocked";
}

std::string_view BlockReduceName(BlockReduce reduce) {
  return reduce == BlockReduce::kMax ? "max" : "sum";
}

}  // namespace dnoscope::detect
