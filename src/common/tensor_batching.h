// Tensor helpers for dynamic batching: check that requests can share one
// execution, concatenate their inputs along dim 0, and split the outputs back.
//
// Batched requests follow one convention: every input of a request has
// rank >= 1 and the same dim 0, the request's batch size n. Two requests can
// be merged when they carry the same inputs in the same order with the same
// names, dtypes and dimensions past dim 0.
//
// Thread-safety: stateless functions; safe from any thread.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "absl/status/statusor.h"
#include "common/tensor.h"

namespace dnoscope {

// The batch size n shared by all `inputs`. InvalidArgument when there are no
// inputs, one is a scalar, one fails Tensor::Validate, their dim 0 differ, or
// n < 1.
absl::StatusOr<int64_t> BatchSizeOf(const std::vector<Tensor>& inputs);

// True when `a` and `b` can be concatenated along dim 0 (see file comment).
bool CanBatchTogether(const std::vector<Tensor>& a, const std::vector<Tensor>& b);

// Concatenates the requests' inputs along dim 0, input by input. Every
// request must have passed BatchSizeOf and CanBatchTogether with the first;
// `requests` must not be empty and its pointers must stay valid during the call.
std::vector<Tensor> ConcatBatch(std::span<const std::vector<Tensor>* const> requests);

// Splits every output along dim 0 into consecutive parts of `batch_sizes`
// rows; result[i] holds request i's outputs, in the model's output order.
// Internal when an output is invalid, a scalar, or its dim 0 is not the sum
// of `batch_sizes`.
absl::StatusOr<std::vector<std::vector<Tensor>>> SplitBatch(const std::vector<Tensor>& outputs,
                                                            std::span<const int64_t> batch_sizes);

}  // namespace dnoscope
