// Test helpers for the optimizer: small in-memory scenes with exact truth,
// a classifier whose confidence is a function of the image (so that the
// optimizer's extraction and the cascade see the same confidences), and
// hand-made Features.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <random>
#include <vector>

#include "common/roi.h"
#include "labels/label_csv.h"
#include "models/model.h"
#include "optimizer/features.h"
#include "video/frame_source.h"

namespace dnoscope::optimizer::testing {

inline constexpr int kSceneWidth = 64;
inline constexpr int kSceneHeight = 48;

// A fixed camera over a noisy background; a bright box crosses it in some
// runs of frames (truth = the box is there, centre inside `roi` when given).
struct Scene {
  // The empty scene (frames add noise and the box to it).
  cv::Mat background;
  std::vector<video::Frame> frames;
  std::vector<labels::Detection> rows;
  std::map<int64_t, std::vector<models::BoxDetection>> boxes;
  labels::LabelIndex truth;
};

struct SceneOptions {
  int64_t first_frame = 0;
  int64_t frames = 120;
  uint64_t seed = 1;
  // Chance per frame without the box that the previous image repeats exactly.
  double repeat_probability = 0.3;
  // Frames listed here are corrupt (no image).
  std::vector<int64_t> corrupt;
  std::optional<Roi> roi;
};

Scene MakeScene(const SceneOptions& options);

// The frames with sampling applied as a FrameSource with `skip` yields them.
std::vector<video::Frame> Sampled(const std::vector<video::Frame>& frames, int skip);

// Confidence = mean channel-2 (red) intensity / 255 of each image; input
// 32x24 (so the optimizer must take the size from the metadata).
class MeanRedClassifier : public models::Model {
 public:
  MeanRedClassifier();
  const models::ModelMetadata& metadata() const override { return metadata_; }
  absl::StatusOr<std::vector<Tensor>> Infer(const std::vector<Tensor>& inputs) override;
  int calls = 0;

 private:
  models::ModelMetadata metadata_;
};

// Hand-made features: `values[i]` fills frame i's difference image
// (`width` x `height`, all channels), with confidences and truth.
Features HandMadeFeatures(const std::vector<uint8_t>& values, const std::vector<float>& confidence,
                          const std::vector<uint8_t>& truth, int width = 4, int height = 4);

// Random features: runs of present/absent frames, images that drift with
// noise and sometimes repeat, confidences correlated with the truth.
Features RandomFeatures(int64_t frames, uint64_t seed, int width = 4, int height = 4);

}  // namespace dnoscope::optimizer::testing
