// A specialized classifier as plain data: NoScope's architecture family and
// the float weights of one trained member. The trainer produces it; the ONNX
// exporter and the libtorch reference runner consume it. No libtorch types.
//
// The network, on a uint8 BGR HWC image of width x height:
//   x = (pixel / 255 - mean[c]) / std[c]          per channel, BGR order kept
//   conv_layers x { Conv 3x3 (padding 1) -> ReLU -> MaxPool 2x2 (stride 2, floor) }
//   Flatten (C, H, W order) -> Dense -> ReLU -> Dense(1) -> Sigmoid
//
// Thread-safety: value types.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"

namespace dnoscope::train {

struct Architecture {
  // Convolution blocks (each halves the spatial size).
  int conv_layers = 2;
  // Filters of every convolution.
  int filters = 32;
  // Units of the hidden dense layer.
  int dense_units = 128;

  // "conv2x32-dense128".
  std::string Name() const;
  // Spatial size after the convolution blocks for a width x height input.
  int OutputWidth(int width) const;
  int OutputHeight(int height) const;
  // Inputs of the hidden dense layer.
  int64_t FlattenedSize(int width, int height) const;
  // Multiply-adds per frame (convolutions and dense layers): the
  // deterministic cost used to break ties between candidates.
  int64_t MultiplyAdds(int width, int height) const;
  // Trainable parameters.
  int64_t Parameters(int width, int height) const;
  bool operator==(const Architecture&) const = default;
};

// Per-channel statistics of pixel / 255 on the training split, BGR order.
struct Normalization {
  std::array<float, 3> mean = {0, 0, 0};
  // Standard deviations, at least kMinStd (a constant channel is not scaled up).
  std::array<float, 3> std = {1, 1, 1};
};

inline constexpr float kMinStd = 1e-3f;

struct ConvWeights {
  int in_channels = 0;
  int out_channels = 0;
  // [out, in, 3, 3] row-major, and [out].
  std::vector<float> weight;
  std::vector<float> bias;
};

struct DenseWeights {
  int in_features = 0;
  int out_features = 0;
  // [out, in] row-major, and [out].
  std::vector<float> weight;
  std::vector<float> bias;
};

struct TrainedModel {
  Architecture architecture;
  // Input size in pixels.
  int width = 50;
  int height = 50;
  Normalization normalization;
  std::vector<ConvWeights> conv;
  DenseWeights dense;
  DenseWeights output;
};

// A network of `architecture` for width x height inputs with seeded random
// weights (He-normal) and a fixed normalization. It computes nothing useful
// but costs exactly what a trained one does: tests and serving benchmarks use
// it where no trained model is at hand.
TrainedModel RandomTrainedModel(const Architecture& architecture, int width, int height,
                                uint64_t seed);

// OK when every tensor has the size the architecture and input size imply
// and every value is finite; InvalidArgument naming the first mismatch.
absl::Status ValidateTrainedModel(const TrainedModel& model);

// InvalidArgument unless 1 <= conv_layers <= 4, 1 <= filters <= 512,
// 1 <= dense_units <= 4096 and the input survives the pooling (>= 1 pixel).
absl::Status ValidateArchitecture(const Architecture& a, int width, int height);

}  // namespace dnoscope::train
