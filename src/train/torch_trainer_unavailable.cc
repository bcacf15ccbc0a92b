// FitCandidate in builds configured with -DDNS_WITH_TRAINING=OFF: libtorch
// 1.13's headers do not compile with clang in C++20 mode, so the clang
// preset (thread-safety analysis, sanitizers) builds everything but the
// libtorch half of the trainer. `dnoscope train` then says so.
#include "absl/status/status.h"
#include "train/torch_trainer.h"

namespace dnoscope::train::internal {

absl::StatusOr<CandidateFit> FitCandidate(const FitContext&, const Architecture&, int, int,
                                          const TrainProgressCallback&) {
  return absl::UnimplementedError(
      "this dnoscope was built without libtorch (-DDNS_WITH_TRAINING=OFF): training is not "
      "available; use a build of the release preset");
}

}  // namespace dnoscope::train::internal
