#include "common/tensor.h"

#include <vector>

#include "gtest/gtest.h"

namespace dnoscope {
namespace {

TEST(TensorTest, DataTypeNamesRoundTrip) {
  for (DataType t :
       {DataType::kUint8, DataType::kInt32, DataType::kInt64, DataType::kFp32, DataType::kBytes}) {
    auto parsed = DataTypeFromName(DataTypeName(t));
    ASSERT_TRUE(parsed.ok());
    EXPECT_EQ(*parsed, t);
  }
  EXPECT_FALSE(DataTypeFromName("FP64").ok());
}

TEST(TensorTest, Fp32ValuesAndValidate) {
  std::vector<float> v = {1, 2, 3, 4, 5, 6};
  Tensor t = Tensor::Fp32("x", {2, 3}, v);
  EXPECT_EQ(t.NumElements(), 6);
  EXPECT_TRUE(t.Validate().ok());
  EXPECT_EQ(t.Values<float>()[4], 5.0f);
  t.shape = {2, 4};
  EXPECT_FALSE(t.Validate().ok());
}

TEST(TensorTest, BytesValidateCountsElements) {
  Tensor t;
  t.name = "b";
  t.dtype = DataType::kBytes;
  t.shape = {2};
  t.bytes = {"a"};
  EXPECT_FALSE(t.Validate().ok());
  t.bytes.push_back("bc");
  EXPECT_TRUE(t.Validate().ok());
}

TEST(TensorTest, NegativeDimensionIsInvalid) {
  Tensor t = Tensor::Fp32("x", {-1}, {});
  EXPECT_FALSE(t.Validate().ok());
}

TEST(TensorTest, FindTensorByName) {
  std::vector<Tensor> ts = {Tensor::Fp32("a", {0}, {}), Tensor::Fp32("b", {0}, {})};
  EXPECT_EQ(FindTensor(ts, "b"), &ts[1]);
  EXPECT_EQ(FindTensor(ts, "c"), nullptr);
  EXPECT_EQ(ShapeString(std::vector<int64_t>{1, -1, 3}), "[1,-1,3]");
}

}  // namespace
}  // namespace dnoscope
