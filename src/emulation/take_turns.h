// One node: model stages that take turns on one machine. The cascade runs
// each in-process stage on worker threads of its own, so two stages whose
// models sleep an emulated service time would overlap those times as if
// each had a machine to itself. TakeTurns wraps the stages so that at most
// one request of any of them is in its inner stage at a time; the others
// wait, in submission order whatever their stage. The service times of the
// stages then add up, as on the seed's single edge node (decoding and the
// difference detector still overlap with them; they are not emulated).
//
// Thread-safety: the wrapped stages are ModelStages (every method is
// thread-safe). A `done` callback runs on the inner stage's thread, which
// then starts the next waiting request.
#pragma once

#include <memory>
#include <vector>

#include "absl/status/statusor.h"
#include "models/model_stage.h"

namespace dnoscope::emulation {

// Wraps `stages` (owned by the wrappers, in the same order) so that they
// take turns. A wrapper's Shutdown fails its waiting requests with
// Cancelled and shuts its inner stage down; the others keep running.
// InvalidArgument for a null stage.
absl::StatusOr<std::vector<std::unique_ptr<models::ModelStage>>> TakeTurns(
    std::vector<std::unique_ptr<models::ModelStage>> stages);

}  // namespace dnoscope::emulation
