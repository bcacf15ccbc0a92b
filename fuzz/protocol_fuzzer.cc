// libFuzzer target for the protocol decoders. The first input byte picks a codec:
//   0: KServe DecodeInferRequest, whole input is JSON
//   1: KServe DecodeInferRequest with the binary extension; bytes 1..4 are the little-endian
//      Inference-Header-Content-Length, the rest is the body
//   2: TF Serving DecodePredictRequest against a four-input model (UINT8, BYTES, FP32, INT64)
//   3: TF Serving DecodePredictRequest against a single-input INT32 model (bare-value forms)
//   4: Base64Decode
//   5: KServe DecodeInferResponse (JSON) and the metadata/status decoders
// Whatever decodes is re-encoded and decoded again; a broken round trip aborts.
//
// Build: configure with -DCMAKE_CXX_COMPILER=clang++ -DDNS_BUILD_FUZZERS=ON
// -DDNS_SANITIZE=address,undefined, build target protocol_fuzzer, then e.g.
//   build/h_fuzz/fuzz/protocol_fuzzer -max_len=4096 -max_total_time=120 \
//       -dict=fuzz/protocol.dict <scratch copy of fuzz/corpus>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <utility>
#include <string_view>
#include <vector>

#include "common/tensor.h"
#include "protocol/base64.h"
#include "protocol/kserve.h"
#include "protocol/tfserving.h"

namespace dnoscope::protocol {
namespace {

[[noreturn]] void Fail(const char* what, std::string_view detail = "") {
  std::fprintf(stderr, "protocol_fuzzer invariant violated: %s\n%.*s\n", what,
               static_cast<int>(detail.size()), detail.data());
  std::abort();
}

template <typename T>
T Check(absl::StatusOr<T> result, const char* what) {
  if (!result.ok()) Fail(what, result.status().ToString());
  return std::move(result).value();
}

bool SameTensors(const std::vector<Tensor>& a, const std::vector<Tensor>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i].name != b[i].name || a[i].dtype != b[i].dtype || a[i].shape != b[i].shape ||
        a[i].data != b[i].data || a[i].bytes != b[i].bytes) {
      return false;
    }
  }
  return true;
}

bool SameRequest(const InferRequest& a, const InferRequest& b) {
  return a.id == b.id && SameTensors(a.inputs, b.inputs) && a.outputs == b.outputs &&
         a.binary_data_output == b.binary_data_output && a.parameters == b.parameters;
}

// JSON-decoded requests must survive both encodings exactly; binary-decoded ones exactly in
// binary and at least decodably in JSON (invalid UTF-8 BYTES and NaN payloads do not survive).
void FuzzKserveRequest(std::string_view body, std::optional<size_t> header_length) {
  auto decoded = DecodeInferRequest(body, header_length);
  if (!decoded.ok()) return;
  for (bool binary : {true, false}) {
    const EncodedMessage encoded = Check(EncodeInferRequest(*decoded, binary), "encode request");
    const InferRequest again =
        Check(DecodeInferRequest(encoded.body, encoded.json_length), "re-decode request");
    const bool exact = binary || !header_length.has_value();
    if (exact && !SameRequest(*decoded, again)) Fail("request round trip", encoded.body);
  }
}

void FuzzKserveResponse(std::string_view body) {
  auto decoded = DecodeInferResponse(body, std::nullopt);
  if (decoded.ok()) {
    for (bool binary : {true, false}) {
      InferRequest request;
      request.binary_data_output = binary;
      const EncodedMessage encoded =
          Check(EncodeInferResponse(*decoded, request), "encode response");
      const InferResponse again =
          Check(DecodeInferResponse(encoded.body, encoded.json_length), "re-decode response");
      if (again.model_name != decoded->model_name || again.id != decoded->id ||
          again.model_version != decoded->model_version ||
          !SameTensors(again.outputs, decoded->outputs)) {
        Fail("response round trip", encoded.body);
      }
    }
  }
  if (auto m = DecodeModelMetadata(body); m.ok()) {
    if (Check(DecodeModelMetadata(EncodeModelMetadata(*m)), "model metadata") != *m) {
      Fail("model metadata round trip");
    }
  }
  if (auto s = DecodeServerMetadata(body); s.ok()) {
    if (Check(DecodeServerMetadata(EncodeServerMetadata(*s)), "server metadata") != *s) {
      Fail("server metadata round trip");
    }
  }
  if (auto v = DecodeModelStatus(body); v.ok()) {
    if (Check(DecodeModelStatus(EncodeModelStatus(*v)), "model status") != *v) {
      Fail("model status round trip");
    }
  }
  (void)DecodeTfModelMetadata(body);
}

void FuzzTfPredict(std::string_view body, const std::vector<TensorInfo>& model) {
  auto decoded = DecodePredictRequest(body, model);
  if (!decoded.ok()) return;
  const std::string encoded = Check(
      EncodePredictRequest(decoded->inputs, decoded->format, decoded->signature_name),
      "encode predict request");
  const PredictRequest again = Check(DecodePredictRequest(encoded, model), "re-decode predict");
  if (again.format != decoded->format || again.signature_name != decoded->signature_name ||
      !SameTensors(again.inputs, decoded->inputs)) {
    Fail("predict request round trip", encoded);
  }
  // The same tensors as a response, typed by what they are.
  std::vector<TensorInfo> outputs;
  for (const Tensor& t : decoded->inputs) outputs.push_back({t.name, t.dtype, {}});
  const std::string response =
      Check(EncodePredictResponse(decoded->inputs, decoded->format), "encode predict response");
  const std::vector<Tensor> back = Check(
      DecodePredictResponse(response, decoded->format, outputs), "re-decode predict response");
  if (!SameTensors(back, decoded->inputs)) Fail("predict response round trip", response);
}

void FuzzBase64(std::string_view text) {
  if (auto decoded = Base64Decode(text); decoded.ok() && Base64Encode(*decoded) != text) {
    Fail("base64 decode/encode is not canonical", text);
  }
  if (Check(Base64Decode(Base64Encode(text)), "base64 round trip") != text) {
    Fail("base64 round trip", text);
  }
}

const std::vector<TensorInfo>& MultiInputModel() {
  static const auto* model = new std::vector<TensorInfo>{{"image", DataType::kUint8, {-1, -1}},
                                                         {"key", DataType::kBytes, {-1}},
                                                         {"score", DataType::kFp32, {-1}},
                                                         {"id", DataType::kInt64, {-1}}};
  return *model;
}

const std::vector<TensorInfo>& SingleInputModel() {
  static const auto* model = new std::vector<TensorInfo>{{"x", DataType::kInt32, {-1}}};
  return *model;
}

}  // namespace
}  // namespace dnoscope::protocol

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace dnoscope::protocol;
  if (size < 1) return 0;
  const std::string_view rest(reinterpret_cast<const char*>(data) + 1, size - 1);
  switch (data[0] % 6) {
    case 0:
      FuzzKserveRequest(rest, std::nullopt);
      break;
    case 1: {
      if (rest.size() < 4) return 0;
      uint32_t header_length;
      std::memcpy(&header_length, rest.data(), sizeof(header_length));
      FuzzKserveRequest(rest.substr(4), header_length);
      break;
    }
    case 2:
      FuzzTfPredict(rest, MultiInputModel());
      break;
    case 3:
      FuzzTfPredict(rest, SingleInputModel());
      break;
    case 4:
      FuzzBase64(rest);
      break;
    case 5:
      FuzzKserveResponse(rest);
      break;
  }
  return 0;
}
