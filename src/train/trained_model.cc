#include "train/trained_model.h"

#include <cmath>
#include <random>

#include "common/status_macros.h"
#include "fmt/format.h"

namespace dnoscope::train {
namespace {

absl::Status CheckTensor(const std::vector<float>& values, size_t expected,
                         const std::string& what) {
  if (values.size() != expected) {
    return absl::InvalidArgumentError(
        fmt::format("{} has {} values, expected {}", what, values.size(), expected));
  }
  for (float v : values) {
    if (!std::isfinite(v)) return absl::InvalidArgumentError(what + " holds a non-finite value");
  }
  return absl::OkStatus();
}

absl::Status CheckDense(const DenseWeights& d, int64_t in, int64_t out, const std::string& what) {
  if (d.in_features != in || d.out_features != out) {
    return absl::InvalidArgumentError(
        fmt::format("{} is {}->{}, expected {}->{}", what, d.in_features, d.out_features, in, out));
  }
  DNS_RETURN_IF_ERROR(CheckTensor(d.weight, static_cast<size_t>(in * out), what + " weight"));
  return CheckTensor(d.bias, static_cast<size_t>(out), what + " bias");
}

}  // namespace

std::string Architecture::Name() const {
  return fmt::format("conv{}x{}-dense{}", conv_layers, filters, dense_units);
}

int Architecture::OutputWidth(int width) const { return width >> conv_layers; }
int Architecture::OutputHeight(int height) const { return height >> conv_layers; }

int64_t Architecture::FlattenedSize(int width, int height) const {
  return static_cast<int64_t>(filters) * OutputWidth(width) * OutputHeight(height);
}

int64_t Architecture::MultiplyAdds(int width, int height) const {
  int64_t total = 0;
  int64_t in_channels = 3;
  for (int i = 0; i < conv_layers; ++i) {
    total += static_cast<int64_t>(width >> i) * (height >> i) * in_channels * filters * 9;
    in_channels = filters;
  }
  return total + FlattenedSize(width, height) * dense_units + dense_units;
}

int64_t Architecture::Parameters(int width, int height) const {
  int64_t total = 0;
  int64_t in_channels = 3;
  for (int i = 0; i < conv_layers; ++i) {
    total += in_channels * filters * 9 + filters;
    in_channels = filters;
  }
  return total + (FlattenedSize(width, height) + 1) * dense_units + dense_units + 1;
}

absl::Status ValidateArchitecture(const Architecture& a, int width, int height) {
  if (a.conv_layers < 1 || a.conv_layers > 4 || a.filters < 1 || a.filters > 512 ||
      a.dense_units < 1 || a.dense_units > 4096) {
    return absl::InvalidArgumentError(fmt::format(
        "architecture {}: needs 1..4 conv layers, 1..512 filters and 1..4096 dense units",
        a.Name()));
  }
  if (a.OutputWidth(width) < 1 || a.OutputHeight(height) < 1) {
    return absl::InvalidArgumentError(
        fmt::format("architecture {}: a {}x{} input is pooled away by {} conv layers", a.Name(),
                    width, height, a.conv_layers));
  }
  return absl::OkStatus();
}

absl::Status ValidateTrainedModel(const TrainedModel& m) {
  const Architecture& a = m.architecture;
  DNS_RETURN_IF_ERROR(ValidateArchitecture(a, m.width, m.height));
  if (static_cast<int>(m.conv.size()) != a.conv_layers) {
    return absl::InvalidArgumentError(
        fmt::format("model has {} conv layers, its architecture {}", m.conv.size(), a.Name()));
  }
  for (int c = 0; c < 3; ++c) {
    if (!std::isfinite(m.normalization.mean[c]) || !(m.normalization.std[c] >= kMinStd)) {
      return absl::InvalidArgumentError(
          fmt::format("normalization of channel {} is not finite or its std < {}", c, kMinStd));
    }
  }
  int in_channels = 3;
  for (int i = 0; i < a.conv_layers; ++i) {
    const ConvWeights& conv = m.conv[i];
    const std::string what = fmt::format("conv layer {}", i);
    if (conv.in_channels != in_channels || conv.out_channels != a.filters) {
      return absl::InvalidArgumentError(fmt::format("{} is {}->{} channels, expected {}->{}", what,
                                                    conv.in_channels, conv.out_channels,
                                                    in_channels, a.filters));
    }
    DNS_RETURN_IF_ERROR(CheckTensor(conv.weight, static_cast<size_t>(in_channels) * a.filters * 9,
                                    what + " weight"));
    DNS_RETURN_IF_ERROR(CheckTensor(conv.bias, static_cast<size_t>(a.filters), what + " bias"));
    in_channels = a.filters;
  }
  DNS_RETURN_IF_ERROR(
      CheckDense(m.dense, a.FlattenedSize(m.width, m.height), a.dense_units, "dense layer"));
  return CheckDense(m.output, a.dense_units, 1, "output layer");
}

namespace {

// Normal(0, scale) values.
std::vector<float> RandomValues(size_t n, float scale, std::mt19937_64& rng) {
  std::normal_distribution<float> dist(0.0f, scale);
  std::vector<float> values(n);
  for (float& v : values) v = dist(rng);
  return values;
}

DenseWeights RandomDense(int in, int out, std::mt19937_64& rng) {
  const float scale = std::sqrt(2.0f / static_cast<float>(in));
  return {in, out, RandomValues(static_cast<size_t>(in) * out, scale, rng),
          RandomValues(static_cast<size_t>(out), 0.1f, rng)};
}

}  // namespace

TrainedModel RandomTrainedModel(const Architecture& a, int width, int height, uint64_t seed) {
  std::mt19937_64 rng(seed);
  TrainedModel m;
  m.architecture = a;
  m.width = width;
  m.height = height;
  m.normalization = {{0.4f, 0.5f, 0.6f}, {0.2f, 0.25f, 0.3f}};
  int in = 3;
  for (int i = 0; i < a.conv_layers; ++i) {
    const float scale = std::sqrt(2.0f / static_cast<float>(in * 9));
    m.conv.push_back({in, a.filters,
                      RandomValues(static_cast<size_t>(in) * a.filters * 9, scale, rng),
                      RandomValues(static_cast<size_t>(a.filters), 0.1f, rng)});
    in = a.filters;
  }
  m.dense = RandomDense(static_cast<int>(a.FlattenedSize(width, height)), a.dense_units, rng);
  m.output = RandomDense(a.dense_units, 1, rng);
  return m;
}

}  // namespace dnoscope::train
