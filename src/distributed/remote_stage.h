// The remote models::ModelStage: a client::RemoteModel (load-balanced, retried,
// ejecting failing endpoints) behind the ModelStage interface.
// Thread-safety: as ModelStage.
#pragma once

#include <memory>
#include <vector>

#include "absl/status/statusor.h"
#include "client/endpoint.h"
#include "client/remote_model.h"
#include "common/clock.h"
#include "models/model_stage.h"

namespace dnoscope::distributed {

// Creates the client and fetches the model's metadata from the first
// endpoint that answers (blocking). Unavailable naming every endpoint's
// error when none answers; the server's error (e.g. NotFound for an unknown
// model) otherwise. A non-empty `class_names` replaces the detector class
// names the server reports (TF Serving metadata has none).
absl::StatusOr<std::unique_ptr<models::ModelStage>> MakeRemoteStage(
    std::vector<client::Endpoint> endpoints, const client::RemoteModelOptions& options,
    Clock* clock = Clock::Real(), std::vector<std::string> class_names = {});

// Parses a comma-separated endpoint list ("http://a:8001,http://b:8001").
// InvalidArgument naming the bad element; an empty list is an error.
absl::StatusOr<std::vector<client::Endpoint>> ParseEndpointList(std::string_view list);

}  // namespace dnoscope::distributed
