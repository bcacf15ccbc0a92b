#include "protocol/tfserving.h"

#include <string>
#include <vector>

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
using ::dnoscope::protocol::testing::Uint8Tensor;
using ::testing::HasSubstr;

const std::vector<TensorInfo> kImageModel = {{"image", DataType::kUint8, {-1, 2, 2}},
                                             {"key", DataType::kBytes, {-1}}};
const std::vector<TensorInfo> kSingleInput = {{"x", DataType::kInt32, {-1, 2}}};

TEST(TfPredictRequestTest, DecodesRowFormatWithNamedInputs) {
  const std::string body = R"({"signature_name":"serving_default","instances":[
      {"image":[[1,2],[3,4]],"key":"a"},
      {"image":[[5,6],[7,255]],"key":{"b64":"AP8="}}]})";
  auto decoded = DecodePredictRequest(body, kImageModel);
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_EQ(decoded->format, TfFormat::kRow);
  EXPECT_EQ(decoded->signature_name, "serving_default");
  ExpectTensorsEq(decoded->inputs, {Uint8Tensor("image", {2, 2, 2}, {1, 2, 3, 4, 5, 6, 7, 255}),
                                    BytesTensor("key", {2}, {"a", std::string("\0\xff", 2)})});
}

TEST(TfPredictRequestTest, DecodesRowFormatWithBareValuesForSingleInput) {
  auto decoded = DecodePredictRequest(R"({"instances":[[1,2],[3,4],[5,6]]})", kSingleInput);
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  ASSERT_EQ(decoded->inputs.size(), 1u);
  ExpectTensorEq(decoded->inputs[0], Int32Tensor("x", {3, 2}, {1, 2, 3, 4, 5, 6}));
}

TEST(TfPredictRequestTest, DecodesRowFormatWithBareScalarsAndB64) {
  const std::vector<TensorInfo> model = {{"s", DataType::kBytes, {-1}}};
  auto decoded = DecodePredictRequest(R"({"instances":[{"b64":"aGk="},"raw"]})", model);
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  ExpectTensorEq(decoded->inputs[0], BytesTensor("s", {2}, {"hi", "raw"}));
}

TEST(TfPredictRequestTest, BytesAllowedInputTakesNumbersOrEncodedBytes) {
  const std::vector<TensorInfo> model = {
      {"image", DataType::kUint8, {-1, -1, 3}, /*bytes_allowed=*/true}};
  auto encoded = DecodePredictRequest(R"({"instances": [{"image": {"b64": "/9j/"}}]})", model);
  ASSERT_TRUE(encoded.ok()) << encoded.status();
  EXPECT_EQ(encoded->inputs[0].dtype, DataType::kBytes);
  EXPECT_EQ(encoded->inputs[0].bytes, (std::vector<std::string>{"\xff\xd8\xff"}));
  auto raw = DecodePredictRequest(R"({"inputs": {"image": [[[1, 2, 3]]]}})", model);
  ASSERT_TRUE(raw.ok()) << raw.status();
  EXPECT_EQ(raw->inputs[0].dtype, DataType::kUint8);
  // Without the flag the declared dtype rules.
  const std::vector<TensorInfo> strict = {{"image", DataType::kUint8, {-1, -1, 3}}};
  EXPECT_FALSE(DecodePredictRequest(R"({"instances": [{"image": {"b64": "/9j/"}}]})", strict).ok());
}

TEST(TfPredictRequestTest, DecodesColumnarFormatNamedAndBare) {
  auto named = DecodePredictRequest(
      R"({"inputs":{"image":[[[1,2],[3,4]]],"key":[{"b64":"eA=="}]}})", kImageModel);
  ASSERT_TRUE(named.ok()) << named.status();
  EXPECT_EQ(named->format, TfFormat::kColumnar);
  ExpectTensorsEq(named->inputs,
                  {Uint8Tensor("image", {1, 2, 2}, {1, 2, 3, 4}), BytesTensor("key", {1}, {"x"})});
  auto bare = DecodePredictRequest(R"({"inputs":[[1,2]]})", kSingleInput);
  ASSERT_TRUE(bare.ok()) << bare.status();
  ExpectTensorEq(bare->inputs[0], Int32Tensor("x", {1, 2}, {1, 2}));
  auto scalar = DecodePredictRequest(R"({"inputs":7})", kSingleInput);
  ASSERT_TRUE(scalar.ok()) << scalar.status();
  ExpectTensorEq(scalar->inputs[0], Int32Tensor("x", {}, {7}));
}

struct TfErrorCase {
  std::string label;
  std::string body;
  std::string message;
};

TEST(TfPredictRequestTest, RejectsMalformedRequests) {
  const TfErrorCase cases[] = {
      {"malformed", R"({"instances":)", "malformed JSON"},
      {"not object", "[1]", "predict request must be a JSON object"},
      {"neither", R"({"signature_name":"x"})", "exactly one of 'instances'"},
      {"both", R"({"instances":[1],"inputs":[1]})", "exactly one of 'instances'"},
      {"instances not list", R"({"instances":{"x":[1,2]}})", "'instances' must be a non-empty list"},
      {"instances empty", R"({"instances":[]})", "'instances' must be a non-empty list"},
      {"unknown input", R"({"instances":[{"y":[1,2]}]})", "unknown input 'y'"},
      {"unknown columnar input", R"({"inputs":{"y":[1]}})", "unknown input 'y'"},
      {"bare with two inputs", R"({"instances":[[1,2]]})", "needs a model with exactly one input"},
      {"mixed instance forms", R"({"instances":[{"x":[1,2]},[3,4]]})",
       "instance #1 is a bare value but instance #0 is an object of named inputs"},
      {"mixed instance forms 2", R"({"instances":[[3,4],{"x":[1,2]}]})",
       "instance #1 is an object of named inputs but instance #0 is a bare value"},
      {"different keys", R"({"instances":[{"image":[[1,2],[3,4]],"key":"a"},{"image":[[1,2],[3,4]]}]})",
       "instance #1 does not name the same inputs as instance #0"},
      {"empty instance", R"({"instances":[{}]})", "'instances' #0 is an empty object"},
      {"ragged within instance", R"({"instances":[[1,2],[3]]})", "input 'x': ragged nesting"},
      {"ragged across instances", R"({"instances":[{"image":[[1,2],[3,4]],"key":"a"},
          {"image":[[1,2]],"key":"b"}]})", "input 'image': ragged nesting"},
      {"ragged columnar", R"({"inputs":[[1,2],[3,[4]]]})", "input 'x': ragged nesting"},
      {"scalar vs array", R"({"inputs":[[1,2],3]})", "ragged nesting"},
  };
  for (const TfErrorCase& c : cases) {
    SCOPED_TRACE(c.label);
    const auto& model = c.label.find("two inputs") != std::string::npos ||
                                c.label.find("keys") != std::string::npos ||
                                c.label.find("across") != std::string::npos
                            ? kImageModel
                            : kSingleInput;
    auto decoded = DecodePredictRequest(c.body, model);
    ASSERT_FALSE(decoded.ok()) << c.body;
    EXPECT_EQ(decoded.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(std::string(decoded.status().message()), HasSubstr(c.message));
  }
}

struct DtypeCase {
  DataType dtype;
  std::string value;
  std::string message;
};

TEST(TfPredictRequestTest, ChecksValuesAgainstDeclaredDtype) {
  const DtypeCase cases[] = {
      {DataType::kUint8, "256", "input 'v': element 0: 256 is out of range for UINT8"},
      {DataType::kUint8, "-1", "-1 is out of range for UINT8"},
      {DataType::kInt32, "-2147483649", "-2147483649 is out of range for INT32"},
      {DataType::kInt32, "0.5", "0.5 is not an integer"},
      {DataType::kInt64, "18446744073709551615", "is out of range for INT64"},
      {DataType::kFp32, "3.5e38", "out of range for FP32"},
      {DataType::kFp32, R"("1.0")", "expected a number for FP32, got a string"},
      {DataType::kUint8, R"({"b64":"AA=="})", "expected a number for UINT8, got a string"},
      {DataType::kBytes, "1", "expected a string for BYTES, got the number 1"},
      {DataType::kBytes, R"({"b64":"A"})", "element 0: invalid base64"},
      {DataType::kBytes, R"([{"b64":1}])", "a JSON object (other than {\"b64\": ...})"},
      {DataType::kInt32, "true", "a JSON boolean"},
  };
  for (const DtypeCase& c : cases) {
    SCOPED_TRACE(c.value);
    const std::vector<TensorInfo> model = {{"v", c.dtype, {}}};
    for (const std::string& body :
         {R"({"instances":[)" + c.value + "]}", R"({"inputs":{"v":)" + c.value + "}}"}) {
      auto decoded = DecodePredictRequest(body, model);
      ASSERT_FALSE(decoded.ok()) << body;
      EXPECT_EQ(decoded.status().code(), absl::StatusCode::kInvalidArgument);
      EXPECT_THAT(std::string(decoded.status().message()), HasSubstr(c.message)) << body;
    }
  }
}

TEST(TfPredictRequestTest, AcceptsIntegralFloatsForIntegerInputs) {
  auto decoded = DecodePredictRequest(R"({"instances":[[1.0, 2e1]]})", kSingleInput);
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  ExpectTensorEq(decoded->inputs[0], Int32Tensor("x", {1, 2}, {1, 20}));
}

TEST(TfPredictRequestTest, RoundTripsEveryDatatypeInBothFormats) {
  std::vector<Tensor> tensors = OneTensorPerDatatype();
  // The row format needs a shared batch dimension.
  for (Tensor& t : tensors) {
    const int64_t n = t.NumElements();
    t.shape = {1, n};
  }
  std::vector<TensorInfo> model;
  for (const Tensor& t : tensors) model.push_back({t.name, t.dtype, {}});
  for (TfFormat format : {TfFormat::kRow, TfFormat::kColumnar}) {
    auto body = EncodePredictRequest(tensors, format, "sig");
    ASSERT_TRUE(body.ok()) << body.status();
    auto decoded = DecodePredictRequest(*body, model);
    ASSERT_TRUE(decoded.ok()) << decoded.status() << "\n" << *body;
    EXPECT_EQ(decoded->format, format);
    EXPECT_EQ(decoded->signature_name, "sig");
    // Named maps come back sorted by name.
    for (const Tensor& want : tensors) {
      const Tensor* got = FindTensor(decoded->inputs, want.name);
      ASSERT_NE(got, nullptr) << want.name;
      ExpectTensorEq(*got, want);
    }
  }
}

TEST(TfPredictRequestTest, EncodesSingleInputByName) {
  auto row = EncodePredictRequest({Int32Tensor("x", {2}, {1, 2})}, TfFormat::kRow);
  ASSERT_TRUE(row.ok()) << row.status();
  EXPECT_EQ(*row, R"({"instances":[{"x":1},{"x":2}]})");
  auto columnar = EncodePredictRequest({Int32Tensor("x", {2}, {1, 2})}, TfFormat::kColumnar);
  ASSERT_TRUE(columnar.ok()) << columnar.status();
  EXPECT_EQ(*columnar, R"({"inputs":{"x":[1,2]}})");
}

TEST(TfPredictResponseTest, EncodesRowFormatPerBatchRow) {
  auto single = EncodePredictResponse({Int32Tensor("y", {2, 2}, {1, 2, 3, 4})}, TfFormat::kRow);
  ASSERT_TRUE(single.ok()) << single.status();
  EXPECT_EQ(*single, R"({"predictions":[[1,2],[3,4]]})");
  const std::vector<float> scores = {0.5f, 0.25f};
  auto multi = EncodePredictResponse(
      {Tensor::Fp32("scores", {2}, scores), BytesTensor("label", {2, 1}, {"cat", "\xff"})},
      TfFormat::kRow);
  ASSERT_TRUE(multi.ok()) << multi.status();
  EXPECT_EQ(*multi, R"({"predictions":[{"scores":0.5,"label":[{"b64":"Y2F0"}]},)"
                    R"({"scores":0.25,"label":[{"b64":"/w=="}]}]})");
}

TEST(TfPredictResponseTest, EncodesColumnarFormatBareAndNamed) {
  auto single = EncodePredictResponse({Int32Tensor("y", {2}, {1, 2})}, TfFormat::kColumnar);
  ASSERT_TRUE(single.ok());
  EXPECT_EQ(*single, R"({"outputs":[1,2]})");
  auto multi = EncodePredictResponse(
      {Int32Tensor("y", {}, {1}), BytesTensor("s", {0}, {})}, TfFormat::kColumnar);
  ASSERT_TRUE(multi.ok());
  EXPECT_EQ(*multi, R"({"outputs":{"y":1,"s":[]}})");
}

TEST(TfPredictResponseTest, RowFormatRejectsScalarsAndUnequalBatches) {
  auto scalar = EncodePredictResponse({Int32Tensor("y", {}, {1})}, TfFormat::kRow);
  ASSERT_FALSE(scalar.ok());
  EXPECT_THAT(std::string(scalar.status().message()), HasSubstr("'y' is a scalar"));
  auto unequal = EncodePredictResponse(
      {Int32Tensor("a", {2}, {1, 2}), Int32Tensor("b", {3}, {1, 2, 3})}, TfFormat::kRow);
  ASSERT_FALSE(unequal.ok());
  EXPECT_THAT(std::string(unequal.status().message()), HasSubstr("'b' has 3 rows but 'a' has 2"));
  auto invalid = EncodePredictResponse({Int32Tensor("a", {3}, {1})}, TfFormat::kColumnar);
  ASSERT_FALSE(invalid.ok());
  EXPECT_EQ(invalid.status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(TfPredictResponseTest, DecodesWithDeclaredAndInferredDtypes) {
  const std::vector<TensorInfo> outputs = {{"boxes", DataType::kFp32, {-1, 4}}};
  auto decoded = DecodePredictResponse(
      R"({"predictions":[{"boxes":[1,2,3,4],"n":3,"tag":{"b64":"eA=="},"p":0.5}]})",
      TfFormat::kRow, outputs);
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  const std::vector<float> boxes = {1, 2, 3, 4};
  const std::vector<int64_t> n = {3};
  const std::vector<float> p = {0.5f};
  ExpectTensorsEq(*decoded, {Tensor::Fp32("boxes", {1, 4}, boxes), Tensor::Int64("n", {1}, n),
                             Tensor::Fp32("p", {1}, p), BytesTensor("tag", {1}, {"x"})});
}

TEST(TfPredictResponseTest, DecodesBareColumnarOutputAndRejectsErrors) {
  const std::vector<TensorInfo> outputs = {{"y", DataType::kInt32, {-1}}};
  auto decoded = DecodePredictResponse(R"({"outputs":[1,2]})", TfFormat::kColumnar, outputs);
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  ExpectTensorEq((*decoded)[0], Int32Tensor("y", {2}, {1, 2}));
  auto error = DecodePredictResponse(EncodeTfError("boom"), TfFormat::kRow, outputs);
  ASSERT_FALSE(error.ok());
  EXPECT_THAT(std::string(error.status().message()), HasSubstr("boom"));
  auto missing = DecodePredictResponse(R"({"outputs":[1]})", TfFormat::kRow, outputs);
  ASSERT_FALSE(missing.ok());
  EXPECT_THAT(std::string(missing.status().message()), HasSubstr("no 'predictions'"));
}

TEST(TfMetadataTest, ModelStatusRoundTrips) {
  const std::vector<ModelVersionStatus> versions = {{"1", "AVAILABLE", "OK", ""},
                                                    {"2", "LOADING", "UNKNOWN", "still loading"}};
  const std::string body = EncodeModelStatus(versions);
  EXPECT_THAT(body, HasSubstr(R"({"state":"AVAILABLE","status":{"error_code":"OK","error_message":""},"version":"1"})"));
  auto decoded = DecodeModelStatus(body);
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_EQ(*decoded, versions);
  auto bad = DecodeModelStatus(R"({"model_version_status":[{"version":1}]})");
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(std::string(bad.status().message()),
              HasSubstr("model_version_status #0: field 'version' must be a string"));
}

TEST(TfMetadataTest, ModelMetadataRoundTripsAndUsesTfNames) {
  TfModelMetadata metadata;
  metadata.name = "detector";
  metadata.version = "3";
  metadata.inputs = {{"image", DataType::kUint8, {-1, 480, 640, 3}}, {"key", DataType::kBytes, {-1}}};
  metadata.outputs = {{"count", DataType::kInt64, {-1}}, {"scores", DataType::kFp32, {-1, 10}}};
  const std::string body = EncodeTfModelMetadata(metadata);
  EXPECT_THAT(body, HasSubstr(R"("dtype":"DT_UINT8")"));
  EXPECT_THAT(body, HasSubstr(R"("dtype":"DT_STRING")"));
  EXPECT_THAT(body, HasSubstr(R"({"name":"","size":"-1"})"));
  EXPECT_THAT(body, HasSubstr(R"("method_name":"tensorflow/serving/predict")"));
  EXPECT_THAT(body, HasSubstr(R"("model_spec":{"name":"detector","signature_name":"","version":"3"})"));
  auto decoded = DecodeTfModelMetadata(body);
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_EQ(*decoded, metadata);
}

TEST(TfMetadataTest, EncodesMetadataFromServerParts) {
  const std::vector<TensorInfo> inputs = {{"x", DataType::kFp32, {-1, 3}}};
  const std::string body = EncodeTfModelMetadata("m", 7, inputs, {});
  auto decoded = DecodeTfModelMetadata(body);
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_EQ(*decoded, (TfModelMetadata{"m", "7", inputs, {}}));
}

TEST(TfMetadataTest, RejectsBadMetadata) {
  const std::string prefix =
      R"({"model_spec":{"name":"m"},"metadata":{"signature_def":{"signature_def":{"serving_default":{"inputs":{"x":)";
  const TfErrorCase cases[] = {
      {"bad dtype", prefix + R"({"dtype":"DT_HALF","tensor_shape":{}}},"outputs":{}}}}}})",
       "signature inputs 'x': unsupported dtype 'DT_HALF'"},
      {"bad size", prefix + R"({"dtype":"DT_FLOAT","tensor_shape":{"dim":[{"size":"x"}]}}},"outputs":{}}}}}})",
       "bad dimension size \"x\""},
      {"no signature", R"({"model_spec":{"name":"m"},"metadata":{"signature_def":{"signature_def":{}}}})",
       "no 'serving_default' signature"},
      {"no model_spec", R"({"metadata":{}})", "missing required field 'model_spec'"},
  };
  for (const TfErrorCase& c : cases) {
    SCOPED_TRACE(c.label);
    auto decoded = DecodeTfModelMetadata(c.body);
    ASSERT_FALSE(decoded.ok());
    EXPECT_EQ(decoded.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(std::string(decoded.status().message()), HasSubstr(c.message));
  }
}

TEST(TfMetadataTest, EncodesErrorBody) { EXPECT_EQ(EncodeTfError("bad \"x\""), R"({"error":"bad \"x\""})"); }

}  // namespace
}  // namespace dnoscope::protocol
