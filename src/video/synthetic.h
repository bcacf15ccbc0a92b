// Synthetic fixed-camera scenes with exact ground truth, for tests,
// benchmarks and demos without real footage.
//
// A scene is a static textured background (grass-like noise, a road with lane
// markings, a few buildings) seen by a fixed camera with per-frame Gaussian
// sensor noise and a slow sinusoidal illumination drift. Objects (coloured,
// textured rectangles or ellipses 8-20% of the frame in size) enter from a
// random edge at Poisson-distributed times, cross the frame at random speeds,
// sometimes stop for a while, and leave.
//
// Everything is a pure function of SynthOptions: the same options (seed
// included) give bit-identical frames and truth on every run.
//
// Thread-safety: a SyntheticScene is used by one thread at a time;
// WriteSyntheticScene is thread-safe for distinct out_dir values.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "labels/label_csv.h"
#include "opencv2/core.hpp"

namespace dnoscope::video {

struct SynthOptions {
  // Frame size in pixels (16..8192 each).
  int width = 640;
  int height = 360;
  // Number of frames to render (>= 1) and their rate in frames per second (> 0).
  int64_t frames = 600;
  double fps = 10;
  // Seed of every random choice.
  uint64_t seed = 1;
  // Expected number of new objects entering per frame (0..10).
  double object_rate = 0.01;
  // Chance (0..1) that an object stops for a while mid-scene.
  double stop_probability = 0.3;
  // Objects on screen at once at most (>= 0); arrivals beyond it are dropped.
  int max_objects = 3;
  // Object name written in the label CSV (non-empty, no comma, quote or newline).
  std::string object_name = "car";
  // Gaussian sensor noise, standard deviation in grey levels (0..64).
  double noise_sigma = 2.0;
  // Slow illumination drift, relative brightness amplitude (0..0.5).
  double drift_amplitude = 0.08;
  // FourCC (4 characters) for the .avi writer.
  std::string codec = "MJPG";
};

struct SynthResult {
  std::string video_path;
  std::string labels_path;
  std::string background_path;
  // Frames written, frames with at least one truth box, objects that entered.
  int64_t frames = 0;
  int64_t positive_frames = 0;
  int64_t objects = 0;
};

// Deterministic frame-by-frame scene generator. Memory: the background, a
// noise bank about the size of two frames and the objects' sprites.
class SyntheticScene {
 public:
  // InvalidArgument (naming the field) for out-of-range options.
  static absl::StatusOr<std::unique_ptr<SyntheticScene>> Create(const SynthOptions& options);
  ~SyntheticScene();

  // Renders the next frame into `*frame` (BGR uint8, width x height; reused
  // when already allocated) and its ground truth into `*truth` (replaced):
  // one box per object whose visible part is at least 25% of its area,
  // clipped to the frame, confidence 1, object_name from the options.
  // Returns false (and leaves both untouched) after the last frame.
  bool Next(cv::Mat* frame, std::vector<labels::Detection>* truth);

  // The empty scene without noise or drift (BGR uint8, width x height).
  const cv::Mat& background() const { return background_; }
  // Index of the frame the next call to Next() renders.
  int64_t next_frame() const { return next_frame_; }
  // Objects that entered the scene so far.
  int64_t objects_entered() const { return objects_entered_; }

 private:
  struct Object;
  explicit SyntheticScene(const SynthOptions& options);
  void SpawnObjects();
  Object MakeObject();
  void MoveObjects();
  void Compose(cv::Mat* scene, std::vector<labels::Detection>* truth) const;
  void ApplyLightAndNoise(const cv::Mat& scene, cv::Mat* frame);

  const SynthOptions options_;
  std::mt19937_64 rng_;
  cv::Mat background_;
  cv::Mat noise_bank_;  // CV_16SC3, larger than a frame; a shifted view per frame
  cv::Point last_noise_offset_{-1, -1};
  double drift_phase_ = 0;  // radians
  cv::Mat scene_;           // scratch: background + objects
  std::vector<Object> objects_;
  int64_t next_frame_ = 0;
  int64_t objects_entered_ = 0;
};

// Renders a whole scene into `out_dir` (created when missing):
//   video.avi       the frames, codec options.codec at options.fps
//   labels.csv      NoScope label CSV of the truth boxes (see Next())
//   background.png  the empty scene
// `on_frame` (may be empty) is called after each frame with the number of
// frames written so far. Errors: InvalidArgument for bad options or a codec
// OpenCV cannot write; PermissionDenied/NotFound/Internal for I/O failures.
absl::StatusOr<SynthResult> WriteSyntheticScene(const SynthOptions& options,
                                                const std::string& out_dir,
                                                const std::function<void(int64_t)>& on_frame = {});

}  // namespace dnoscope::video
