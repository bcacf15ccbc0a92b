// The in-process ModelStage: each worker thread owns one Model instance
// (models are not thread-safe) and takes requests from one shared queue,
// normal priority before low, in submission order within a priority. The
// embedded default of `dnoscope run` uses it for both model stages.
//
// Thread-safety: as ModelStage.
#pragma once

#include <memory>
#include <vector>

#include "absl/status/statusor.h"
#include "models/model.h"
#include "models/model_stage.h"

namespace dnoscope::models {

// One worker thread per instance; every instance must have the metadata of
// the first (the same model loaded N times). InvalidArgument for an empty
// list, a null instance or instances of different models.
absl::StatusOr<std::unique_ptr<ModelStage>> MakeLocalStage(
    std::vector<std::unique_ptr<Model>> instances);

// One instance, one worker.
std::unique_ptr<ModelStage> MakeLocalStage(std::unique_ptr<Model> model);

}  // namespace dnoscope::models
