// The KServe v2 gRPC tensor codec: raw contents round trips for every
// datatype, typed contents, and the malformed messages it rejects.
#include "protocol/grpc/kserve_grpc.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace dnoscope::protocol {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

std::vector<Tensor> EveryDatatype() {
  Tensor bytes{.name = "s", .dtype = DataType::kBytes, .shape = {3}};
  bytes.bytes = {"", "a", std::string("\0\xff", 2)};
  const uint8_t pixels[] = {0, 128, 255, 7};
  return {Tensor::Fp32("f", {2, 1}, std::vector<float>{1.5f, -2}),
          Tensor::Int64("i", {1}, std::vector<int64_t>{-(int64_t{1} << 40)}),
          Tensor::Uint8("u", {2, 2}, pixels, 4),
          Tensor{.name = "n", .dtype = DataType::kInt32, .shape = {1}, .data = {1, 0, 0, 0}},
          bytes};
}

TEST(KserveGrpcTest, RawContentsRoundTripEveryDatatype) {
  inference::ModelInferRequest request;
  ASSERT_TRUE(EncodeInferInputs(EveryDatatype(), &request).ok());
  EXPECT_EQ(request.raw_input_contents_size(), 5);
  auto inputs = DecodeInferInputs(request);
  ASSERT_TRUE(inputs.ok()) << inputs.status();
  const std::vector<Tensor> want = EveryDatatype();
  ASSERT_EQ(inputs->size(), want.size());
  for (size_t i = 0; i < want.size(); ++i) {
    EXPECT_EQ((*inputs)[i].name, want[i].name);
    EXPECT_EQ((*inputs)[i].dtype, want[i].dtype);
    EXPECT_EQ((*inputs)[i].shape, want[i].shape);
    EXPECT_EQ((*inputs)[i].data, want[i].data);
    EXPECT_EQ((*inputs)[i].bytes, want[i].bytes);
  }
  inference::ModelInferResponse response;
  ASSERT_TRUE(EncodeInferOutputs(EveryDatatype(), &response).ok());
  auto outputs = DecodeInferOutputs(response);
  ASSERT_TRUE(outputs.ok()) << outputs.status();
  EXPECT_EQ((*outputs)[4].bytes, want[4].bytes);
}

TEST(KserveGrpcTest, TypedContentsDecodeIntoTheDatatype) {
  inference::ModelInferRequest request;
  auto* u = request.add_inputs();
  u->set_name("u");
  u->set_datatype("UINT8");
  u->add_shape(3);
  for (uint32_t v : {0u, 9u, 255u}) u->mutable_contents()->add_uint_contents(v);
  auto* i = request.add_inputs();
  i->set_name("i");
  i->set_datatype("INT64");
  i->add_shape(1);
  i->mutable_contents()->add_int64_contents(-5);
  auto* s = request.add_inputs();
  s->set_name("s");
  s->set_datatype("BYTES");
  s->add_shape(1);
  s->mutable_contents()->add_bytes_contents("xyz");
  auto inputs = DecodeInferInputs(request);
  ASSERT_TRUE(inputs.ok()) << inputs.status();
  EXPECT_THAT((*inputs)[0].data, ElementsAre(0, 9, 255));
  EXPECT_THAT((*inputs)[1].Values<int64_t>(), ElementsAre(-5));
  EXPECT_THAT((*inputs)[2].bytes, ElementsAre("xyz"));
}

struct BadCase {
  std::string name;
  std::function<void(inference::ModelInferRequest*)> mutate;
  std::string message;
};

TEST(KserveGrpcTest, MalformedTensorsAreInvalidArgumentNamingTheProblem) {
  const std::vector<BadCase> cases = {
      {"uint8 out of range",
       [](auto* r) {
         r->clear_raw_input_contents();
         r->mutable_inputs(0)->set_datatype("UINT8");
         for (int k = 0; k < 2; ++k) r->mutable_inputs(0)->mutable_contents()->add_uint_contents(256);
       },
       "out of range for UINT8"},
      {"typed contents in the wrong field",
       [](auto* r) {
         r->clear_raw_input_contents();
         r->mutable_inputs(0)->mutable_contents()->add_int_contents(1);
       },
       "fp32_contents, got 0"},
      {"raw and typed contents",
       [](auto* r) { r->mutable_inputs(0)->mutable_contents()->add_fp32_contents(1); },
       "both contents and raw_input_contents"},
      {"duplicate input",
       [](auto* r) {
         *r->add_inputs() = r->inputs(0);
         *r->add_raw_input_contents() = r->raw_input_contents(0);
       },
       "duplicate input 'f'"},
      {"raw BYTES length past the end",
       [](auto* r) {
         r->mutable_inputs(0)->set_datatype("BYTES");
         r->mutable_inputs(0)->clear_shape();
         r->mutable_inputs(0)->add_shape(1);
         *r->mutable_raw_input_contents(0) = std::string("\x09\0\0\0ab", 6);
       },
       "length 9"},
      {"rank over the limit",
       [](auto* r) {
         for (int k = 0; k < 40; ++k) r->mutable_inputs(0)->add_shape(1);
       },
       "rank"},
  };
  for (const BadCase& c : cases) {
    SCOPED_TRACE(c.name);
    inference::ModelInferRequest request;
    ASSERT_TRUE(
        EncodeInferInputs({Tensor::Fp32("f", {2}, std::vector<float>{1, 2})}, &request).ok());
    c.mutate(&request);
    auto inputs = DecodeInferInputs(request);
    EXPECT_EQ(inputs.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(std::string(inputs.status().message()), HasSubstr(c.message));
  }
}

TEST(KserveGrpcTest, EncodingAnInvalidTensorFails) {
  inference::ModelInferRequest request;
  Tensor broken = Tensor::Fp32("f", {3}, std::vector<float>{1, 2});
  EXPECT_EQ(EncodeInferInputs({broken}, &request).code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace dnoscope::protocol
