// The one-call way to a remote stage: parse the endpoint list a user gave,
// build the transport for the chosen protocol, connect a RemoteModel (which
// fetches the model's metadata). Command-line tools, benchmarks and tests
// use this; code that brings its own Transport calls RemoteModel directly.
//
// Thread-safety: free functions, safe from any thread (ConnectRemoteStage
// blocks on the network).
#pragma once

#include <memory>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "client/endpoint.h"
#include "client/grpc_transport.h"
#include "client/http_transport.h"
#include "client/remote_model.h"
#include "common/clock.h"

namespace dnoscope::client {

// A transport over `endpoints` under RemoteModel::Connect: an HttpTransport
// (`transport.format` KServe binary/JSON or TF Serving), or a GrpcTransport
// (default options) for kserve-grpc. Errors as the transport's Create
// and RemoteModel::Connect: InvalidArgument for bad endpoints or options,
// the server's error (e.g. NotFound for an unknown model), Unavailable
// naming every endpoint's error when none answers. `clock` is not owned and
// must outlive the model.
absl::StatusOr<std::unique_ptr<RemoteModel>> ConnectRemoteStage(
    std::vector<Endpoint> endpoints, const RemoteModelOptions& options,
    const HttpTransportOptions& transport = {}, Clock* clock = Clock::Real());

// Parses a comma-separated endpoint list ("http://a:8001, http://b:8001").
// InvalidArgument naming the bad element; an empty list is an error.
absl::StatusOr<std::vector<Endpoint>> ParseEndpointList(std::string_view list);

}  // namespace dnoscope::client
