#include "train/train_fixture.h"

#include <cmath>
#include <memory>
#include <random>

#include "gtest/gtest.h"
#include "testing/test_env.h"
#include "video/frame_source.h"
#include "video/synthetic.h"

namespace dnoscope::train::testing {
namespace {

Clip RenderClip() {
  static dnoscope::testing::ScratchDir dir;  // lives until exit
  video::SynthOptions o;
  o.width = 160;
  o.height = 120;
  o.frames = 300;
  o.seed = 5;
  o.object_rate = 0.03;
  o.stop_probability = 0;
  o.max_objects = 1;
  o.object_name = "car";
  absl::StatusOr<video::SynthResult> r = video::WriteSyntheticScene(o, dir.path());
  EXPECT_TRUE(r.ok()) << r.status();
  Clip clip;
  if (!r.ok()) return clip;
  clip.video_path = r->video_path;
  clip.labels_path = r->labels_path;
  clip.frames = r->frames;
  clip.positive_frames = r->positive_frames;
  clip.detections = labels::ReadLabelCsv(r->labels_path).value();
  return clip;
}

Dataset BuildClipDataset() {
  video::FrameSourceOptions source_options;
  source_options.uri = SyntheticClip().video_path;
  auto source = video::OpenFrameSource(source_options);
  EXPECT_TRUE(source.ok()) << source.status();
  if (!source.ok()) return Dataset();
  absl::StatusOr<Dataset> data =
      BuildDataset(**source, SyntheticClip().detections, ClipDatasetOptions());
  EXPECT_TRUE(data.ok()) << data.status();
  return data.ok() ? *std::move(data) : Dataset();
}

}  // namespace

const Clip& SyntheticClip() {
  static const Clip clip = RenderClip();
  return clip;
}

DatasetOptions ClipDatasetOptions() {
  DatasetOptions o;
  o.filter.object_name = "car";
  o.labels_name = "labels.csv";
  return o;
}

const Dataset& ClipDataset() {
  static const Dataset data = BuildClipDataset();
  return data;
}

TrainOptions TinyTrainOptions() {
  TrainOptions o;
  o.conv_layers = {2};
  o.filters = {8};
  o.dense_units = {32};
  o.max_epochs = 15;
  o.patience = 5;
  o.batch_size = 16;
  o.learning_rate = 2e-3;
  o.measure_cost = false;
  o.threads = 1;
  return o;
}

const TrainResult& TinyTrainResult() {
  static const TrainResult result = [] {
    absl::StatusOr<TrainResult> r = TrainGrid(ClipDataset(), TinyTrainOptions());
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? *std::move(r) : TrainResult();
  }();
  return result;
}

TrainedModel RandomModel(const Architecture& a, int width, int height, uint64_t seed) {
  return RandomTrainedModel(a, width, height, seed);
}

std::vector<uint8_t> RandomImages(int64_t count, int width, int height, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<uint8_t> images(static_cast<size_t>(count) * width * height * 3);
  for (uint8_t& p : images) p = static_cast<uint8_t>(rng() & 0xff);
  return images;
}

}  // namespace dnoscope::train::testing
