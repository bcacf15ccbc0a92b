// Difference detectors: decide whether a frame differs enough from a
// reference frame to need a model, or can reuse a known label.
//
// Metrics (on BGR uint8 frames already resized to width x height, NoScope used
// 100x100x3):
//   global MSE  - mean over all pixels and channels of (a - b)^2;
//   blocked MSE - the frame is cut into grid_rows x grid_cols blocks, the MSE
//                 of each block is computed and reduced by max or by a weighted
//                 sum (weights default to 1/blocks, i.e. the mean).
// A frame is "changed" when score > threshold (strictly).
//
// Reference frame modes:
//   anchor     - the last frame that went to a model (was changed); an
//                unchanged frame reuses the anchor's label. The first frame is
//                always changed. (The seed's behaviour; the default.)
//   delta:N    - the frame N processed frames earlier; an unchanged frame reuses
//                that frame's label. The first N frames are changed.
//   background - a fixed empty-scene image; unchanged means "absent".
//
// Thread-safety: a DifferenceDetector is used by one thread at a time; the
// kernels are thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "opencv2/core.hpp"

namespace dnoscope::detect {

enum class DiffMetric { kGlobalMse, kBlockedMse };
enum class BlockReduce { kMax, kWeightedSum };
enum class ReferenceMode { kAnchor, kDelta, kBackground };

// Largest accepted DiffOptions::delta.
inline constexpr int kMaxDelta = 1 << 16;

struct DiffOptions {
  DiffMetric metric = DiffMetric::kGlobalMse;
  // Resolution the frames are compared at.
  int width = 100;
  int height = 100;
  // Blocked MSE grid.
  int grid_rows = 4;
  int grid_cols = 4;
  BlockReduce reduce = BlockReduce::kMax;
  // kWeightedSum: one weight per block, row-major; empty = 1/(rows*cols) each.
  std::vector<double> block_weights;
  ReferenceMode reference = ReferenceMode::kAnchor;
  // kDelta: compare with the frame `delta` processed frames earlier
  // (1 <= delta <= kMaxDelta; memory grows with delta x frame size).
  int delta = 1;
  // Changed when score > threshold.
  double threshold = 0;
};

// "global" / "blocked".
absl::StatusOr<DiffMetric> ParseDiffMetric(std::string_view text);
// "max" / "sum".
absl::StatusOr<BlockReduce> ParseBlockReduce(std::string_view text);
// "anchor", "delta:N" (N >= 1) or "background"; sets options->reference and ->delta.
absl::Status ParseReferenceMode(std::string_view text, DiffOptions* options);
// Inverse of the parsers, for configs and summaries.
std::string ReferenceModeString(const DiffOptions& options);
std::string_view DiffMetricName(DiffMetric metric);
std::string_view BlockReduceName(BlockReduce reduce);

struct DiffDecision {
  // The metric against the reference frame; NaN when there was none (first frames).
  double score = 0;
  // True when the frame must go to the models.
  bool changed = true;
  // When !changed: the frame whose label this frame reuses, or -1 in
  // background mode (label "absent").
  int64_t reuse_frame = -1;
};

class DifferenceDetector {
 public:
  // `background` (BGR uint8, any size; resized to width x height) is required
  // for kBackground and ignored otherwise. InvalidArgument for bad options
  // (non-positive sizes; for kBlockedMse a grid larger than the frame, a
  // non-empty block_weights of the wrong count or with negative/non-finite
  // weights; delta outside [1, kMaxDelta]; negative or NaN threshold; missing
  // or non-CV_8UC3 background).
  static absl::StatusOr<std::unique_ptr<DifferenceDetector>> Create(const DiffOptions& options,
                                                                    const cv::Mat& background = {});

  // Scores frame `frame_index` (BGR uint8, exactly width x height) against its
  // reference and updates the reference state. Frame indices must increase.
  // The frame is copied only when it becomes a reference (anchor: when
  // changed; delta: always, into a recycled buffer). A frame of another size
  // or type is reported changed (score NaN), logged once, and empties the
  // reference slot it would have filled (so the next frame is changed too).
  DiffDecision Process(int64_t frame_index, const cv::Mat& frame);

  // The metric between two frames of the same size (normally width x height;
  // no state change). NaN when sizes or types (CV_8UC3) differ, or the frame
  // is smaller than the blocked-MSE grid.
  double Score(const cv::Mat& a, const cv::Mat& b) const;

  const DiffOptions& options() const { return options_; }

  // Changes the threshold from the next Process() on (a drift response);
  // the reference state is kept. InvalidArgument for a negative or NaN one.
  absl::Status SetThreshold(double threshold);

 private:
  explicit DifferenceDetector(DiffOptions options) : options_(std::move(options)) {}

  // A reference frame; index < 0 marks an empty slot.
  struct Stored {
    int64_t index = -1;
    cv::Mat frame;
  };

  DiffDecision ProcessAnchor(int64_t frame_index, const cv::Mat& frame);
  DiffDecision ProcessDelta(int64_t frame_index, const cv::Mat& frame);
  DiffDecision ProcessBackground(const cv::Mat& frame) const;
  DiffDecision RejectFrame(int64_t frame_index, const cv::Mat& frame);
  DiffDecision Compare(const Stored& reference, const cv::Mat& frame) const;
  void StoreFrame(int64_t frame_index, const cv::Mat& frame, Stored* slot) const;
  // Moves next_slot_ round-robin to the following ring slot.
  void AdvanceSlot() { next_slot_ = next_slot_ + 1 == ring_.size() ? 0 : next_slot_ + 1; }
  // Score() without the size checks.
  double ScoreUnchecked(const cv::Mat& a, const cv::Mat& b) const;

  DiffOptions options_;
  // Per-block weights for BlockReduce::kWeightedSum (defaults resolved).
  std::vector<double> weights_;
  cv::Mat background_;
  // kAnchor: one slot; kDelta: `delta` slots used round-robin, so that the
  // slot about to be overwritten holds the frame processed `delta` calls ago.
  // Buffers are allocated once and then recycled (no steady-state allocation).
  std::vector<Stored> ring_;
  size_t next_slot_ = 0;
  bool warned_bad_frame_ = false;
};

// Sum over i of (a[i] - b[i])^2, exact. Vectorised: AVX2 when the CPU has it
// (checked once at run time), SSE2 otherwise.
uint64_t SumSquaredDiff(const uint8_t* a, const uint8_t* b, size_t n);

// Per-block MSE of two same-size CV_8UC3 frames, row-major into `out`
// (resized to rows*cols). Blocks split the frame as evenly as possible: block
// row r spans pixel rows [r*H/rows, (r+1)*H/rows) (likewise for columns).
// Requires 1 <= rows <= H and 1 <= cols <= W.
void BlockMse(const cv::Mat& a, const cv::Mat& b, int rows, int cols, std::vector<double>* out);

}  // namespace dnoscope::detect
