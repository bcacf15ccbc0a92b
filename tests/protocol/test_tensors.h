// Tensor builders and comparisons shared by the protocol tests.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "common/tensor.h"
#include "gtest/gtest.h"

namespace dnoscope::protocol::testing {

inline Tensor Int32Tensor(std::string name, std::vector<int64_t> shape,
                          std::vector<int32_t> values) {
  Tensor t;
  t.name = std::move(name);
  t.dtype = DataType::kInt32;
  t.shape = std::move(shape);
  t.data.resize(values.size() * sizeof(int32_t));
  if (!values.empty()) std::memcpy(t.data.data(), values.data(), t.data.size());
  return t;
}

inline Tensor BytesTensor(std::string name, std::vector<int64_t> shape,
                          std::vector<std::string> values) {
  Tensor t;
  t.name = std::move(name);
  t.dtype = DataType::kBytes;
  t.shape = std::move(shape);
  t.bytes = std::move(values);
  return t;
}

inline Tensor Uint8Tensor(std::string name, std::vector<int64_t> shape,
                          std::vector<uint8_t> values) {
  return Tensor::Uint8(std::move(name), std::move(shape), values.data(), values.size());
}

// One small tensor of each datatype, named after it, with awkward values (extremes, negative
// zero, non-ASCII and embedded NULs for BYTES).
inline std::vector<Tensor> OneTensorPerDatatype() {
  const std::vector<float> floats = {0.1f, -0.0f, 3.4028235e38f, 1e-45f, -2.5f, 16777216.0f};
  const std::vector<int64_t> int64s = {INT64_MIN, INT64_MAX, 0, -1};
  return {
      Uint8Tensor("UINT8", {2, 2}, {0, 1, 128, 255}),
      Int32Tensor("INT32", {3}, {INT32_MIN, INT32_MAX, -7}),
      Tensor::Int64("INT64", {2, 2}, int64s),
      Tensor::Fp32("FP32", {2, 3}, floats),
      BytesTensor("BYTES", {3}, {"plain", "", "caf\xc3\xa9 \"q\" \\ \n"}),
  };
}

inline void ExpectTensorEq(const Tensor& actual, const Tensor& expected) {
  SCOPED_TRACE("tensor '" + expected.name + "'");
  EXPECT_EQ(actual.name, expected.name);
  EXPECT_EQ(actual.dtype, expected.dtype);
  EXPECT_EQ(actual.shape, expected.shape);
  EXPECT_EQ(actual.data, expected.data);
  EXPECT_EQ(actual.bytes, expected.bytes);
}

inline void ExpectTensorsEq(const std::vector<Tensor>& actual,
                            const std::vector<Tensor>& expected) {
  ASSERT_EQ(actual.size(), expected.size());
  for (size_t i = 0; i < actual.size(); ++i) ExpectTensorEq(actual[i], expected[i]);
}

}  // namespace dnoscope::protocol::testing
