#include "common/tensor_batching.h"

#include <vector>

#include "gtest/gtest.h"

namespace dnoscope {
namespace {

Tensor Rows(const std::string& name, std::vector<float> values, int64_t cols) {
  const int64_t rows = static_cast<int64_t>(values.size()) / cols;
  return Tensor::Fp32(name, {rows, cols}, values);
}

Tensor Strings(const std::string& name, std::vector<std::string> values) {
  Tensor t{.name = name, .dtype = DataType::kBytes};
  t.shape = {static_cast<int64_t>(values.size())};
  t.bytes = std::move(values);
  return t;
}

TEST(BatchSizeOfTest, ReturnsSharedDimZero) {
  auto n = BatchSizeOf({Rows("a", {1, 2, 3, 4}, 2), Strings("b", {"x", "y"})});
  ASSERT_TRUE(n.ok()) << n.status();
  EXPECT_EQ(*n, 2);
}

TEST(BatchSizeOfTest, RejectsInputsWithoutCommonBatchDim) {
  EXPECT_EQ(BatchSizeOf({}).status().code(), absl::StatusCode::kInvalidArgument);
  const float one = 1;
  EXPECT_EQ(BatchSizeOf({Tensor::Fp32("s", {}, {&one, 1})}).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(BatchSizeOf({Rows("a", {1, 2}, 1), Rows("b", {1, 2, 3}, 1)}).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(BatchSizeOf({Rows("a", {}, 1)}).status().code(), absl::StatusCode::kInvalidArgument);
  Tensor corrupt = Rows("a", {1, 2}, 1);
  corrupt.data.pop_back();
  EXPECT_EQ(BatchSizeOf({corrupt}).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(CanBatchTogetherTest, RequiresSameNamesTypesAndTrailingDims) {
  const std::vector<Tensor> base = {Rows("a", {1, 2}, 2)};
  EXPECT_TRUE(CanBatchTogether(base, {Rows("a", {1, 2, 3, 4}, 2)}));
  EXPECT_FALSE(CanBatchTogether(base, {Rows("a", {1, 2, 3}, 3)}));
  EXPECT_FALSE(CanBatchTogether(base, {Rows("b", {1, 2}, 2)}));
  EXPECT_FALSE(CanBatchTogether(base, {Rows("a", {1, 2}, 2), Rows("c", {1}, 1)}));
  const int64_t ints[] = {1, 2};
  EXPECT_FALSE(CanBatchTogether(base, {Tensor::Int64("a", {1, 2}, ints)}));
}

TEST(ConcatSplitTest, RoundTripsFixedAndBytesTensors) {
  const std::vector<Tensor> r1 = {Rows("a", {1, 2}, 2), Strings("s", {"p"})};
  const std::vector<Tensor> r2 = {Rows("a", {3, 4, 5, 6}, 2), Strings("s", {"q", "r"})};
  const std::vector<const std::vector<Tensor>*> requests = {&r1, &r2};
  const std::vector<Tensor> batched = ConcatBatch(requests);
  ASSERT_EQ(batched.size(), 2u);
  EXPECT_EQ(batched[0].shape, (std::vector<int64_t>{3, 2}));
  EXPECT_EQ(
      std::vector<float>(batched[0].Values<float>().begin(), batched[0].Values<float>().end()),
      (std::vector<float>{1, 2, 3, 4, 5, 6}));
  EXPECT_EQ(batched[1].bytes, (std::vector<std::string>{"p", "q", "r"}));

  const int64_t sizes[] = {1, 2};
  auto parts = SplitBatch(batched, sizes);
  ASSERT_TRUE(parts.ok()) << parts.status();
  ASSERT_EQ(parts->size(), 2u);
  EXPECT_EQ((*parts)[0][0].shape, (std::vector<int64_t>{1, 2}));
  EXPECT_EQ((*parts)[0][0].data, r1[0].data);
  EXPECT_EQ((*parts)[1][0].data, r2[0].data);
  EXPECT_EQ((*parts)[0][1].bytes, r1[1].bytes);
  EXPECT_EQ((*parts)[1][1].bytes, r2[1].bytes);
  EXPECT_EQ((*parts)[1][1].name, "s");
}

TEST(ConcatSplitTest, SplitRejectsOutputWithOtherBatchSize) {
  const int64_t sizes[] = {1, 2};
  EXPECT_EQ(SplitBatch({Rows("y", {1, 2}, 1)}, sizes).status().code(), absl::StatusCode::kInternal);
  const float one = 1;
  EXPECT_EQ(SplitBatch({Tensor::Fp32("y", {}, {&one, 1})}, sizes).status().code(),
            absl::StatusCode::kInternal);
}

}  // namespace
}  // namespace dnoscope
