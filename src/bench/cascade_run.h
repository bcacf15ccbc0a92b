// Helpers shared by `bench edge` and `bench ablations`: run an AsyncCascade
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
#include "distributed/async_cascade.h"
#include "distributed/model_stage.h"
#include "labels/prediction_csv.h"

namespace dnoscope::bench {

// Runs `config` with the two stages (owned; `specialized` may be null when
// the config has no specialized model) over frames [0, frames) of `video`.
// Fills every field of CascadeRunStats; `checks` lists rows missing, out of
// order or not matching the summary. With `rows` non-null, appends every
// row to it. Errors: creating the cascade, opening the video, the run's.
absl::StatusOr<CascadeRunStats> RunAsyncCascadeTimed(
    const cascade::CascadeConfig& config, const distributed::AsyncCascadeOptions& options,
    std::unique_ptr<distributed::ModelStage> specialized,
    std::unique_ptr<distributed::ModelStage> reference, const std::string& video, int64_t frames,
    std::vector<labels::FrameResult>* rows = nullptr);

// One ReplayServer per entry of `service_ms`, each serving `model` with
// that service time (the other fields of `model` are kept), in
// <dir>/server<i>. Errors as ReplayServer::Start.
absl::StatusOr<std::vector<std::unique_ptr<ReplayServer>>> StartReplayFleet(
    const std::string& dir, const ReplayModelSpec& model, const std::vector<double>& service_ms);

std::vector<client::Endpoint> FleetEndpoints(
    const std::vector<std::unique_ptr<ReplayServer>>& fleet);

// The report of `stage` ("specialized" or "reference"); nullptr when absent.
const distributed::StageReport* FindStageReport(const distributed::DistributedReport& report,
                                                const std::string& stage);

// Frames of each status in `s`.
int64_t StatusCount(const CascadeRunStats& s, labels::FrameStatus status);

}  // namespace dnoscope::bench
