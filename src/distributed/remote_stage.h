// Forwarding adapter, to be deleted with src/distributed: the old
// distributed::ModelStage interface over client::RemoteModel, which is a
// models::ModelStage itself (client/remote_model.h, client/remote_stage.h).
// Thread-safety: as ModelStage.
#pragma once

#include <memory>
#include <vector>

#include "absl/status/statusor.h"
#include "client/endpoint.h"
#include "client/http_transport.h"
#include "client/remote_model.h"
#include "client/remote_stage.h"
#include "common/clock.h"
#include "distributed/model_stage.h"

namespace dnoscope::distributed {

// client::ConnectRemoteStage behind distributed::ModelStage; errors as there.
absl::StatusOr<std::unique_ptr<ModelStage>> MakeRemoteStage(
    std::vector<client::Endpoint> endpoints, const client::RemoteModelOptions& options,
    const client::HttpTransportOptions& transport = {}, Clock* clock = Clock::Real());

using client::ParseEndpointList;

}  // namespace dnoscope::distributed
