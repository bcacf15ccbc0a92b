// Training of NoScope's specialized classifiers with libtorch (on the CPU):
// a grid of architectures (see train/trained_model.h) is trained on a
// Dataset's training split; the candidate with the lowest validation loss
// wins (ties: fewer multiply-adds). libtorch stays inside this library's
// .cc files; this header exposes plain structs only.
//
// Each candidate: weights initialised from the seed, class-weighted binary
// cross-entropy (positives weighted by negatives/positives of the training
// split), Adam or RMSprop, mini-batches shuffled per epoch with a seeded
// std::mt19937_64, early stopping when the validation loss has not improved
// for `patience` epochs; the weights of the best epoch are kept. The same
// options and data give bit-identical weights and losses.
//
// Thread-safety: TrainGrid and RunTorchModel set libtorch's process-wide
// thread count and (TrainGrid) its global RNG: run one at a time per process.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/clock.h"
#include "train/dataset.h"
#include "train/trained_model.h"

namespace dnoscope::train {

enum class OptimizerKind { kAdam, kRmsProp };

// "adam" / "rmsprop"; InvalidArgument for other names.
absl::StatusOr<OptimizerKind> ParseOptimizerKind(const std::string& name);
std::string OptimizerKindName(OptimizerKind kind);

struct TrainOptions {
  // The grid: every combination is one candidate. NoScope used 2 or 4 conv
  // layers, 16/32/64 filters and 32..256 dense units.
  std::vector<int> conv_layers = {2};
  std::vector<int> filters = {16, 32};
  std::vector<int> dense_units = {32, 128};
  // Epoch limit and early-stopping patience (epochs without a lower
  // validation loss).
  int max_epochs = 20;
  int patience = 4;
  int batch_size = 32;
  OptimizerKind optimizer = OptimizerKind::kAdam;
  double learning_rate = 1e-3;
  // Weight positives by negatives/positives of the training split.
  bool class_weighting = true;
  // Seed of weight initialisation and batch order (the same for every candidate).
  uint64_t seed = 1;
  // libtorch intra-op threads; fixed so that results do not depend on the
  // machine (they do depend on this number). Measured on 2 shared cores
  // (560 frames, default grid): 2 threads took 26 s idle but 72 s while
  // another job kept a core busy (OpenMP barriers); 1 thread took 35 s both ways.
  int threads = 1;
  // Validation losses within this of the best count as tied.
  double loss_tie_tolerance = 1e-3;
  // Time each candidate's exported ONNX graph with OpenCV DNN.
  bool measure_cost = true;
  // Batch size and repetitions of that measurement.
  int cost_batch_size = 64;
  int cost_repetitions = 5;
};

struct CandidateResult {
  Architecture architecture;
  // Epochs trained (<= max_epochs) and the 1-based epoch whose weights were kept.
  int epochs = 0;
  int best_epoch = 0;
  // At the kept epoch: mean class-weighted training and validation loss, and
  // validation accuracy / balanced accuracy (mean of the per-class recalls)
  // at confidence 0.5.
  double train_loss = 0;
  double validation_loss = 0;
  double validation_accuracy = 0;
  double validation_balanced_accuracy = 0;
  double train_seconds = 0;
  // OpenCV DNN inference cost of the exported graph per frame, at
  // cost_batch_size frames per call (median of the repetitions); 0 when not measured.
  double inference_ms_per_frame = 0;
  int64_t multiply_adds = 0;
  int64_t parameters = 0;
};

struct TrainResult {
  // Every candidate, in grid order (conv layers, filters, dense units).
  std::vector<CandidateResult> candidates;
  // Index of the chosen candidate.
  int chosen = 0;
  // The chosen candidate's weights.
  TrainedModel model;
  // Positive-class weight used in the loss (1 without class weighting).
  double positive_weight = 1;
};

struct TrainProgress {
  int candidate = 0;  // 0-based
  int candidates = 0;
  Architecture architecture;
  int epoch = 0;  // 1-based, just finished
  int max_epochs = 0;
  double train_loss = 0;
  double validation_loss = 0;
  double validation_accuracy = 0;
  // True on the candidate's last epoch (limit reached or stopped early).
  bool finished = false;
};

using TrainProgressCallback = std::function<void(const TrainProgress&)>;

// The grid in order; InvalidArgument for an empty dimension or a member
// ValidateArchitecture refuses.
absl::StatusOr<std::vector<Architecture>> ExpandGrid(const TrainOptions& options, int width,
                                                     int height);

// Per-channel mean and std of pixel / 255 over the samples at `indices`.
Normalization ComputeNormalization(const Dataset& data, std::span<const int64_t> indices);

// Trains every candidate and picks one (see the file comment). `on_epoch`
// (may be empty) is called after every epoch. `clock` (not owned) times
// training and the cost measurement. InvalidArgument for bad options or a
// dataset without both classes in training; Internal for libtorch or
// OpenCV failures.
absl::StatusOr<TrainResult> TrainGrid(const Dataset& data, const TrainOptions& options,
                                      const TrainProgressCallback& on_epoch = {},
                                      Clock* clock = Clock::Real());

// Runs `model` in libtorch on `count` uint8 BGR HWC images of its input size
// stored back to back at `images`; returns one sigmoid confidence per
// image. The reference the exported graph is checked against.
// InvalidArgument for an invalid model; Internal for libtorch failures.
absl::StatusOr<std::vector<float>> RunTorchModel(const TrainedModel& model, const uint8_t* images,
                                                 int64_t count, int threads = 1);

}  // namespace dnoscope::train
