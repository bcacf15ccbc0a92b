// Native serving structs -> KServe v2 gRPC messages (inference.proto), and the
// request fields the gRPC front end reads (versions, the timeout parameter).
// Internal to serving/grpc. Thread-safety: stateless free functions.
#pragma once

#include <chrono>
#include <cstdint>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "models/model_config.h"
#include "protocol/grpc/inference.pb.h"
#include "serving/inference_service.h"

namespace dnoscope::serving::grpc {

// A request's version field: "" -> -1 (any / the default), else a positive
// integer. InvalidArgument otherwise.
absl::StatusOr<int64_t> ParseVersion(std::string_view version);

// The request's "timeout" parameter in microseconds (int64 or uint64, as
// Triton); 0 when absent. InvalidArgument for another type or a negative value.
absl::StatusOr<std::chrono::microseconds> RequestTimeout(
    const inference::ModelInferRequest& request);

// Name, versions, platform and (when READY) the tensor signature and class names.
void ToProto(const ModelDescription& description, inference::ModelMetadataResponse* out);

// Triton's ModelConfig from config.json and, when READY, the signature
// (`description`); dims exclude the batch dimension when max_batch_size > 0.
void ToProto(const models::ModelConfig& config, const ModelDescription& description,
             inference::ModelConfig* out);

void ToProto(const VersionStatistics& stats, inference::ModelStatistics* out);

}  // namespace dnoscope::serving::grpc
