// The only libtorch translation unit of dnoscope (libtorch headers cost
// ~15 s of compile time per file). Everything torch-typed stays here.
#include "train/torch_trainer.h"

#include <torch/torch.h>

#include <cmath>
#include <memory>
#include <numeric>
#include <random>

#include "common/status_macros.h"
#include "fmt/format.h"

namespace dnoscope::train {
namespace {

namespace nn = torch::nn;

struct SpecializedNetImpl : nn::Module {
  SpecializedNetImpl(const Architecture& a, int width, int height) {
    int in_channels = 3;
    for (int i = 0; i < a.conv_layers; ++i) {
      convs.push_back(
          register_module(fmt::format("conv{}", i),
                          nn::Conv2d(nn::Conv2dOptions(in_channels, a.filters, 3).padding(1))));
      in_channels = a.filters;
    }
    dense = register_module("dense", nn::Linear(a.FlattenedSize(width, height), a.dense_units));
    out = register_module("out", nn::Linear(a.dense_units, 1));
  }

  // Logits [N,1] for normalised NCHW input.
  torch::Tensor forward(torch::Tensor x) {
    for (nn::Conv2d& conv : convs) x = torch::max_pool2d(torch::relu(conv->forward(x)), 2, 2);
    x = torch::relu(dense->forward(x.flatten(1)));
    return out->forward(x);
  }

  std::vector<nn::Conv2d> convs;
  nn::Linear dense{nullptr};
  nn::Linear out{nullptr};
};
TORCH_MODULE(SpecializedNet);

std::vector<float> ToVector(const torch::Tensor& t) {
  const torch::Tensor c = t.detach().contiguous().to(torch::kFloat);
  return std::vector<float>(c.data_ptr<float>(), c.data_ptr<float>() + c.numel());
}

torch::Tensor FromVector(const std::vector<float>& v, at::IntArrayRef shape) {
  return torch::from_blob(const_cast<float*>(v.data()), shape, torch::kFloat).clone();
}

DenseWeights ExtractDense(nn::Linear& l) {
  return {static_cast<int>(l->weight.size(1)), static_cast<int>(l->weight.size(0)),
          ToVector(l->weight), ToVector(l->bias)};
}

TrainedModel ExtractModel(SpecializedNet& net, const Architecture& a, int width, int height,
                          const Normalization& norm) {
  TrainedModel m{a, width, height, norm, {}, {}, {}};
  for (nn::Conv2d& conv : net->convs) {
    m.conv.push_back({static_cast<int>(conv->weight.size(1)),
                      static_cast<int>(conv->weight.size(0)), ToVector(conv->weight),
                      ToVector(conv->bias)});
  }
  m.dense = ExtractDense(net->dense);
  m.output = ExtractDense(net->out);
  return m;
}

void LoadDense(const DenseWeights& d, nn::Linear& l) {
  l->weight.copy_(FromVector(d.weight, {d.out_features, d.in_features}));
  l->bias.copy_(FromVector(d.bias, {d.out_features}));
}

SpecializedNet BuildNet(const TrainedModel& m) {
  SpecializedNet net(m.architecture, m.width, m.height);
  torch::NoGradGuard no_grad;
  for (size_t i = 0; i < m.conv.size(); ++i) {
    const ConvWeights& c = m.conv[i];
    net->convs[i]->weight.copy_(FromVector(c.weight, {c.out_channels, c.in_channels, 3, 3}));
    net->convs[i]->bias.copy_(FromVector(c.bias, {c.out_channels}));
  }
  LoadDense(m.dense, net->dense);
  LoadDense(m.output, net->out);
  net->eval();
  return net;
}

// uint8 NHWC BGR images -> normalised float NCHW, as the exported graph does.
torch::Tensor ToInput(const uint8_t* images, int64_t count, int width, int height,
                      const Normalization& norm) {
  const torch::Tensor raw =
      torch::from_blob(const_cast<uint8_t*>(images), {count, height, width, 3}, torch::kUInt8);
  const torch::Tensor mean = torch::tensor(std::vector<float>(norm.mean.begin(), norm.mean.end()));
  const torch::Tensor std = torch::tensor(std::vector<float>(norm.std.begin(), norm.std.end()));
  return raw.to(torch::kFloat)
      .mul(1.0f / 255.0f)
      .permute({0, 3, 1, 2})
      .sub(mean.view({1, 3, 1, 1}))
      .div(std.view({1, 3, 1, 1}))
      .contiguous();
}

struct Split {
  torch::Tensor x;  // [N,3,H,W]
  torch::Tensor y;  // [N,1] float 0/1
};

Split MakeSplit(const Dataset& data, std::span<const int64_t> indices, const Normalization& norm) {
  std::vector<uint8_t> pixels;
  std::vector<float> labels;
  pixels.reserve(indices.size() * data.image_bytes());
  for (int64_t i : indices) {
    pixels.insert(pixels.end(), data.image(i), data.image(i) + data.image_bytes());
    labels.push_back(data.labels[i]);
  }
  const int64_t n = static_cast<int64_t>(indices.size());
  return {ToInput(pixels.data(), n, data.width, data.height, norm), FromVector(labels, {n, 1})};
}

torch::Tensor Loss(const torch::Tensor& logits, const torch::Tensor& y, double positive_weight) {
  namespace F = nn::functional;
  return F::binary_cross_entropy_with_logits(
      logits, y,
      F::BinaryCrossEntropyWithLogitsFuncOptions().pos_weight(
          torch::full({1}, positive_weight, torch::kFloat)));
}

struct Evaluation {
  double loss = 0;
  double accuracy = 0;
  double balanced_accuracy = 0;
};

Evaluation Evaluate(SpecializedNet& net, const Split& split, double positive_weight) {
  torch::NoGradGuard no_grad;
  net->eval();
  constexpr int64_t kChunk = 256;
  const int64_t n = split.x.size(0);
  double loss_sum = 0;
  int64_t hits[2] = {0, 0}, counts[2] = {0, 0};
  for (int64_t begin = 0; begin < n; begin += kChunk) {
    const int64_t end = std::min(n, begin + kChunk);
    const torch::Tensor logits = net->forward(split.x.slice(0, begin, end));
    const torch::Tensor y = split.y.slice(0, begin, end);
    loss_sum += Loss(logits, y, positive_weight).item<double>() * static_cast<double>(end - begin);
    const torch::Tensor predicted = logits.ge(0).to(torch::kFloat);
    const torch::Tensor correct = predicted.eq(y);
    for (int cls = 0; cls < 2; ++cls) {
      const torch::Tensor in_class = y.eq(static_cast<float>(cls));
      counts[cls] += in_class.sum().item<int64_t>();
      hits[cls] += correct.logical_and(in_class).sum().item<int64_t>();
    }
  }
  Evaluation e;
  if (n == 0) return e;
  e.loss = loss_sum / static_cast<double>(n);
  e.accuracy = static_cast<double>(hits[0] + hits[1]) / static_cast<double>(n);
  double recall_sum = 0;
  int classes = 0;
  for (int cls = 0; cls < 2; ++cls) {
    if (counts[cls] == 0) continue;
    recall_sum += static_cast<double>(hits[cls]) / static_cast<double>(counts[cls]);
    ++classes;
  }
  e.balanced_accuracy = recall_sum / classes;
  return e;
}

std::unique_ptr<torch::optim::Optimizer> MakeOptimizer(SpecializedNet& net, const TrainOptions& o) {
  if (o.optimizer == OptimizerKind::kRmsProp) {
    return std::make_unique<torch::optim::RMSprop>(net->parameters(),
                                                   torch::optim::RMSpropOptions(o.learning_rate));
  }
  return std::make_unique<torch::optim::Adam>(net->parameters(),
                                              torch::optim::AdamOptions(o.learning_rate));
}

// One pass over the training split in a freshly shuffled order; returns the
// mean training loss.
double TrainEpoch(SpecializedNet& net, torch::optim::Optimizer& optimizer, const Split& train,
                  double positive_weight, int batch_size, std::mt19937_64& rng) {
  net->train();
  const int64_t n = train.x.size(0);
  std::vector<int64_t> order(static_cast<size_t>(n));
  std::iota(order.begin(), order.end(), 0);
  for (int64_t i = n; i > 1; --i) std::swap(order[i - 1], order[rng() % static_cast<uint64_t>(i)]);
  const torch::Tensor order_t = torch::from_blob(order.data(), {n}, torch::kLong);
  double loss_sum = 0;
  for (int64_t begin = 0; begin < n; begin += batch_size) {
    const torch::Tensor idx = order_t.slice(0, begin, std::min(n, begin + batch_size));
    optimizer.zero_grad();
    torch::Tensor loss = Loss(net->forward(train.x.index_select(0, idx)),
                              train.y.index_select(0, idx), positive_weight);
    loss.backward();
    optimizer.step();
    loss_sum += loss.item<double>() * static_cast<double>(idx.size(0));
  }
  return loss_sum / static_cast<double>(n);
}

// Keeps epoch `epoch`'s numbers and weights when its validation loss is the lowest so far.
void KeepIfBest(SpecializedNet& net, const internal::FitContext& c, int epoch, double train_loss,
                const Evaluation& e, internal::CandidateFit* fit) {
  CandidateResult& r = fit->result;
  if (r.best_epoch > 0 && !(e.loss < r.validation_loss)) return;
  if (!std::isfinite(e.loss)) return;
  r.best_epoch = epoch;
  r.train_loss = train_loss;
  r.validation_loss = e.loss;
  r.validation_accuracy = e.accuracy;
  r.validation_balanced_accuracy = e.balanced_accuracy;
  fit->model = ExtractModel(net, r.architecture, c.data->width, c.data->height, c.normalization);
}

absl::StatusOr<internal::CandidateFit> Fit(const internal::FitContext& c, const Architecture& a,
                                           int candidate, int candidates,
                                           const TrainProgressCallback& on_epoch) {
  const TrainOptions& o = *c.options;
  at::set_num_threads(o.threads);
  torch::manual_seed(o.seed);
  std::mt19937_64 rng(o.seed);
  const Clock::TimePoint start = c.clock->Now();
  const Split train = MakeSplit(*c.data, c.data->train, c.normalization);
  const Split validation = MakeSplit(*c.data, c.data->validation, c.normalization);
  SpecializedNet net(a, c.data->width, c.data->height);
  std::unique_ptr<torch::optim::Optimizer> optimizer = MakeOptimizer(net, o);
  internal::CandidateFit fit;
  fit.result.architecture = a;
  for (int epoch = 1; epoch <= o.max_epochs; ++epoch) {
    const double train_loss =
        TrainEpoch(net, *optimizer, train, c.positive_weight, o.batch_size, rng);
    const Evaluation e = Evaluate(net, validation, c.positive_weight);
    fit.result.epochs = epoch;
    KeepIfBest(net, c, epoch, train_loss, e, &fit);
    const bool finished = epoch == o.max_epochs || epoch - fit.result.best_epoch >= o.patience;
    if (on_epoch) {
      on_epoch({candidate, candidates, a, epoch, o.max_epochs, train_loss, e.loss, e.accuracy,
                finished});
    }
    if (finished) break;
  }
  fit.result.train_seconds = SecondsBetween(start, c.clock->Now());
  if (fit.result.best_epoch == 0) {
    return absl::InternalError(
        fmt::format("candidate {}: the validation loss never became finite", a.Name()));
  }
  return fit;
}

}  // namespace

namespace internal {

absl::StatusOr<CandidateFit> FitCandidate(const FitContext& context,
                                          const Architecture& architecture, int candidate,
                                          int candidates, const TrainProgressCallback& on_epoch) {
  try {
    return Fit(context, architecture, candidate, candidates, on_epoch);
  } catch (const std::exception& e) {
    return absl::InternalError(
        fmt::format("libtorch failed training {}: {}", architecture.Name(), e.what()));
  }
}

}  // namespace internal

absl::StatusOr<std::vector<float>> RunTorchModel(const TrainedModel& model, const uint8_t* images,
                                                 int64_t count, int threads) {
  DNS_RETURN_IF_ERROR(ValidateTrainedModel(model));
  if (count < 0 || (count > 0 && images == nullptr)) {
    return absl::InvalidArgumentError("RunTorchModel needs count >= 0 images");
  }
  if (count == 0) return std::vector<float>();
  try {
    at::set_num_threads(threads);
    SpecializedNet net = BuildNet(model);
    torch::NoGradGuard no_grad;
    const torch::Tensor x = ToInput(images, count, model.width, model.height, model.normalization);
    return ToVector(torch::sigmoid(net->forward(x)));
  } catch (const std::exception& e) {
    return absl::InternalError(fmt::format("libtorch inference failed: {}", e.what()));
  }
}

}  // namespace dnoscope::train
