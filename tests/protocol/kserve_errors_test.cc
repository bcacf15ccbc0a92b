// Every way DecodeInferRequest / DecodeInferResponse reject input: the status code must be
// InvalidArgument and the message must name the problem (and the tensor, where there is one).
#include <optional>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "protocol/kserve.h"

namespace dnoscope::protocol {
namespace {

using ::testing::HasSubstr;

struct ErrorCase {
  std::string label;
  std::string body;
  std::optional<size_t> header_length;
  std::string message;
};

// A request with one input whose fields are `fields` (a JSON object body without braces).
std::string OneInput(const std::string& fields) {
  return R"({"inputs":[{"name":"x",)" + fields + "}]}";
}

// "1,1,...,1" with n ones.
std::string ManyOnes(int n) {
  std::string s = "1";
  for (int i = 1; i < n; ++i) s += ",1";
  return s;
}

// JSON header plus binary tail, with header_length set to the JSON's size.
ErrorCase WithBinary(std::string label, const std::string& json, const std::string& binary,
                     std::string message) {
  return {std::move(label), json + binary, json.size(), std::move(message)};
}

void ExpectRejected(const ErrorCase& c, bool response) {
  SCOPED_TRACE(c.label);
  absl::Status status = response ? DecodeInferResponse(c.body, c.header_length).status()
                                 : DecodeInferRequest(c.body, c.header_length).status();
  ASSERT_FALSE(status.ok()) << c.body;
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(status.message()), HasSubstr(c.message));
}

TEST(KserveDecodeErrorTest, RejectsMalformedStructure) {
  const ErrorCase cases[] = {
      {"truncated JSON", R"({"inputs": [)", std::nullopt, "malformed JSON"},
      {"parse position", "{\n  \"inputs\": [}", std::nullopt, "line 2, column 14"},
      {"root not object", "[]", std::nullopt, "request must be a JSON object, got array"},
      {"missing inputs", "{}", std::nullopt, "missing required field 'inputs'"},
      {"inputs not array", R"({"inputs":5})", std::nullopt, "field 'inputs' must be an array"},
      {"input not object", R"({"inputs":[5]})", std::nullopt, "input #0: must be an object"},
      {"missing name", R"({"inputs":[{"datatype":"FP32"}]})", std::nullopt,
       "input #0: missing required field 'name'"},
      {"name not string", R"({"inputs":[{"name":3}]})", std::nullopt,
       "field 'name' must be a string, got number"},
      {"id not string", R"({"id":1,"inputs":[]})", std::nullopt, "field 'id' must be a string"},
      {"parameters not object", R"({"parameters":[],"inputs":[]})", std::nullopt,
       "field 'parameters' must be an object"},
      {"binary_data_output not bool", R"({"parameters":{"binary_data_output":1},"inputs":[]})",
       std::nullopt, "'binary_data_output' must be a boolean"},
      {"duplicate input", R"({"inputs":[{"name":"x","datatype":"INT32","shape":[1],"data":[1]},
          {"name":"x","datatype":"INT32","shape":[1],"data":[2]}]})",
       std::nullopt, "duplicate input name 'x'"},
      {"duplicate output", R"({"inputs":[],"outputs":[{"name":"y"},{"name":"y"}]})", std::nullopt,
       "duplicate requested output name 'y'"},
      {"binary_data flag not bool",
       R"({"inputs":[],"outputs":[{"name":"y","parameters":{"binary_data":"yes"}}]})",
       std::nullopt, "requested output 'y': field 'binary_data' must be a boolean"},
      {"deep nesting", R"({"inputs":[],"parameters":{"p":)" + std::string(100, '[') +
                           std::string(100, ']') + "}}",
       std::nullopt, "nested deeper than 64"},
  };
  for (const ErrorCase& c : cases) ExpectRejected(c, /*response=*/false);
}

TEST(KserveDecodeErrorTest, RejectsBadTensorFields) {
  const ErrorCase cases[] = {
      {"missing datatype", OneInput(R"("shape":[1],"data":[1])"), std::nullopt,
       "input 'x': missing required field 'datatype'"},
      {"unknown datatype", OneInput(R"("datatype":"FP16","shape":[1],"data":[1])"), std::nullopt,
       "input 'x': unsupported datatype 'FP16'"},
      {"missing shape", OneInput(R"("datatype":"FP32","data":[1])"), std::nullopt,
       "input 'x': missing required field 'shape'"},
      {"shape not array", OneInput(R"("datatype":"FP32","shape":1,"data":[1])"), std::nullopt,
       "input 'x': 'shape' must be an array"},
      {"negative dim", OneInput(R"("datatype":"FP32","shape":[2,-1],"data":[1])"), std::nullopt,
       "input 'x': 'shape' [2,-1] has a negative dimension"},
      {"fractional dim", OneInput(R"("datatype":"FP32","shape":[1.5],"data":[1])"), std::nullopt,
       "input 'x': 'shape' must contain integers, got 1.5"},
      {"shape overflow",
       OneInput(R"("datatype":"FP32","shape":[4294967296,4294967296,4],"data":[1])"),
       std::nullopt, "input 'x': shape [4294967296,4294967296,4] has too many elements"},
      {"too many dims", OneInput(R"("datatype":"FP32","shape":[)" + ManyOnes(33) + R"(],"data":[1])"),
       std::nullopt, "input 'x': 'shape' has 33 dimensions, more than 32"},
      {"count mismatch", OneInput(R"("datatype":"FP32","shape":[3],"data":[1,2])"), std::nullopt,
       "input 'x': 'data' has 2 elements but shape [3] needs 3"},
      {"neither data nor binary", OneInput(R"("datatype":"FP32","shape":[1])"), std::nullopt,
       "input 'x': has neither 'data' nor binary_data_size"},
      {"parameters not object", OneInput(R"("datatype":"FP32","shape":[1],"parameters":5)"),
       std::nullopt, "input 'x': field 'parameters' must be an object"},
  };
  for (const ErrorCase& c : cases) ExpectRejected(c, /*response=*/false);
}

TEST(KserveDecodeErrorTest, RejectsElementsThatDoNotFitTheDatatype) {
  const ErrorCase cases[] = {
      {"string in FP32", OneInput(R"("datatype":"FP32","shape":[2],"data":[1,"2"])"), std::nullopt,
       "input 'x': invalid 'data': element 1: expected a number for FP32, got a string"},
      {"fractional INT32", OneInput(R"("datatype":"INT32","shape":[1],"data":[1.5])"),
       std::nullopt, "input 'x': invalid 'data': element 0: 1.5 is not an integer"},
      {"UINT8 too big", OneInput(R"("datatype":"UINT8","shape":[1],"data":[256])"), std::nullopt,
       "element 0: 256 is out of range for UINT8"},
      {"UINT8 negative", OneInput(R"("datatype":"UINT8","shape":[1],"data":[-1])"), std::nullopt,
       "element 0: -1 is out of range for UINT8"},
      {"INT32 too big", OneInput(R"("datatype":"INT32","shape":[1],"data":[2147483648])"),
       std::nullopt, "2147483648 is out of range for INT32"},
      {"INT64 too big",
       OneInput(R"("datatype":"INT64","shape":[1],"data":[9223372036854775808])"), std::nullopt,
       "9223372036854775808 is out of range for INT64"},
      {"INT64 huge float", OneInput(R"("datatype":"INT64","shape":[1],"data":[1e19])"),
       std::nullopt, "is out of range for INT64"},
      {"FP32 overflow", OneInput(R"("datatype":"FP32","shape":[1],"data":[1e39])"), std::nullopt,
       "element 0: 1e+39 is out of range for FP32"},
      {"number in BYTES", OneInput(R"("datatype":"BYTES","shape":[1],"data":[1])"), std::nullopt,
       "element 0: expected a string for BYTES, got the number 1"},
      {"boolean element", OneInput(R"("datatype":"INT32","shape":[1],"data":[true])"),
       std::nullopt, "a JSON boolean is not a valid tensor element"},
      {"null element", OneInput(R"("datatype":"INT32","shape":[1],"data":[null])"), std::nullopt,
       "a JSON null is not a valid tensor element"},
      {"object element", OneInput(R"("datatype":"INT32","shape":[1],"data":[{"a":1}])"),
       std::nullopt, "input 'x': invalid 'data': element 0: a JSON object"},
      {"ragged", OneInput(R"("datatype":"INT32","shape":[3],"data":[[1,2],[3]])"), std::nullopt,
       "input 'x': invalid 'data': ragged nesting"},
      {"scalar beside array", OneInput(R"("datatype":"INT32","shape":[2],"data":[[1],2])"),
       std::nullopt, "ragged nesting"},
      {"too deep", OneInput(R"("datatype":"INT32","shape":[1],"data":)" + std::string(40, '[') +
                            "1" + std::string(40, ']')),
       std::nullopt, "arrays nested deeper than 32 levels"},
      {"buffered conversion error",
       R"({"inputs":[{"name":"x","data":[300],"datatype":"UINT8","shape":[1]}]})", std::nullopt,
       "input 'x': invalid 'data': element 0: 300 is out of range for UINT8"},
      {"unnamed yet", R"({"inputs":[{"datatype":"UINT8","data":[300],"name":"x","shape":[1]}]})",
       std::nullopt, "input #0: invalid 'data': element 0: 300"},
      {"datatype changes after data",
       R"({"inputs":[{"name":"x","datatype":"FP32","data":[1],"datatype":"INT32","shape":[1]}]})",
       std::nullopt, "elements were read as FP32 but the datatype is INT32"},
  };
  for (const ErrorCase& c : cases) ExpectRejected(c, /*response=*/false);
}

TEST(KserveDecodeErrorTest, RejectsInconsistentBinarySections) {
  const std::string fp32x2 =
      OneInput(R"("datatype":"FP32","shape":[2],"parameters":{"binary_data_size":8})");
  const std::string bytes2 =
      OneInput(R"("datatype":"BYTES","shape":[2],"parameters":{"binary_data_size":9})");
  const ErrorCase cases[] = {
      {"no header length", fp32x2 + std::string(8, '\0'), std::nullopt,
       "input 'x': binary_data_size given but the request has no Inference-Header-Content-Length"},
      {"header length past body", "{}", 3, "Inference-Header-Content-Length 3 exceeds the body size 2"},
      WithBinary("section past body", fp32x2, std::string(4, '\0'),
                 "input 'x': field 'binary_data_size' is 8, more than the 4 available"),
      WithBinary("negative binary size",
                 OneInput(R"("datatype":"FP32","shape":[1],"parameters":{"binary_data_size":-4})"),
                 "", "input 'x': field 'binary_data_size' must be a non-negative integer"),
      WithBinary("trailing bytes", fp32x2, std::string(12, '\0'),
                 "4 bytes follow the JSON header beyond the binary_data_size sections"),
      WithBinary("size does not match shape",
                 OneInput(R"("datatype":"FP32","shape":[3],"parameters":{"binary_data_size":8})"),
                 std::string(8, '\0'),
                 "input 'x': binary_data_size is 8 bytes but shape [3] of FP32 needs 3 elements"),
      WithBinary("both data and binary",
                 OneInput(R"("datatype":"FP32","shape":[1],"data":[1],"parameters":{"binary_data_size":4})"),
                 std::string(4, '\0'), "input 'x': has both 'data' and binary_data_size"),
      WithBinary("bytes prefix past end", bytes2, std::string("\x01\x00\x00\x00" "a" "\x09\x00\x00\x00", 9),
                 "input 'x': BYTES element 1 has length 9 but only 0 bytes remain"),
      WithBinary("bytes prefix cut short", bytes2, std::string("\x04\x00\x00\x00" "abcd" "\x00", 9),
                 "input 'x': BYTES element 1 has no room for its length prefix"),
      WithBinary("bytes leftover",
                 OneInput(R"("datatype":"BYTES","shape":[1],"parameters":{"binary_data_size":9})"),
                 std::string("\x01\x00\x00\x00" "a" "zzzz", 9),
                 "input 'x': 4 bytes left over after 1 BYTES elements"),
      WithBinary("bytes count exceeds section",
                 OneInput(R"("datatype":"BYTES","shape":[1000000000],"parameters":{"binary_data_size":8})"),
                 std::string(8, '\0'), "binary_data_size 8 is too small for 1000000000 BYTES"),
      WithBinary("huge fixed shape",
                 OneInput(R"("datatype":"INT64","shape":[1000000000000],"parameters":{"binary_data_size":8})"),
                 std::string(8, '\0'), "needs 1000000000000 elements"),
  };
  for (const ErrorCase& c : cases) ExpectRejected(c, /*response=*/false);
}

TEST(KserveDecodeErrorTest, RejectsBadResponses) {
  const ErrorCase cases[] = {
      {"missing model_name", R"({"outputs":[]})", std::nullopt,
       "missing required field 'model_name'"},
      {"missing outputs", R"({"model_name":"m"})", std::nullopt,
       "missing required field 'outputs'"},
      {"duplicate output", R"({"model_name":"m","outputs":[
          {"name":"y","datatype":"INT32","shape":[1],"data":[1]},
          {"name":"y","datatype":"INT32","shape":[1],"data":[1]}]})",
       std::nullopt, "duplicate output name 'y'"},
      {"bad output element", R"({"model_name":"m","outputs":[
          {"name":"y","datatype":"INT32","shape":[1],"data":["a"]}]})",
       std::nullopt, "output 'y': invalid 'data': element 0: expected a number for INT32"},
  };
  for (const ErrorCase& c : cases) ExpectRejected(c, /*response=*/true);
}

}  // namespace
}  // namespace dnoscope::protocol
