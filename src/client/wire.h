// The client side of the serving protocols over HTTP: builds the HttpCall for
// an inference, health or metadata request in KServe v2 (binary tensor
// extension or JSON) or TF Serving REST form, and turns the HttpResult back
// into tensors, metadata or a Status. The protocol codecs themselves live in
// src/protocol; this file only adds targets, headers and status mapping.
// HttpTransport (http_transport.h) is its only user outside tests.
//
// Pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "client/http_client.h"
#include "common/tensor.h"
#include "models/model.h"

namespace dnoscope::client {

enum class WireFormat {
  kKserveBinary,  // "kserve": KServe v2 with the binary tensor extension (default)
  kKserveJson,    // "kserve-json": KServe v2, tensors as JSON
  kTfServing,     // "tfserving": TF Serving REST, columnar ("inputs"/"outputs")
  kKserveGrpc,    // "kserve-grpc": KServe v2 over gRPC, raw tensor contents. Not an HTTP
                  // format: GrpcTransport carries it (ConnectRemoteStage picks it) and the
                  // functions below never see it.
};

// InvalidArgument listing the accepted names.
absl::StatusOr<WireFormat> ParseWireFormat(std::string_view name);
std::string_view WireFormatName(WireFormat format);

// The inference call for `model` (`version` -1: the server's default).
// `outputs` empty: the model's default outputs (TF Serving cannot select).
// InvalidArgument for tensors the codecs reject.
absl::StatusOr<HttpCall> EncodeInferCall(WireFormat format, const std::string& model,
                                         int64_t version, const std::vector<Tensor>& inputs,
                                         const std::vector<std::string>& outputs);

// The outputs of a 2xx response; for any other status the server's error
// (see StatusFromHttp). `model` declares output datatypes, which TF Serving's
// JSON needs.
absl::StatusOr<std::vector<Tensor>> DecodeInferResult(WireFormat format, const HttpResult& result,
                                                      const models::ModelMetadata& model);

// GET the server's readiness (KServe /v2/health/ready; TF Serving has no
// server-level check, so its model status endpoint).
HttpCall ReadinessCall(WireFormat format, const std::string& model);
// GET the model's metadata.
HttpCall MetadataCall(WireFormat format, const std::string& model, int64_t version);
// Inputs, outputs, class names (KServe from dnoscope servers only) and
// platform of a metadata response; errors as DecodeInferResult.
absl::StatusOr<models::ModelMetadata> DecodeMetadataResult(WireFormat format,
                                                           const HttpResult& result);

// A non-2xx response as a Status with the server's message: 400 ->
// InvalidArgument, 404 -> NotFound, 429 -> ResourceExhausted, 501 ->
// Unimplemented, 503 -> Unavailable, 504 -> DeadlineExceeded, other -> Internal.
absl::Status StatusFromHttp(const HttpResult& result);

}  // namespace dnoscope::client
