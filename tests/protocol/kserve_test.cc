#include "protocol/kserve.h"

#include <cmath>
#include <cstring>
#include <map>
#include <limits>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "protocol/test_tensors.h"

namespace dnoscope::protocol {
namespace {

using ::dnoscope::protocol::testing::BytesTensor;
using ::dnoscope::protocol::testing::ExpectTensorEq;
using ::dnoscope::protocol::testing::ExpectTensorsEq;
using ::dnoscope::protocol::testing::Int32Tensor;
using ::dnoscope::protocol::testing::OneTensorPerDatatype;
using ::testing::HasSubstr;
using ::testing::Not;

InferRequest RequestWith(std::vector<Tensor> inputs) {
  InferRequest request;
  request.id = "req-1";
  request.inputs = std::move(inputs);
  return request;
}

TEST(KserveRequestTest, RoundTripsEveryDatatypeAsJsonAndBinary) {
  for (bool binary : {false, true}) {
    for (const Tensor& tensor : OneTensorPerDatatype()) {
      SCOPED_TRACE(binary ? "binary" : "json");
      const InferRequest request = RequestWith({tensor});
      auto encoded = EncodeInferRequest(request, binary);
      ASSERT_TRUE(encoded.ok()) << encoded.status();
      EXPECT_EQ(encoded->json_length.has_value(), binary);
      auto decoded = DecodeInferRequest(encoded->body, encoded->json_length);
      ASSERT_TRUE(decoded.ok()) << decoded.status() << "\n" << encoded->body;
      EXPECT_EQ(decoded->id, "req-1");
      ExpectTensorsEq(decoded->inputs, request.inputs);
    }
  }
}

TEST(KserveRequestTest, RoundTripsAllDatatypesInOneBinaryRequest) {
  InferRequest request = RequestWith(OneTensorPerDatatype());
  request.outputs = {{"a", true}, {"b", false}, {"c", std::nullopt}};
  request.binary_data_output = true;
  request.parameters = {{"timeout", "5"}, {"priority", "high"}};
  auto encoded = EncodeInferRequest(request, /*binary_inputs=*/true);
  ASSERT_TRUE(encoded.ok()) << encoded.status();
  auto decoded = DecodeInferRequest(encoded->body, encoded->json_length);
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  ExpectTensorsEq(decoded->inputs, request.inputs);
  EXPECT_EQ(decoded->outputs, request.outputs);
  EXPECT_TRUE(decoded->binary_data_output);
  EXPECT_EQ(decoded->parameters, request.parameters);
}

TEST(KserveRequestTest, DecodesFlatAndNestedDataAlike) {
  const std::string flat =
      R"({"inputs":[{"name":"x","shape":[2,3],"datatype":"INT32","data":[1,2,3,4,5,6]}]})";
  const std::string nested =
      R"({"inputs":[{"name":"x","shape":[2,3],"datatype":"INT32","data":[[1,2,3],[4,5,6]]}]})";
  const Tensor want = Int32Tensor("x", {2, 3}, {1, 2, 3, 4, 5, 6});
  for (const std::string& body : {flat, nested}) {
    auto decoded = DecodeInferRequest(body, std::nullopt);
    ASSERT_TRUE(decoded.ok()) << decoded.status();
    ASSERT_EQ(decoded->inputs.size(), 1u);
    ExpectTensorEq(decoded->inputs[0], want);
  }
}

TEST(KserveRequestTest, DecodesDataThatPrecedesDatatype) {
  // "data" before "datatype" takes the buffered path; the result must be the same.
  const std::string body =
      R"({"inputs":[{"data":[0.5,2,-3],"name":"x","shape":[3],"datatype":"FP32"},
                    {"data":["a","b"],"shape":[2],"datatype":"BYTES","name":"s"}]})";
  auto decoded = DecodeInferRequest(body, std::nullopt);
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  const std::vector<float> values = {0.5f, 2.0f, -3.0f};
  ExpectTensorsEq(decoded->inputs,
                  {Tensor::Fp32("x", {3}, values), BytesTensor("s", {2}, {"a", "b"})});
}

TEST(KserveRequestTest, DecodesMixedJsonAndBinaryInputs) {
  const std::string json =
      R"({"inputs":[{"name":"a","shape":[2],"datatype":"INT32","parameters":{"binary_data_size":8}},)"
      R"({"name":"b","shape":[1],"datatype":"FP32","data":[1.5]},)"
      R"({"name":"c","shape":[2],"datatype":"BYTES","parameters":{"binary_data_size":11}}]})";
  std::string body = json;
  const int32_t a[] = {7, -9};
  body.append(reinterpret_cast<const char*>(a), sizeof(a));
  body.append(std::string("\x03\x00\x00\x00" "abc" "\x00\x00\x00\x00", 11));
  auto decoded = DecodeInferRequest(body, json.size());
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  const std::vector<float> b = {1.5f};
  ExpectTensorsEq(decoded->inputs, {Int32Tensor("a", {2}, {7, -9}), Tensor::Fp32("b", {1}, b),
                                    BytesTensor("c", {2}, {"abc", ""})});
}

TEST(KserveRequestTest, EncodesBytesWithLittleEndianLengthPrefixes) {
  auto encoded = EncodeInferRequest(RequestWith({BytesTensor("s", {2}, {"hi", std::string(258, 'x')})}),
                                    /*binary_inputs=*/true);
  ASSERT_TRUE(encoded.ok()) << encoded.status();
  ASSERT_TRUE(encoded->json_length.has_value());
  const std::string binary = encoded->body.substr(*encoded->json_length);
  EXPECT_EQ(binary.substr(0, 6), std::string("\x02\x00\x00\x00hi", 6));
  EXPECT_EQ(binary.substr(6, 4), std::string("\x02\x01\x00\x00", 4));
  EXPECT_EQ(binary.size(), 6u + 4u + 258u);
  EXPECT_THAT(encoded->body.substr(0, *encoded->json_length),
              HasSubstr(R"("parameters":{"binary_data_size":268})"));
}

TEST(KserveRequestTest, DecodesParametersAndRequestedOutputs) {
  const std::string body = R"({"id":"7","parameters":{"binary_data_output":true,"timeout":5,
      "tag":"x","flag":false},"inputs":[],
      "outputs":[{"name":"boxes","parameters":{"binary_data":false}},{"name":"scores"}]})";
  auto decoded = DecodeInferRequest(body, std::nullopt);
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_EQ(decoded->id, "7");
  EXPECT_TRUE(decoded->binary_data_output);
  const std::map<std::string, std::string> want = {{"timeout", "5"}, {"tag", "x"}, {"flag", "false"}};
  EXPECT_EQ(decoded->parameters, want);
  const std::vector<RequestedOutput> outputs = {{"boxes", false}, {"scores", std::nullopt}};
  EXPECT_EQ(decoded->outputs, outputs);
}

TEST(KserveRequestTest, ReadsFp32SpecialValuesBitExactly) {
  const std::vector<float> values = {0.1f,
                                     -0.0f,
                                     std::numeric_limits<float>::max(),
                                     std::numeric_limits<float>::denorm_min(),
                                     std::numeric_limits<float>::min(),
                                     16777217.0f,
                                     std::numeric_limits<float>::infinity(),
                                     -std::numeric_limits<float>::infinity()};
  const Tensor tensor = Tensor::Fp32("f", {static_cast<int64_t>(values.size())}, values);
  auto encoded = EncodeInferRequest(RequestWith({tensor}), /*binary_inputs=*/false);
  ASSERT_TRUE(encoded.ok()) << encoded.status();
  EXPECT_THAT(encoded->body, HasSubstr("[0.1,-0.0,3.4028235e+38,1e-45,"));
  auto decoded = DecodeInferRequest(encoded->body, std::nullopt);
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  ExpectTensorEq(decoded->inputs[0], tensor);
}

TEST(KserveRequestTest, WritesNanAsStringThatReadsBack) {
  const std::vector<float> values = {std::numeric_limits<float>::quiet_NaN()};
  auto encoded = EncodeInferRequest(RequestWith({Tensor::Fp32("f", {1}, values)}), false);
  ASSERT_TRUE(encoded.ok());
  EXPECT_THAT(encoded->body, HasSubstr(R"("data":["NaN"])"));
  auto decoded = DecodeInferRequest(encoded->body, std::nullopt);
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_TRUE(std::isnan(decoded->inputs[0].Values<float>()[0]));
}

TEST(KserveRequestTest, EncodeRejectsInvalidTensor) {
  Tensor broken = Int32Tensor("x", {3}, {1, 2});
  auto encoded = EncodeInferRequest(RequestWith({broken}), false);
  ASSERT_FALSE(encoded.ok());
  EXPECT_EQ(encoded.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(encoded.status().message()), HasSubstr("'x'"));
}

TEST(KserveResponseTest, EncodesJsonResponseExactly) {
  InferResponse response;
  response.model_name = "m";
  response.model_version = "1";
  response.id = "42";
  response.outputs = {Int32Tensor("y", {2}, {3, -4}), BytesTensor("s", {1}, {"a\"b"})};
  auto encoded = EncodeInferResponse(response, InferRequest{});
  ASSERT_TRUE(encoded.ok()) << encoded.status();
  EXPECT_FALSE(encoded->json_length.has_value());
  EXPECT_EQ(encoded->body,
            R"({"model_name":"m","model_version":"1","id":"42","outputs":[)"
            R"({"name":"y","datatype":"INT32","shape":[2],"data":[3,-4]},)"
            R"({"name":"s","datatype":"BYTES","shape":[1],"data":["a\"b"]}]})");
}

struct BinaryChoice {
  bool binary_data_output;
  std::optional<bool> output_flag;  // nullopt: the output is not listed at all.
  bool want_binary;
};

TEST(KserveResponseTest, ChoosesBinaryPerOutputFlagThenRequestDefault) {
  const BinaryChoice cases[] = {
      {false, std::nullopt, false}, {true, std::nullopt, true}, {false, true, true},
      {true, false, false},         {true, true, true},         {false, false, false},
  };
  for (const BinaryChoice& c : cases) {
    InferRequest request;
    request.binary_data_output = c.binary_data_output;
    if (c.output_flag.has_value()) request.outputs = {{"y", *c.output_flag}};
    InferResponse response;
    response.model_name = "m";
    response.outputs = {Int32Tensor("y", {1}, {5})};
    auto encoded = EncodeInferResponse(response, request);
    ASSERT_TRUE(encoded.ok());
    EXPECT_EQ(encoded->json_length.has_value(), c.want_binary)
        << c.binary_data_output << " " << c.output_flag.value_or(-1);
    auto decoded = DecodeInferResponse(encoded->body, encoded->json_length);
    ASSERT_TRUE(decoded.ok()) << decoded.status();
    ExpectTensorsEq(decoded->outputs, response.outputs);
  }
}

TEST(KserveResponseTest, RoundTripsEveryDatatypeAsJsonAndBinary) {
  InferResponse response;
  response.model_name = "detector";
  response.model_version = "3";
  response.id = "abc";
  response.outputs = OneTensorPerDatatype();
  for (bool binary : {false, true}) {
    InferRequest request;
    request.binary_data_output = binary;
    auto encoded = EncodeInferResponse(response, request);
    ASSERT_TRUE(encoded.ok()) << encoded.status();
    auto decoded = DecodeInferResponse(encoded->body, encoded->json_length);
    ASSERT_TRUE(decoded.ok()) << decoded.status();
    EXPECT_EQ(decoded->model_name, "detector");
    EXPECT_EQ(decoded->model_version, "3");
    EXPECT_EQ(decoded->id, "abc");
    ExpectTensorsEq(decoded->outputs, response.outputs);
  }
}

TEST(KserveResponseTest, JsonBytesReplaceInvalidUtf8) {
  InferResponse response;
  response.model_name = "m";
  response.outputs = {BytesTensor("s", {1}, {std::string("a\xff", 2)})};
  auto encoded = EncodeInferResponse(response, InferRequest{});
  ASSERT_TRUE(encoded.ok());
  auto decoded = DecodeInferResponse(encoded->body, std::nullopt);
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_EQ(decoded->outputs[0].bytes[0], "a\xEF\xBF\xBD");
}

TEST(KserveErrorTest, EncodesAndDecodesErrorBody) {
  const std::string body = EncodeError("model \"m\" not found");
  EXPECT_EQ(body, R"({"error":"model \"m\" not found"})");
  auto message = DecodeError(body);
  ASSERT_TRUE(message.ok());
  EXPECT_EQ(*message, "model \"m\" not found");
}

TEST(KserveMetadataTest, ServerMetadataRoundTrips) {
  const ServerMetadata metadata{"dnoscope", "0.1.0", {"binary_tensor_data", "model_repository"}};
  const std::string body = EncodeServerMetadata(metadata);
  EXPECT_THAT(body, HasSubstr(R"("extensions":["binary_tensor_data","model_repository"])"));
  auto decoded = DecodeServerMetadata(body);
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_EQ(*decoded, metadata);
}

TEST(KserveMetadataTest, ModelMetadataRoundTrips) {
  ModelMetadataResponse metadata;
  metadata.name = "yolo";
  metadata.versions = {"1", "2"};
  metadata.platform = "onnxruntime_onnx";
  metadata.inputs = {{"images", DataType::kUint8, {-1, 3, 640, 640}}};
  metadata.outputs = {{"boxes", DataType::kFp32, {-1, 4}}, {"labels", DataType::kBytes, {-1}}};
  const std::string body = EncodeModelMetadata(metadata);
  EXPECT_THAT(body, HasSubstr(R"({"datatype":"UINT8","name":"images","shape":[-1,3,640,640]})"));
  auto decoded = DecodeModelMetadata(body);
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_EQ(*decoded, metadata);
}

TEST(KserveMetadataTest, DnoscopeExtensionsRoundTripAndAreOmittedWhenEmpty) {
  ModelMetadataResponse metadata;
  metadata.name = "people";
  metadata.platform = "hog";
  const std::string plain = EncodeModelMetadata(metadata);
  EXPECT_THAT(plain, Not(HasSubstr("state")));
  EXPECT_THAT(plain, Not(HasSubstr("class_names")));
  metadata.state = "UNAVAILABLE";
  metadata.reason = "bad config";
  metadata.class_names = {"person", "car"};
  auto decoded = DecodeModelMetadata(EncodeModelMetadata(metadata));
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_EQ(*decoded, metadata);
}

struct MetadataError {
  std::string body;
  std::string message;
};

TEST(KserveMetadataTest, RejectsMalformedMetadata) {
  const MetadataError cases[] = {
      {R"({"name":"m","platform":"p","inputs":[],"outputs":[{"name":"o","datatype":"FP64","shape":[1]}]})",
       "output 'o': unsupported datatype 'FP64'"},
      {R"({"name":"m","platform":"p","inputs":[{"name":"i","datatype":"FP32","shape":[-2]}],"outputs":[]})",
       "input 'i': 'shape' [-2] has a negative dimension"},
      {R"({"name":"m","platform":"p","inputs":[{"name":"i","datatype":"FP32"}],"outputs":[]})",
       "input 'i': missing required field 'shape'"},
      {R"({"platform":"p","inputs":[],"outputs":[]})", "missing required field 'name'"},
      {R"({"name":"m","platform":"p","inputs":{},"outputs":[]})", "'inputs' must be an array"},
      {R"({"name":"m","versions":[1],"platform":"p","inputs":[],"outputs":[]})",
       "'versions' must contain strings"},
      {"{", "malformed JSON"},
  };
  for (const MetadataError& c : cases) {
    auto decoded = DecodeModelMetadata(c.body);
    ASSERT_FALSE(decoded.ok()) << c.body;
    EXPECT_EQ(decoded.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(std::string(decoded.status().message()), HasSubstr(c.message)) << c.body;
  }
  auto server = DecodeServerMetadata(R"({"name":"x"})");
  ASSERT_FALSE(server.ok());
  EXPECT_THAT(std::string(server.status().message()), HasSubstr("'version'"));
}

}  // namespace
}  // namespace dnoscope::protocol
