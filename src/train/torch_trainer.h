// Internal to src/train: the libtorch half of the trainer (the only file
// that includes libtorch is torch_trainer.cc). TrainGrid (trainer.cc) does
// the option checks, normalisation, selection and cost measurement.
// Thread-safety: as TrainGrid.
#pragma once

#include "absl/status/statusor.h"
#include "common/clock.h"
#include "train/dataset.h"
#include "train/trainer.h"

namespace dnoscope::train::internal {

struct CandidateFit {
  CandidateResult result;  // losses, accuracy, epochs, seconds
  TrainedModel model;      // weights of the best epoch
};

// What every candidate shares.
struct FitContext {
  const Dataset* data = nullptr;  // not owned
  Normalization normalization;
  double positive_weight = 1;
  const TrainOptions* options = nullptr;  // not owned
  Clock* clock = nullptr;                 // not owned
};

// Trains one candidate. `candidate`/`candidates` only label the progress.
// Internal for libtorch failures (exceptions are caught here).
absl::StatusOr<CandidateFit> FitCandidate(const FitContext& context,
                                          const Architecture& architecture, int candidate,
                                          int candidates, const TrainProgressCallback& on_epoch);

}  // namespace dnoscope::train::internal
