#include "optimizer/test_scenes.h"

#include <algorithm>

#include "opencv2/imgproc.hpp"

namespace dnoscope::optimizer::testing {
namespace {

// Where the box is in frame i of a run that started at `start` (moves 2 px/frame).
cv::Rect BoxAt(int64_t i, int64_t start, int lane) {
  const int x = static_cast<int>(((i - start) * 2) % (kSceneWidth - 12));
  return cv::Rect(x, 6 + lane * 18, 12, 14);
}

// Background plus noise, plus the box when present (recorded as truth).
cv::Mat RenderFrame(const cv::Mat& background, int64_t f, const cv::Rect* box, std::mt19937_64& rng,
                    cv::RNG& pixels, Scene* scene) {
  cv::Mat image = background.clone();
  cv::Mat noise(kSceneHeight, kSceneWidth, CV_8UC3);
  pixels.fill(noise, cv::RNG::UNIFORM, cv::Scalar::all(0),
              cv::Scalar::all(static_cast<double>(1 + rng() % 12)));
  image += noise;
  if (box == nullptr) return image;
  cv::rectangle(image, *box, cv::Scalar(60, 80, static_cast<double>(160 + rng() % 90)), cv::FILLED);
  const models::BoxDetection d{0,
                               0.9f,
                               static_cast<float>(box->x),
                               static_cast<float>(box->y),
                               static_cast<float>(box->x + box->width),
                               static_cast<float>(box->y + box->height)};
  scene->boxes[f].push_back(d);
  scene->rows.push_back({f, "person", d.score, d.x1, d.y1, d.x2, d.y2});
  return image;
}

}  // namespace

Scene MakeScene(const SceneOptions& o) {
  std::mt19937_64 rng(o.seed);
  cv::RNG pixels(o.seed);
  Scene scene;
  scene.background.create(kSceneHeight, kSceneWidth, CV_8UC3);
  pixels.fill(scene.background, cv::RNG::UNIFORM, cv::Scalar::all(40), cv::Scalar::all(90));
  std::uniform_real_distribution<> u(0, 1);
  bool present = false;
  int64_t run_start = o.first_frame;
  int lane = 0;
  for (int64_t f = o.first_frame; f < o.first_frame + o.frames; ++f) {
    if (u(rng) < 0.08) {
      present = !present;
      run_start = f;
      lane = static_cast<int>(rng() % 2);
    }
    video::Frame frame;
    frame.index = f;
    const cv::Mat* previous = scene.frames.empty() ? nullptr : &scene.frames.back().image;
    if (previous && !previous->empty() && !present && u(rng) < o.repeat_probability) {
      frame.image = previous->clone();
    } else {
      const cv::Rect box = BoxAt(f, run_start, lane);
      frame.image = RenderFrame(scene.background, f, present ? &box : nullptr, rng, pixels, &scene);
    }
    if (std::find(o.corrupt.begin(), o.corrupt.end(), f) != o.corrupt.end()) {
      frame.corrupt = true;
      frame.image = cv::Mat();
    }
    scene.frames.push_back(std::move(frame));
  }
  scene.truth =
      labels::LabelIndex::Build(scene.rows, {"person", 0, o.roi}, o.first_frame + o.frames);
  return scene;
}

std::vector<video::Frame> Sampled(const std::vector<video::Frame>& frames, int skip) {
  std::vector<video::Frame> out = frames;
  for (size_t i = 0; i < out.size(); ++i) {
    if (i % skip == 0) continue;
    out[i].sampled = false;
    out[i].corrupt = false;
    out[i].image = cv::Mat();
  }
  return out;
}

MeanRedClassifier::MeanRedClassifier() {
  metadata_.name = "mean_red";
  metadata_.backend = "fake";
  metadata_.kind = models::ModelKind::kClassifier;
  metadata_.inputs = {{"images", DataType::kUint8, {-1, 24, 32, 3}}};
  metadata_.outputs = {{"confidence", DataType::kFp32, {-1, 1}}};
  metadata_.max_batch_size = 16;
}

absl::StatusOr<std::vector<Tensor>> MeanRedClassifier::Infer(const std::vector<Tensor>& inputs) {
  if (inputs.size() != 1 || inputs[0].shape.size() != 4 || inputs[0].shape[3] != 3) {
    return absl::InvalidArgumentError("expected one [N,H,W,3] input");
  }
  ++calls;
  const int64_t n = inputs[0].shape[0];
  const int64_t pixels = inputs[0].shape[1] * inputs[0].shape[2];
  std::span<const uint8_t> data = inputs[0].Values<uint8_t>();
  std::vector<float> out;
  for (int64_t i = 0; i < n; ++i) {
    int64_t sum = 0;
    for (int64_t p = 0; p < pixels; ++p) sum += data[(i * pixels + p) * 3 + 2];
    out.push_back(static_cast<float>(sum) / static_cast<float>(pixels * 255));
  }
  return std::vector<Tensor>{Tensor::Fp32("confidence", {n, 1}, out)};
}

Features HandMadeFeatures(const std::vector<uint8_t>& values, const std::vector<float>& confidence,
                          const std::vector<uint8_t>& truth, int width, int height) {
  Features f;
  f.has_confidence = !confidence.empty();
  for (size_t i = 0; i < values.size(); ++i) {
    f.diff_images.push_back(cv::Mat(height, width, CV_8UC3, cv::Scalar::all(values[i])));
    f.confidence.push_back(confidence.empty() ? NAN : confidence[i]);
    f.truth.push_back(truth[i]);
    f.corrupt.push_back(0);
  }
  return f;
}

Features RandomFeatures(int64_t frames, uint64_t seed, int width, int height) {
  std::mt19937_64 rng(seed);
  cv::RNG pixels(seed);
  std::uniform_real_distribution<> u(0, 1);
  std::normal_distribution<> noise(0, 1);
  Features f;
  f.has_confidence = true;
  bool present = false;
  cv::Mat image(height, width, CV_8UC3, cv::Scalar::all(100));
  for (int64_t i = 0; i < frames; ++i) {
    if (u(rng) < 0.1) present = !present;
    if (u(rng) > 0.35) {  // else: an exact repeat of the previous image
      image = image.clone();
      cv::Mat delta(height, width, CV_8UC3);
      pixels.fill(delta, cv::RNG::UNIFORM, cv::Scalar::all(0),
                  cv::Scalar::all(static_cast<double>(2 + rng() % (present ? 30 : 8))));
      image += delta;
      image -= cv::Scalar::all(static_cast<double>(rng() % 6));
    }
    f.diff_images.push_back(image);
    const double c = (present ? 0.68 : 0.32) + 0.2 * noise(rng);
    f.confidence.push_back(static_cast<float>(std::clamp(c, 0.0, 1.0)));
    f.truth.push_back(present ? 1 : 0);
    f.corrupt.push_back(0);
  }
  return f;
}

}  // namespace dnoscope::optimizer::testing
