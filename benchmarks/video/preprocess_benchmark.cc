// Micro-benchmarks of the per-frame pre-processing of the cheap stages:
// ROI crop + resize of a full frame to the difference detector's resolution.
//
//   build/release/benchmarks/preprocess_benchmark --benchmark_min_time=0.5
//
// Items/s = frames/s on one thread (cv::setNumThreads(1)).
#include "benchmark/benchmark.h"
#include "opencv2/core.hpp"
#include "video/preprocess.h"

namespace dnoscope::video {
namespace {

void RunResize(benchmark::State& state, Interpolation interpolation) {
  cv::setNumThreads(1);
  const int width = static_cast<int>(state.range(0));
  const int height = width * 9 / 16;
  cv::Mat frame(height, width, CV_8UC3);
  cv::randu(frame, 0, 255);
  cv::Mat out;
  for (auto _ : state) {
    CropAndResize(frame, std::nullopt, 100, 100, interpolation, &out);
    benchmark::DoNotOptimize(out.data);
  }
  state.SetItemsProcessed(state.iterations());
}

void BM_CropAndResize_Area(benchmark::State& state) { RunResize(state, Interpolation::kArea); }
void BM_CropAndResize_Linear(benchmark::State& state) { RunResize(state, Interpolation::kLinear); }
void BM_CropAndResize_Nearest(benchmark::State& state) {
  RunResize(state, Interpolation::kNearest);
}

BENCHMARK(BM_CropAndResize_Area)->Arg(768)->Arg(1920);
BENCHMARK(BM_CropAndResize_Linear)->Arg(768)->Arg(1920);
BENCHMARK(BM_CropAndResize_Nearest)->Arg(768)->Arg(1920);

}  // namespace
}  // namespace dnoscope::video
