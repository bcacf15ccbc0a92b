// Checks of request tensors against what a model declares, made by the
// inference service for every front end, so that a bad request fails with
// InvalidArgument naming the tensor, the expected type/shape and what was
// sent — before it queues.
//
// Pure functions; thread-safe.
#pragma once

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/tensor.h"
#include "models/model.h"

namespace dnoscope::serving {

// InvalidArgument when an input is unknown, duplicated, missing (unless the
// model marks it optional), of the wrong datatype (an encoded image as BYTES
// of one element is allowed where the model accepts one), of the wrong
// rank or fixed dimension, or with a batch outside 1..max_batch_size.
absl::Status CheckInputs(const models::ModelMetadata& model, const std::vector<Tensor>& inputs);

// The outputs to compute: `requested` when given (InvalidArgument for names
// the model does not declare or duplicates), else every output not marked
// on_request.
absl::StatusOr<std::vector<std::string>> ResolveOutputs(const models::ModelMetadata& model,
                                                        const std::vector<std::string>& requested);

// "image UINT8 [-1,-1,3], frame_index INT64 [1] (optional)".
std::string DescribeInputs(const models::ModelMetadata& model);

}  // namespace dnoscope::serving
