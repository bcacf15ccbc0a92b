// Identity model: returns its input "INPUT0" unchanged as "OUTPUT0". It does
// no work, so serving it measures the server's own overhead (protocol, HTTP,
// scheduling) — the "trivial model" of the serving benchmarks.
//
// With max_batch_size > 0 the tensors are [N, -1] (batch first); with 0 they
// are [-1] and any shape is accepted. The datatype comes from the config.
//
// Thread-safety: as Model (one instance per thread).
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "models/model.h"
#include "models/model_config.h"

namespace dnoscope::models {

inline constexpr char kIdentityInput[] = "INPUT0";
inline constexpr char kIdentityOutput[] = "OUTPUT0";

// InvalidArgument for an unknown datatype in config.identity.
absl::StatusOr<std::unique_ptr<Model>> CreateIdentityModel(const ModelConfig& config,
                                                           int64_t version);

}  // namespace dnoscope::models
