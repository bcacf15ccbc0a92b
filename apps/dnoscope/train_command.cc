// `dnoscope train`: build a data set from video + reference labels, train a
// grid of specialized CNNs, export the best as ONNX into a model repository.
#include <cstdio>
#include <filesystem>

#include "commands.h"
#include "common/progress.h"
#include "common/status_macros.h"
#include "common_options.h"
#include "fmt/format.h"
#include "labels/label_csv.h"
#include "spdlog/spdlog.h"
#include "train/dataset.h"
#include "train/onnx_export.h"
#include "train/repository_writer.h"
#include "train/trainer.h"
#include "train/training_summary.h"

namespace dnoscope::app {
namespace {

struct TrainArgs {
  VideoArgs video;
  std::string labels;
  std::string object;
  std::string out;
  std::string name;
  std::string triton_repository;
  float min_confidence = 0;
  std::string optimizer = "adam";
  std::string progress = "auto";
  int max_batch_size = 64;
  train::DatasetOptions dataset;
  train::TrainOptions training;
};

std::optional<ProgressReporter> MakeEpochProgress(const std::string& mode, int64_t total) {
  if (mode == "off") return std::nullopt;
  ProgressReporter::Options options;
  options.unit = "epochs";
  options.total = total;
  options.terminal = mode == "bar" || (mode == "auto" && UseTerminalProgress());
  return std::optional<ProgressReporter>(std::in_place, options, Clock::Real());
}

absl::StatusOr<train::Dataset> BuildData(const TrainArgs& a, train::DatasetOptions* options) {
  DNS_ASSIGN_OR_RETURN(video::FrameSourceOptions source_options, ToFrameSourceOptions(a.video));
  DNS_ASSIGN_OR_RETURN(std::vector<labels::Detection> detections, labels::ReadLabelCsv(a.labels));
  options->filter.object_name = a.object;
  options->filter.min_confidence = a.min_confidence;
  DNS_ASSIGN_OR_RETURN(options->filter.roi, ToRoi(a.video.roi));
  options->labels_name = std::filesystem::path(a.labels).filename().string();
  DNS_ASSIGN_OR_RETURN(auto source, video::OpenFrameSource(source_options));
  std::optional<ProgressReporter> progress =
      MakeFrameProgress(a.progress, source->info(), source_options.range);
  return train::BuildDataset(*source, detections, *options, [&](int64_t frames) {
    if (progress) progress->Update(frames, "decoding");
  });
}

absl::StatusOr<train::TrainResult> Train(const TrainArgs& a, const train::Dataset& data,
                                         train::TrainOptions* options) {
  DNS_ASSIGN_OR_RETURN(options->optimizer, train::ParseOptimizerKind(a.optimizer));
  DNS_ASSIGN_OR_RETURN(auto grid, train::ExpandGrid(*options, data.width, data.height));
  std::string names;
  for (const train::Architecture& arch : grid) names += (names.empty() ? "" : ", ") + arch.Name();
  std::printf("training %zu candidate%s (%s), up to %d epochs each, %s\n", grid.size(),
              grid.size() == 1 ? "" : "s", names.c_str(), options->max_epochs,
              train::OptimizerKindName(options->optimizer).c_str());
  std::fflush(stdout);
  const int max_epochs = options->max_epochs;
  std::optional<ProgressReporter> progress =
      MakeEpochProgress(a.progress, static_cast<int64_t>(grid.size()) * max_epochs);
  return train::TrainGrid(data, *options, [&](const train::TrainProgress& p) {
    if (!progress) return;
    const int64_t done =
        static_cast<int64_t>(p.candidate) * max_epochs + (p.finished ? max_epochs : p.epoch);
    progress->Update(
        done,
        fmt::format("{} epoch {}: val_loss {:.4f} val_acc {:.3f}", p.architecture.Name(), p.epoch,
                    p.validation_loss, p.validation_accuracy),
        p.finished);
  });
}

absl::Status ExecuteTrain(TrainArgs a) {
  const Clock::TimePoint start = Clock::Real()->Now();
  if (a.name.empty()) a.name = "specialized-" + a.object;
  DNS_ASSIGN_OR_RETURN(train::Dataset data, BuildData(a, &a.dataset));
  std::printf("data set: %lld frames of %s (%dx%d), %s (%lld before smoothing)\n  %s\n",
              static_cast<long long>(data.size()), data.range.ToString().c_str(), data.width,
              data.height, data.Balance().ToString().c_str(),
              static_cast<long long>(data.raw_positives), train::SplitBalanceLine(data).c_str());
  std::fflush(stdout);
  DNS_ASSIGN_OR_RETURN(train::TrainResult result, Train(a, data, &a.training));
  const train::TrainingRecord record{a.video.video, a.labels,    &a.dataset,
                                     &data,         &a.training, &result};
  DNS_ASSIGN_OR_RETURN(std::string onnx, train::ExportOnnx(result.model));
  DNS_ASSIGN_OR_RETURN(
      train::WrittenModel written,
      train::WriteModelToRepository({a.out, a.name, a.max_batch_size}, onnx, data.width,
                                    data.height, train::TrainingSummaryJson(record)));
  const train::CandidateResult& chosen = result.candidates[result.chosen];
  std::printf(
      "%s(* chosen; epochs best/run; losses class-weighted, positive weight %.3f; ms/frame: "
      "OpenCV DNN on the exported ONNX at batch %d)\n"
      "chosen %s: validation loss %.4f, accuracy %.4f, balanced accuracy %.4f\n"
      "wrote model '%s' version %lld -> %s (%.1f s in total)\n",
      train::CandidateTable(result).c_str(), result.positive_weight, a.training.cost_batch_size,
      chosen.architecture.Name().c_str(), chosen.validation_loss, chosen.validation_accuracy,
      chosen.validation_balanced_accuracy, a.name.c_str(), static_cast<long long>(written.version),
      written.onnx_path.c_str(), SecondsBetween(start, Clock::Real()->Now()));
  if (a.triton_repository.empty()) return absl::OkStatus();
  models::TritonExportOptions triton;
  triton.repository = a.out;
  triton.model = a.name;
  triton.version = written.version;
  triton.triton_repository = a.triton_repository;
  return ExportToTriton(triton);
}

void AddDatasetOptions(CLI::App* sub, TrainArgs* a) {
  sub->add_option("--labels", a->labels,
                  "Reference label CSV covering the frames (e.g. from `dnoscope label`)")
      ->required();
  sub->add_option("--object", a->object, "Object class the model answers for, e.g. person")
      ->required();
  sub->add_option("--min-confidence", a->min_confidence,
                  "Label rows scoring below this do not count")
      ->capture_default_str();
  sub->add_option("--smooth-window", a->dataset.smooth_window,
                  "NoScope label smoothing: odd window of frames centred on each frame (1 = off)")
      ->capture_default_str();
  sub->add_option("--smooth-min", a->dataset.smooth_min_positive,
                  "Positives within the window that make its centre frame positive")
      ->capture_default_str();
  sub->add_option("--width", a->dataset.width, "Model input width in pixels")
      ->capture_default_str();
  sub->add_option("--height", a->dataset.height, "Model input height in pixels")
      ->capture_default_str();
  sub->add_option("--validation-fraction", a->dataset.validation_fraction,
                  "Share of each class held out (shuffled with --seed) to pick epochs and models")
      ->capture_default_str();
}

void AddTrainingOptions(CLI::App* sub, TrainArgs* a) {
  train::TrainOptions& t = a->training;
  sub->add_option("--conv-layers", t.conv_layers,
                  "Grid: conv blocks (3x3 conv, ReLU, 2x2 max-pool), comma-separated, each 1..4 "
                  "(NoScope: 2 or 4)")
      ->delimiter(',')
      ->capture_default_str();
  sub->add_option("--filters", t.filters,
                  "Grid: filters per conv layer, comma-separated (NoScope: 16, 32, 64)")
      ->delimiter(',')
      ->capture_default_str();
  sub->add_option("--dense", t.dense_units,
                  "Grid: units of the dense layer, comma-separated (NoScope: 32..256)")
      ->delimiter(',')
      ->capture_default_str();
  sub->add_option("--epochs", t.max_epochs, "Epoch limit per candidate")->capture_default_str();
  sub->add_option("--patience", t.patience,
                  "Stop a candidate after this many epochs without a lower validation loss")
      ->capture_default_str();
  sub->add_option("--batch-size", t.batch_size, "Mini-batch size")->capture_default_str();
  sub->add_option("--optimizer", a->optimizer, "adam or rmsprop")
      ->capture_default_str()
      ->check(CLI::IsMember({"adam", "rmsprop"}));
  sub->add_option("--learning-rate", t.learning_rate, "Optimizer learning rate")
      ->capture_default_str();
  sub->add_option("--seed", t.seed,
                  "Seed of weights, batch order and the split (same seed, "
                  "same model)")
      ->capture_default_str();
  sub->add_option("--threads", t.threads,
                  "libtorch threads, fixed for reproducibility (results depend on it); 2 is "
                  "faster on idle cores but much slower when other work keeps one busy")
      ->capture_default_str();
}

}  // namespace

Command AddTrainCommand(CLI::App& root) {
  auto args = std::make_shared<TrainArgs>();
  CLI::App* sub = root.add_subcommand(
      "train",
      "Train a specialized CNN for one object on frames of a video labelled by a reference "
      "detector (NoScope's family: 2 or 4 conv layers + one dense layer + sigmoid), keep the "
      "grid member with the lowest validation loss and add it to a model repository as ONNX "
      "(UINT8 [N,H,W,3] BGR in, FP32 [N,1] confidence out). With --skip N only every Nth frame "
      "of --frames becomes a sample; --roi crops the frames and filters the labels");
  AddVideoOptions(*sub, &args->video);
  sub->add_option("--out", args->out,
                  "Model repository to add the model to (created when missing); writes "
                  "OUT/NAME/config.json and OUT/NAME/<next version>/{model.onnx,"
                  "training_summary.json}")
      ->required();
  sub->add_option("--name", args->name,
                  "Model name in the repository (default: "
                  "specialized-<object>)");
  sub->add_option("--max-batch-size", args->max_batch_size,
                  "max_batch_size written to a new model's config.json")
      ->capture_default_str();
  sub->add_option("--triton-repository", args->triton_repository,
                  "Also write the model into this Triton model repository (same name and "
                  "version; see `dnoscope export --help`)");
  AddDatasetOptions(sub, args.get());
  AddTrainingOptions(sub, args.get());
  AddProgressOption(*sub, &args->progress);
  AddTritonHelp(sub);
  return {sub, [args] {
            args->dataset.seed = args->training.seed;
            return ExecuteTrain(*args);
          }};
}

}  // namespace dnoscope::app
