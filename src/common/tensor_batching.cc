#include "common/tensor_batching.h"

#include <algorithm>
#include <numeric>
#include <utility>

#include "absl/status/status.h"
#include "fmt/format.h"

namespace dnoscope {
namespace {

bool SameTrailingDims(const std::vector<int64_t>& a, const std::vector<int64_t>& b) {
  return a.size() == b.size() && !a.empty() && std::equal(a.begin() + 1, a.end(), b.begin() + 1);
}

// Copies rows [first, first + count) of `batched` (valid, rank >= 1).
Tensor SliceRows(const Tensor& batched, int64_t first, int64_t count) {
  const int64_t rows = batched.shape[0];
  Tensor part;
  part.name = batched.name;
  part.dtype = batched.dtype;
  part.shape = batched.shape;
  part.shape[0] = count;
  if (batched.dtype == DataType::kBytes) {
    const int64_t per_row = rows == 0 ? 0 : static_cast<int64_t>(batched.bytes.size()) / rows;
    auto begin = batched.bytes.begin() + first * per_row;
    part.bytes.assign(begin, begin + count * per_row);
  } else {
    const int64_t per_row = rows == 0 ? 0 : static_cast<int64_t>(batched.data.size()) / rows;
    auto begin = batched.data.begin() + first * per_row;
    part.data.assign(begin, begin + count * per_row);
  }
  return part;
}

}  // namespace

absl::StatusOr<int64_t> BatchSizeOf(const std::vector<Tensor>& inputs) {
  if (inputs.empty()) return absl::InvalidArgumentError("a batched request needs inputs");
  const Tensor& first = inputs.front();
  for (const Tensor& input : inputs) {
    if (absl::Status status = input.Validate(); !status.ok()) return status;
    if (input.shape.empty()) {
      return absl::InvalidArgumentError(
          fmt::format("input '{}' has no batch dimension (shape [])", input.name));
    }
    if (input.shape[0] != first.shape[0]) {
      return absl::InvalidArgumentError(
          fmt::format("inputs disagree on the batch size: '{}' has {}, '{}' has {}", first.name,
                      first.shape[0], input.name, input.shape[0]));
    }
  }
  if (first.shape[0] < 1) {
    return absl::InvalidArgumentError(
        fmt::format("batch size must be >= 1, input '{}' has {}", first.name, first.shape[0]));
  }
  return first.shape[0];
}

bool CanBatchTogether(const std::vector<Tensor>& a, const std::vector<Tensor>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i].name != b[i].name || a[i].dtype != b[i].dtype ||
        !SameTrailingDims(a[i].shape, b[i].shape)) {
      return false;
    }
  }
  return true;
}

std::vector<Tensor> ConcatBatch(std::span<const std::vector<Tensor>* const> requests) {
  const std::vector<Tensor>& first = *requests.front();
  std::vector<Tensor> batched(first.size());
  for (size_t i = 0; i < first.size(); ++i) {
    Tensor& out = batched[i];
    out.name = first[i].name;
    out.dtype = first[i].dtype;
    out.shape = first[i].shape;
    out.shape[0] = 0;
    for (const std::vector<Tensor>* request : requests) {
      const Tensor& part = (*request)[i];
      out.shape[0] += part.shape[0];
      out.data.insert(out.data.end(), part.data.begin(), part.data.end());
      out.bytes.insert(out.bytes.end(), part.bytes.begin(), part.bytes.end());
    }
  }
  return batched;
}

absl::StatusOr<std::vector<std::vector<Tensor>>> SplitBatch(const std::vector<Tensor>& outputs,
                                                            std::span<const int64_t> batch_sizes) {
  const int64_t total = std::accumulate(batch_sizes.begin(), batch_sizes.end(), int64_t{0});
  for (const Tensor& output : outputs) {
    if (!output.Validate().ok() || output.shape.empty() || output.shape[0] != total) {
      return absl::InternalError(
          fmt::format("output '{}' with shape {} cannot be split into the batch of {} items",
                      output.name, ShapeString(output.shape), total));
    }
  }
  std::vector<std::vector<Tensor>> parts(batch_sizes.size());
  for (const Tensor& output : outputs) {
    int64_t first = 0;
    for (size_t r = 0; r < batch_sizes.size(); ++r) {
      parts[r].push_back(SliceRows(output, first, batch_sizes[r]));
      first += batch_sizes[r];
    }
  }
  return parts;
}

}  // namespace dnoscope
