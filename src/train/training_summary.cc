#include "train/training_summary.h"

#include "fmt/format.h"
#include "nlohmann/json.hpp"

namespace dnoscope::train {
namespace {

using Json = nlohmann::ordered_json;

Json BalanceJson(const ClassBalance& b) {
  return {{"frames", b.total()}, {"positive", b.positives}, {"negative", b.negatives}};
}

Json ArchitectureJson(const Architecture& a) {
  return {{"name", a.Name()},
          {"conv_layers", a.conv_layers},
          {"filters", a.filters},
          {"dense_units", a.dense_units}};
}

Json CandidateJson(const CandidateResult& c) {
  return {{"architecture", ArchitectureJson(c.architecture)},
          {"epochs", c.epochs},
          {"best_epoch", c.best_epoch},
          {"train_loss", c.train_loss},
          {"validation_loss", c.validation_loss},
          {"validation_accuracy", c.validation_accuracy},
          {"validation_balanced_accuracy", c.validation_balanced_accuracy},
          {"multiply_adds", c.multiply_adds},
          {"parameters", c.parameters},
          {"train_seconds", c.train_seconds},
          {"inference_ms_per_frame", c.inference_ms_per_frame}};
}

Json DatasetJson(const TrainingRecord& r) {
  const DatasetOptions& o = *r.dataset_options;
  const Dataset& d = *r.data;
  return {{"video", r.video},
          {"labels", r.labels},
          {"frames", d.range.ToString()},
          {"object", o.filter.object_name},
          {"min_confidence", o.filter.min_confidence},
          {"roi", o.filter.roi ? Json(o.filter.roi->ToString()) : Json(nullptr)},
          {"input", {{"width", d.width}, {"height", d.height}, {"channels", "BGR"}}},
          {"smoothing", {{"window", o.smooth_window}, {"min_positive", o.smooth_min_positive}}},
          {"validation_fraction", o.validation_fraction},
          {"split_seed", o.seed},
          {"positive_frames_before_smoothing", d.raw_positives},
          {"all", BalanceJson(d.Balance())},
          {"train", BalanceJson(d.Balance(d.train))},
          {"validation", BalanceJson(d.Balance(d.validation))}};
}

Json OptionsJson(const TrainOptions& o) {
  return {{"conv_layers", o.conv_layers},
          {"filters", o.filters},
          {"dense_units", o.dense_units},
          {"max_epochs", o.max_epochs},
          {"patience", o.patience},
          {"batch_size", o.batch_size},
          {"optimizer", OptimizerKindName(o.optimizer)},
          {"learning_rate", o.learning_rate},
          {"class_weighting", o.class_weighting},
          {"seed", o.seed},
          {"threads", o.threads},
          {"loss_tie_tolerance", o.loss_tie_tolerance}};
}

}  // namespace

std::string CandidateTable(const TrainResult& result) {
  std::string out = fmt::format("  {:<22} {:>6} {:>10} {:>9} {:>8} {:>8} {:>10} {:>9} {:>9}\n",
                                "candidate", "epochs", "train_loss", "val_loss", "val_acc",
                                "val_bacc", "mult-adds", "params", "ms/frame");
  for (size_t i = 0; i < result.candidates.size(); ++i) {
    const CandidateResult& c = result.candidates[i];
    out += fmt::format(
        "{} {:<22} {:>6} {:>10.4f} {:>9.4f} {:>8.4f} {:>8.4f} {:>9.2f}M {:>8.1f}K {:>9.4f}\n",
        static_cast<int>(i) == result.chosen ? '*' : ' ', c.architecture.Name(),
        fmt::format("{}/{}", c.best_epoch, c.epochs), c.train_loss, c.validation_loss,
        c.validation_accuracy, c.validation_balanced_accuracy, c.multiply_adds / 1e6,
        c.parameters / 1e3, c.inference_ms_per_frame);
  }
  return out;
}

std::string SplitBalanceLine(const Dataset& data) {
  return fmt::format("train {} frames ({}), validation {} frames ({})", data.train.size(),
                     data.Balance(data.train).ToString(), data.validation.size(),
                     data.Balance(data.validation).ToString());
}

std::string TrainingSummaryJson(const TrainingRecord& r) {
  const TrainResult& result = *r.result;
  const Normalization& n = result.model.normalization;
  Json candidates = Json::array();
  for (const CandidateResult& c : result.candidates) candidates.push_back(CandidateJson(c));
  const Json j = {
      {"dataset", DatasetJson(r)},
      {"options", OptionsJson(*r.train_options)},
      {"positive_weight", result.positive_weight},
      {"normalization", {{"order", "BGR"}, {"scale", "1/255"}, {"mean", n.mean}, {"std", n.std}}},
      {"candidates", candidates},
      {"chosen_index", result.chosen},
      {"chosen", CandidateJson(result.candidates[result.chosen])},
      {"onnx", {{"input", "images UINT8 [N,H,W,3] BGR"}, {"output", "confidence FP32 [N,1]"}}}};
  return j.dump(2);
}

}  // namespace dnoscope::train
