// Grid orchestration without libtorch: option checks, normalisation,
// candidate selection and the OpenCV DNN cost measurement. The training
// itself is in torch_trainer.cc.
#include "train/trainer.h"

#include <algorithm>
#include <cmath>

#include "common/status_macros.h"
#include "fmt/format.h"
#include "spdlog/spdlog.h"
#include "train/onnx_export.h"
#include "train/torch_trainer.h"

namespace dnoscope::train {
namespace {

absl::Status ValidateOptions(const TrainOptions& o) {
  auto bad = [](const std::string& what) { return absl::InvalidArgumentError(what); };
  if (o.max_epochs < 1 || o.max_epochs > 10000) return bad("epochs must be in 1..10000");
  if (o.patience < 1) return bad("patience must be >= 1 epoch");
  if (o.batch_size < 1 || o.batch_size > 65536) return bad("batch size must be in 1..65536");
  if (!(o.learning_rate > 0 && o.learning_rate < 10)) {
    return bad(fmt::format("learning rate must be in (0, 10), got {}", o.learning_rate));
  }
  if (o.threads < 1 || o.threads > 256) return bad("threads must be in 1..256");
  if (!(o.loss_tie_tolerance >= 0)) return bad("loss tie tolerance must be >= 0");
  if (o.measure_cost && (o.cost_batch_size < 1 || o.cost_repetitions < 1)) {
    return bad("cost batch size and repetitions must be >= 1");
  }
  return absl::OkStatus();
}

// Positives weighted by negatives / positives of the training split.
absl::StatusOr<double> PositiveWeight(const Dataset& data, const TrainOptions& o) {
  const ClassBalance b = data.Balance(data.train);
  if (b.positives == 0 || b.negatives == 0 || data.validation.empty()) {
    return absl::InvalidArgumentError(
        fmt::format("the training split needs both classes and a validation split (training: "
                    "{}; validation: {} frames)",
                    b.ToString(), data.validation.size()));
  }
  if (!o.class_weighting) return 1.0;
  return static_cast<double>(b.negatives) / static_cast<double>(b.positives);
}

// `count` images cycled from the validation split, back to back.
std::vector<uint8_t> CostImages(const Dataset& data, int count) {
  std::vector<uint8_t> images;
  images.reserve(static_cast<size_t>(count) * data.image_bytes());
  for (int i = 0; i < count; ++i) {
    const uint8_t* image = data.image(data.validation[i % data.validation.size()]);
    images.insert(images.end(), image, image + data.image_bytes());
  }
  return images;
}

absl::StatusOr<double> MeasureCost(const TrainedModel& model, const std::vector<uint8_t>& images,
                                   const TrainOptions& o, Clock* clock) {
  DNS_ASSIGN_OR_RETURN(std::string onnx, ExportOnnx(model));
  return MeasureOpenCvMsPerFrame(onnx, images.data(), o.cost_batch_size, model.width, model.height,
                                 o.cost_repetitions, clock);
}

// Lowest validation loss; within the tolerance, fewest multiply-adds.
int ChooseCandidate(const std::vector<CandidateResult>& c, double tolerance) {
  int best = 0;
  for (size_t i = 1; i < c.size(); ++i) {
    if (c[i].validation_loss < c[best].validation_loss) best = static_cast<int>(i);
  }
  int chosen = best;
  for (size_t i = 0; i < c.size(); ++i) {
    if (c[i].validation_loss > c[best].validation_loss + tolerance) continue;
    if (c[i].multiply_adds < c[chosen].multiply_adds) chosen = static_cast<int>(i);
  }
  return chosen;
}

}  // namespace

absl::StatusOr<OptimizerKind> ParseOptimizerKind(const std::string& name) {
  if (name == "adam") return OptimizerKind::kAdam;
  if (name == "rmsprop") return OptimizerKind::kRmsProp;
  return absl::InvalidArgumentError(
      fmt::format("unknown optimizer '{}' (expected adam or rmsprop)", name));
}

std::string OptimizerKindName(OptimizerKind kind) {
  return kind == OptimizerKind::kAdam ? "adam" : "rmsprop";
}

absl::StatusOr<std::vector<Architecture>> ExpandGrid(const TrainOptions& o, int width, int height) {
  if (o.conv_layers.empty() || o.filters.empty() || o.dense_units.empty()) {
    return absl::InvalidArgumentError(
        "the grid needs at least one value each for conv layers, filters and dense units");
  }
  std::vector<Architecture> grid;
  for (int layers : o.conv_layers) {
    for (int filters : o.filters) {
      for (int dense : o.dense_units) {
        const Architecture a{layers, filters, dense};
        DNS_RETURN_IF_ERROR(ValidateArchitecture(a, width, height));
        if (std::find(grid.begin(), grid.end(), a) == grid.end()) grid.push_back(a);
      }
    }
  }
  return grid;
}

Normalization ComputeNormalization(const Dataset& data, std::span<const int64_t> indices) {
  Normalization norm;
  const size_t pixels = static_cast<size_t>(data.width) * data.height;
  for (int c = 0; c < 3; ++c) {
    double sum = 0, sum_sq = 0;
    for (int64_t i : indices) {
      const uint8_t* p = data.image(i) + c;
      for (size_t k = 0; k < pixels; ++k, p += 3) {
        const double v = *p / 255.0;
        sum += v;
        sum_sq += v * v;
      }
    }
    const double n = std::max<double>(1.0, static_cast<double>(pixels * indices.size()));
    const double mean = sum / n;
    const double var = std::max(0.0, sum_sq / n - mean * mean);
    norm.mean[c] = static_cast<float>(mean);
    norm.std[c] = std::max(kMinStd, static_cast<float>(std::sqrt(var)));
  }
  return norm;
}

absl::StatusOr<TrainResult> TrainGrid(const Dataset& data, const TrainOptions& options,
                                      const TrainProgressCallback& on_epoch, Clock* clock) {
  DNS_RETURN_IF_ERROR(ValidateOptions(options));
  DNS_ASSIGN_OR_RETURN(std::vector<Architecture> grid,
                       ExpandGrid(options, data.width, data.height));
  TrainResult result;
  DNS_ASSIGN_OR_RETURN(result.positive_weight, PositiveWeight(data, options));
  const internal::FitContext context{&data, ComputeNormalization(data, data.train),
                                     result.positive_weight, &options, clock};
  const std::vector<uint8_t> cost_images =
      options.measure_cost ? CostImages(data, options.cost_batch_size) : std::vector<uint8_t>();
  std::vector<TrainedModel> models;
  for (size_t i = 0; i < grid.size(); ++i) {
    DNS_ASSIGN_OR_RETURN(internal::CandidateFit fit,
                         internal::FitCandidate(context, grid[i], static_cast<int>(i),
                                                static_cast<int>(grid.size()), on_epoch));
    fit.result.multiply_adds = grid[i].MultiplyAdds(data.width, data.height);
    fit.result.parameters = grid[i].Parameters(data.width, data.height);
    if (options.measure_cost) {
      DNS_ASSIGN_OR_RETURN(fit.result.inference_ms_per_frame,
                           MeasureCost(fit.model, cost_images, options, clock));
    }
    spdlog::debug("candidate {}: validation loss {:.4f}, accuracy {:.3f}", grid[i].Name(),
                  fit.result.validation_loss, fit.result.validation_accuracy);
    result.candidates.push_back(fit.result);
    models.push_back(std::move(fit.model));
  }
  result.chosen = ChooseCandidate(result.candidates, options.loss_tie_tolerance);
  result.model = std::move(models[result.chosen]);
  return result;
}

}  // namespace dnoscope::train
