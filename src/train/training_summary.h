// Human- and machine-readable reports of a training run: the candidate
// table printed by `dnoscope train` and the training_summary.json written
// next to the exported model.
// Thread-safety: pure functions.
#pragma once

#include <string>

#include "train/dataset.h"
#include "train/trainer.h"

namespace dnoscope::train {

// Everything a summary describes; pointers are not owned and must be set.
struct TrainingRecord {
  std::string video;
  std::string labels;
  const DatasetOptions* dataset_options = nullptr;
  const Dataset* data = nullptr;
  const TrainOptions* train_options = nullptr;
  const TrainResult* result = nullptr;
};

// One line per candidate (architecture, epochs, losses, accuracies,
// multiply-adds, parameters, OpenCV DNN ms/frame), the chosen one marked '*'.
std::string CandidateTable(const TrainResult& result);

// "train 448 (...), validation 112 (...)".
std::string SplitBalanceLine(const Dataset& data);

// training_summary.json: data set (source, range, filter, smoothing, class
// balance per split), options, normalisation, every candidate and the chosen
// one. Pretty-printed, deterministic for the same inputs except
// train_seconds and inference_ms_per_frame.
std::string TrainingSummaryJson(const TrainingRecord& record);

}  // namespace dnoscope::train
