// Micro-benchmarks of the KServe v2 codecs on the server's hot path: decoding
// a specialized-model request (N frames of 50x50x3) as JSON and with the
// binary tensor extension, and encoding the FP32 [N,1] response.
//
// Run (Release build):
//   cmake --preset release && cmake --build --preset release --target kserve_benchmark
//   build/release/benchmarks/kserve_benchmark --benchmark_min_time=0.5
// items/s is frames/s; the Arg is the batch size N.
#include <vector>

#include "benchmark/benchmark.h"
#include "protocol/kserve.h"

namespace dnoscope::protocol {
namespace {

InferRequest FramesRequest(int64_t n) {
  std::vector<uint8_t> pixels(static_cast<size_t>(n) * 50 * 50 * 3);
  for (size_t i = 0; i < pixels.size(); ++i) pixels[i] = static_cast<uint8_t>(i * 31);
  InferRequest request;
  request.inputs.push_back(Tensor::Uint8("images", {n, 50, 50, 3}, pixels.data(), pixels.size()));
  request.binary_data_output = true;
  return request;
}

void DecodeFrames(benchmark::State& state, bool binary) {
  const int64_t n = state.range(0);
  const EncodedMessage message = EncodeInferRequest(FramesRequest(n), binary).value();
  for (auto _ : state) {
    auto decoded = DecodeInferRequest(message.body, message.json_length);
    if (!decoded.ok()) state.SkipWithError("decode failed");
    benchmark::DoNotOptimize(decoded);
  }
  state.SetItemsProcessed(state.iterations() * n);
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(message.body.size()));
}

void BM_Kserve_DecodeFramesBinary(benchmark::State& state) { DecodeFrames(state, true); }
void BM_Kserve_DecodeFramesJson(benchmark::State& state) { DecodeFrames(state, false); }
BENCHMARK(BM_Kserve_DecodeFramesBinary)->Arg(1)->Arg(16)->Arg(64);
BENCHMARK(BM_Kserve_DecodeFramesJson)->Arg(1)->Arg(16);

void BM_Kserve_EncodeConfidences(benchmark::State& state) {
  const int64_t n = state.range(0);
  std::vector<float> confidences(static_cast<size_t>(n), 0.25f);
  InferResponse response{"specialized", "1", "", {Tensor::Fp32("confidence", {n, 1}, confidences)}};
  InferRequest request;
  request.binary_data_output = state.range(1) != 0;
  for (auto _ : state) {
    auto encoded = EncodeInferResponse(response, request);
    benchmark::DoNotOptimize(encoded);
  }
  state.SetItemsProcessed(state.iterations() * n);
}
BENCHMARK(BM_Kserve_EncodeConfidences)->Args({1, 0})->Args({1, 1})->Args({64, 0})->Args({64, 1});

}  // namespace
}  // namespace dnoscope::protocol
