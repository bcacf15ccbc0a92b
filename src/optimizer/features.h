// Features of the threshold-fitting range: everything the threshold search
// needs, computed once so that no model runs during the search.
//
// Per frame of the range: the difference-resolution image the cascade's
// difference detector would see (ROI crop, resize; BGR uint8), the
// specialized model's confidence (computed once, batched), and the truth
// (the reference labels). Along the way each stage's cost per frame is
// measured on this machine, the way the cascade runs it (see StageCosts).
//
// Memory: one difference image per frame, width x height x 3 bytes (30 KB at
// the default 100x100): about 150 MB for 5,000 frames. Extraction refuses
// ranges whose images would exceed FeatureOptions::max_feature_bytes.
//
// Thread-safety: ExtractFeatures is thread-safe for distinct arguments;
// Features is a plain value.
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "absl/status/statusor.h"
#include "cascade/cascade_config.h"
#include "common/clock.h"
#include "labels/label_csv.h"
#include "models/model.h"
#include "opencv2/core.hpp"
#include "video/frame_source.h"
#include "video/preprocess.h"

namespace dnoscope::optimizer {

// Cost of each stage per frame, in milliseconds, as the cascade runs it.
struct StageCosts {
  // FrameSource::Next per frame; common to every setting (reported apart).
  double decode_ms = 0;
  // ROI crop + resize to the difference resolution + the difference metric.
  double difference_ms = 0;
  // ROI crop + resize to the specialized input + the model at batch 1.
  double specialized_ms = 0;
  // The reference detector on one full frame.
  double reference_ms = 0;
};

// How many frames each measured cost was averaged over (0: not measured).
struct CostSamples {
  int64_t decode = 0;
  int64_t difference = 0;
  int64_t specialized = 0;
  int64_t reference = 0;
};

struct Features {
  // Video index of the first frame; frame i of the vectors is first_frame + i.
  int64_t first_frame = 0;
  // Per frame: BGR uint8 at the difference resolution; empty when corrupt.
  std::vector<cv::Mat> diff_images;
  // Per frame: specialized confidence; NaN when corrupt or without a model.
  std::vector<float> confidence;
  // Per frame: 1 when the reference labels say the object is present.
  std::vector<uint8_t> truth;
  // Per frame: 1 when the frame could not be decoded.
  std::vector<uint8_t> corrupt;
  // True when `confidence` holds a specialized model's answers.
  bool has_confidence = false;

  StageCosts measured;
  CostSamples samples;
  // Reference timing frames whose detections agreed with `truth`.
  int reference_checked = 0;
  int reference_agreed = 0;
  // Largest |batched - batch-1| confidence seen on the specialized timing
  // frames (the cascade classifies at batch 1).
  double confidence_batch_deviation = 0;

  int64_t size() const { return static_cast<int64_t>(truth.size()); }
  int64_t positives() const;
};

struct FeatureOptions {
  // Query (object, min_confidence, ROI), difference metric and resolution,
  // specialized input size: the stages are prepared exactly as under this
  // config. Thresholds, skip and model specs are ignored.
  cascade::CascadeConfig config;
  // Must match the cascade's (CascadeOptions::interpolation).
  video::Interpolation interpolation = video::Interpolation::kArea;
  // Images per specialized model call while extracting (the model's own
  // max_batch_size still applies).
  int specialized_batch_size = 32;
  // Frames the specialized model is timed on at batch 1 (0: no timing).
  int specialized_timing_frames = 32;
  // Frames the reference model is timed on (0: no timing); the first is
  // run once more, untimed, to warm the model up.
  int reference_timing_frames = 8;
  // Frames the source will yield, to spread the timing frames over the
  // range; 0 = unknown (the first frames are used).
  int64_t expected_frames = 0;
  // Refuse ranges whose difference images would need more than this.
  int64_t max_feature_bytes = int64_t{1} << 30;
};

// Models the extraction uses; not owned, must outlive the call.
struct FeatureModels {
  // May be null: no confidences (the specialized stage can only be disabled).
  models::Model* specialized = nullptr;
  // May be null: the reference cost is not measured.
  models::Model* reference = nullptr;
};

// Called after each frame with the number of frames done.
using FrameProgress = std::function<void(int64_t)>;

// Reads every frame `source` yields (it must decode every frame: skip 1).
// `truth` gives the labels by video frame index; `clock` (not owned) times
// the stages. Errors: InvalidArgument for an empty range, a source that
// samples (skip > 1), a range too large for max_feature_bytes, an ROI outside
// the frame; the source's and the models' errors.
absl::StatusOr<Features> ExtractFeatures(video::FrameSource& source, const FeatureModels& models,
                                         const labels::LabelIndex& truth,
                                         const FeatureOptions& options, Clock* clock,
                                         const FrameProgress& on_frame = {});

}  // namespace dnoscope::optimizer
