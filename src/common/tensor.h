// A named, typed, dense tensor: the unit of data models consume and produce,
// and that the serving protocols (KServe v2, TF Serving) carry on the wire.
// Thread-safety: a Tensor is a value type; distinct objects may be used from
// distinct threads, a shared one only for reading.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace dnoscope {

// The datatypes dnoscope understands; names follow the KServe v2 protocol.
enum class DataType { kUint8, kInt32, kInt64, kFp32, kBytes };

// "UINT8", "INT32", "INT64", "FP32", "BYTES".
std::string_view DataTypeName(DataType type);
// Inverse of DataTypeName; InvalidArgument for unknown names.
absl::StatusOr<DataType> DataTypeFromName(std::string_view name);
// Bytes per element; 0 for kBytes (variable length).
size_t DataTypeSize(DataType type);

struct Tensor {
  std::string name;
  DataType dtype = DataType::kFp32;
  std::vector<int64_t> shape;
  // Fixed-size types: the elements, row-major, native (little-endian) byte order.
  std::vector<uint8_t> data;
  // kBytes only: one string per element.
  std::vector<std::string> bytes;

  // Product of the dimensions (1 for a scalar).
  int64_t NumElements() const;

  // Typed views of `data`. The caller must have checked dtype.
  template <typename T>
  std::span<const T> Values() const {
    return {reinterpret_cast<const T*>(data.data()), data.size() / sizeof(T)};
  }
  template <typename T>
  std::span<T> MutableValues() {
    return {reinterpret_cast<T*>(data.data()), data.size() / sizeof(T)};
  }

  // OK when data size matches shape and dtype (or bytes count for kBytes).
  absl::Status Validate() const;

  static Tensor Fp32(std::string name, std::vector<int64_t> shape, std::span<const float> values);
  static Tensor Int64(std::string name, std::vector<int64_t> shape,
                      std::span<const int64_t> values);
  // Copies `size` bytes of UINT8 data.
  static Tensor Uint8(std::string name, std::vector<int64_t> shape, const uint8_t* values,
                      size_t size);
};

// Finds the tensor called `name`; nullptr when absent. `tensors` must outlive the result.
const Tensor* FindTensor(const std::vector<Tensor>& tensors, std::string_view name);

// Human-readable "[1,3,-1]".
std::string ShapeString(std::span<const int64_t> shape);

}  // namespace dnoscope
