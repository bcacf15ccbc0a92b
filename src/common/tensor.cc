#include "common/tensor.h"

#include <cstring>

#include "absl/status/status.h"
#include "fmt/format.h"
#include "fmt/ranges.h"

namespace dnoscope {
namespace {

template <typename T>
Tensor MakeTensor(std::string name, DataType dtype, std::vector<int64_t> shape,
                  std::span<const T> values) {
  Tensor t;
  t.name = std::move(name);
  t.dtype = dtype;
  t.shape = std::move(shape);
  t.data.resize(values.size_bytes());
  if (!values.empty()) std::memcpy(t.data.data(), values.data(), values.size_bytes());
  return t;
}

}  // namespace

std::string_view DataTypeName(DataType type) {
  switch (type) {
    case DataType::kUint8:
      return "UINT8";
    case DataType::kInt32:
      return "INT32";
    case DataType::kInt64:
      return "INT64";
    case DataType::kFp32:
      return "FP32";
    case DataType::kBytes:
      return "BYTES";
  }
  return "UNKNOWN";
}

absl::StatusOr<DataType> DataTypeFromName(std::string_view name) {
  for (DataType t :
       {DataType::kUint8, DataType::kInt32, DataType::kInt64, DataType::kFp32, DataType::kBytes}) {
    if (DataTypeName(t) == name) return t;
  }
  return absl::InvalidArgumentError(
      fmt::format("unsupported datatype '{}' (expected UINT8, INT32, INT64, FP32 or BYTES)", name));
}

size_t DataTypeSize(DataType type) {
  switch (type) {
    case DataType::kUint8:
      return 1;
    case DataType::kInt32:
      return 4;
    case DataType::kInt64:
      return 8;
    case DataType::kFp32:
      return 4;
    case DataType::kBytes:
      return 0;
  }
  return 0;
}

int64_t Tensor::NumElements() const {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

absl::Status Tensor::Validate() const {
  for (int64_t d : shape) {
    if (d < 0) {
      return absl::InvalidArgumentError(
          fmt::format("tensor '{}' has negative dimension in shape {}", name, ShapeString(shape)));
    }
  }
  const int64_t n = NumElements();
  if (dtype == DataType::kBytes) {
    if (static_cast<int64_t>(bytes.size()) != n) {
      return absl::InvalidArgumentError(
          fmt::format("tensor '{}' of shape {} needs {} BYTES elements, got {}", name,
                      ShapeString(shape), n, bytes.size()));
    }
    return absl::OkStatus();
  }
  const size_t want = static_cast<size_t>(n) * DataTypeSize(dtype);
  if (data.size() != want) {
    return absl::InvalidArgumentError(
        fmt::format("tensor '{}' of shape {} and type {} needs {} bytes, got {}", name,
                    ShapeString(shape), DataTypeName(dtype), want, data.size()));
  }
  return absl::OkStatus();
}

Tensor Tensor::Fp32(std::string name, std::vector<int64_t> shape, std::span<const float> values) {
  return MakeTensor<float>(std::move(name), DataType::kFp32, std::move(shape), values);
}

Tensor Tensor::Int64(std::string name, std::vector<int64_t> shape,
                     std::span<const int64_t> values) {
  return MakeTensor<int64_t>(std::move(name), DataType::kInt64, std::move(shape), values);
}

Tensor Tensor::Uint8(std::string name, std::vector<int64_t> shape, const uint8_t* values,
                     size_t size) {
  return MakeTensor<uint8_t>(std::move(name), DataType::kUint8, std::move(shape),
                             std::span<const uint8_t>(values, size));
}

const Tensor* FindTensor(const std::vector<Tensor>& tensors, std::string_view name) {
  for (const Tensor& t : tensors) {
    if (t.name == name) return &t;
  }
  return nullptr;
}

std::string ShapeString(std::span<const int64_t> shape) {
  return fmt::format("[{}]", fmt::join(shape, ","));
}

}  // namespace dnoscope
