// Helpers shared by `bench edge` and `bench ablations`: run a cascade
// once over the first frames of a video and measure it, and start a fleet
// of label-replay servers for one model.
//
// Thread-safety: blocking functions; call them from one thread.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "bench/distributed_bench.h"
#include "bench/replay_fleet.h"
#include "cascade/cascade_config.h"
#include "client/endpoint.h"
#include "cascade/cascade.h"
#include "models/model_stage.h"
#include "labels/prediction_csv.h"

namespace dnoscope::bench {

// A cascade with the stages it runs on, owned together (the cascade is
// destroyed first).
struct OwnedCascade {
  std::unique_ptr<models::ModelStage> specialized;
  std::unique_ptr<models::ModelStage> reference;
  std::unique_ptr<cascade::Cascade> cascade;
  cascade::Cascade* operator->() const { return cascade.get(); }
  cascade::Cascade& operator*() const { return *cascade; }
};

// Creates the cascade over `specialized` (may be null when the config has
// none) and `reference`. Errors as cascade::Cascade::Create.
absl::StatusOr<OwnedCascade> MakeOwnedCascade(const cascade::CascadeConfig& config,
                                              const cascade::CascadeOptions& options,
                                              std::unique_ptr<models::ModelStage> specialized,
                                              std::unique_ptr<models::ModelStage> reference);

// Runs `config` with the two stages (owned; `specialized` may be null when
// the config has no specialized model) over frames [0, frames) of `video`.
// Fills every field of CascadeRunStats; `checks` lists rows missing, out of
// order or not matching the summary. With `rows` non-null, appends every
// row to it. Errors: creating the cascade, opening the video, the run's.
absl::StatusOr<CascadeRunStats> RunAsyncCascadeTimed(
    const cascade::CascadeConfig& config, const cascade::CascadeOptions& options,
    std::unique_ptr<models::ModelStage> specialized,
    std::unique_ptr<models::ModelStage> reference, const std::string& video, int64_t frames,
    std::vector<labels::FrameResult>* rows = nullptr);

// One ReplayServer per entry of `service_ms`, each serving `model` with
// that service time (the other fields of `model` are kept), in
// <dir>/server<i>. Errors as ReplayServer::Start.
absl::StatusOr<std::vector<std::unique_ptr<ReplayServer>>> StartReplayFleet(
    const std::string& dir, const ReplayModelSpec& model, const std::vector<double>& service_ms);

std::vector<client::Endpoint> FleetEndpoints(
    const std::vector<std::unique_ptr<ReplayServer>>& fleet);

// The report of `stage` ("specialized" or "reference"); nullptr when absent.
const cascade::StageReport* FindStageReport(const cascade::RunReport& report,
                                                const std::string& stage);

// Frames of each status in `s`.
int64_t StatusCount(const CascadeRunStats& s, labels::FrameStatus status);

}  // namespace dnoscope::bench
