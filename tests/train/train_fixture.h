// Shared inputs of the train tests: a short synthetic clip rendered once per
// test binary, its data set, a tiny training grid, and random models for the
// exporter.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "labels/label_csv.h"
#include "train/dataset.h"
#include "train/trained_model.h"
#include "train/trainer.h"

namespace dnoscope::train::testing {

struct Clip {
  std::string video_path;
  std::string labels_path;
  std::vector<labels::Detection> detections;
  int64_t frames = 0;
  int64_t positive_frames = 0;
};

// 160x120, 300 frames, one object ("car") at a time crossing without
// stopping (3 objects, 45% positive frames); rendered on first use into a
// directory removed at exit.
const Clip& SyntheticClip();

// The clip's data set (object "car", 50x50, 20% validation, seed 1).
DatasetOptions ClipDatasetOptions();
const Dataset& ClipDataset();

// One small candidate (conv2x8-dense32), up to 15 epochs, one libtorch
// thread (two OpenMP threads crawl, 25x slower, on tiny nets when the 2-core
// machine is busy): ~1-2 s.
TrainOptions TinyTrainOptions();
// TinyTrainOptions trained once on ClipDataset().
const TrainResult& TinyTrainResult();

// A model with seeded random weights (He-like scale) and the given
// normalisation-free statistics; valid for ValidateTrainedModel.
TrainedModel RandomModel(const Architecture& architecture, int width, int height, uint64_t seed);

// `count` seeded random uint8 images of width x height x 3, back to back.
std::vector<uint8_t> RandomImages(int64_t count, int width, int height, uint64_t seed);

}  // namespace dnoscope::train::testing
