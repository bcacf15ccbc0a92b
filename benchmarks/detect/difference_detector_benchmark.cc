// Micro-benchmarks of the difference detector's hot path.
//
// Run (Release build):
//   cmake -S . -B build/release -G Ninja -DCMAKE_BUILD_TYPE=Release
//   ninja -C build/release difference_detector_benchmark
//   build/release/benchmarks/difference_detector_benchmark --benchmark_min_time=0.5
// items/s is frames/s; the Arg is the frame side in pixels (side x side x 3).
// Acceptance target: BM_DifferenceDetector_GlobalMse/100 >= 300,000 frames/s
// on one core.
#include <cstring>
#include <memory>
#include <random>
#include <vector>

#include "benchmark/benchmark.h"
#include "detect/difference_detector.h"

namespace dnoscope::detect {
namespace {

constexpr int kFramesInClip = 64;

// A synthetic fixed-camera clip: a noisy background plus a small square that
// moves every 4th frame, so that about a quarter of the frames change (and,
// in anchor mode, are copied as the new anchor).
std::vector<cv::Mat> MakeClip(int side) {
  std::mt19937 rng(1);
  std::uniform_int_distribution<int> noise(0, 3);
  cv::Mat background(side, side, CV_8UC3);
  cv::randu(background, cv::Scalar::all(40), cv::Scalar::all(200));
  std::vector<cv::Mat> clip;
  for (int i = 0; i < kFramesInClip; ++i) {
    cv::Mat frame = background.clone();
    for (size_t j = 0; j < frame.total() * 3; j += 7) {
      frame.data[j] = static_cast<uint8_t>(frame.data[j] + noise(rng));
    }
    const int square = std::max(1, side / 10);
    const int x = ((i / 4) * 3) % std::max(1, side - square);
    frame(cv::Rect(x, side / 2, square, square)) = cv::Scalar(0, 0, 255);
    clip.push_back(frame);
  }
  return clip;
}

void BM_SumSquaredDiff_100x100x3(benchmark::State& state) {
  const std::vector<cv::Mat> clip = MakeClip(100);
  const size_t bytes = clip[0].total() * 3;
  for (auto _ : state) {
    benchmark::DoNotOptimize(SumSquaredDiff(clip[0].data, clip[1].data, bytes));
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(2 * bytes));
}
BENCHMARK(BM_SumSquaredDiff_100x100x3);

// Runs Process() over the clip in a loop; items/s = frames/s.
void RunDetector(benchmark::State& state, DiffOptions options) {
  const int side = static_cast<int>(state.range(0));
  options.width = side;
  options.height = side;
  const std::vector<cv::Mat> clip = MakeClip(side);
  auto detector = DifferenceDetector::Create(options, clip[0]);
  if (!detector.ok()) {
    state.SkipWithError(std::string(detector.status().message()).c_str());
    return;
  }
  int64_t index = 0;
  int64_t changed = 0;
  for (auto _ : state) {
    const DiffDecision d = (*detector)->Process(index, clip[index % kFramesInClip]);
    changed += d.changed ? 1 : 0;
    ++index;
  }
  state.SetItemsProcessed(state.iterations());
  state.counters["changed_share"] =
      static_cast<double>(changed) / static_cast<double>(std::max<int64_t>(1, index));
}

// Anchor mode; anchor copies are included in the measured time.
void BM_DifferenceDetector_GlobalMse(benchmark::State& state) {
  RunDetector(state, {.metric = DiffMetric::kGlobalMse, .threshold = 20});
}
BENCHMARK(BM_DifferenceDetector_GlobalMse)->Arg(50)->Arg(100)->Arg(200)->Arg(400);

// Threshold 0: every frame changes and is copied as the new anchor.
void BM_DifferenceDetector_GlobalMseAllChanged(benchmark::State& state) {
  RunDetector(state, {.metric = DiffMetric::kGlobalMse, .threshold = 0});
}
BENCHMARK(BM_DifferenceDetector_GlobalMseAllChanged)->Arg(100);

// Every frame copied into the ring: the worst case for bookkeeping.
void BM_DifferenceDetector_GlobalMseDelta(benchmark::State& state) {
  RunDetector(state, {.metric = DiffMetric::kGlobalMse,
                      .reference = ReferenceMode::kDelta,
                      .delta = 30,
                      .threshold = 20});
}
BENCHMARK(BM_DifferenceDetector_GlobalMseDelta)->Arg(50)->Arg(100)->Arg(200);

void BM_DifferenceDetector_BlockedMse(benchmark::State& state) {
  RunDetector(state, {.metric = DiffMetric::kBlockedMse,
                      .grid_rows = 4,
                      .grid_cols = 4,
                      .reduce = BlockReduce::kMax,
                      .threshold = 200});
}
BENCHMARK(BM_DifferenceDetector_BlockedMse)->Arg(50)->Arg(100)->Arg(200)->Arg(400);

void BM_DifferenceDetector_Background(benchmark::State& state) {
  RunDetector(state, {.reference = ReferenceMode::kBackground, .threshold = 20});
}
BENCHMARK(BM_DifferenceDetector_Background)->Arg(100);

}  // namespace
}  // namespace dnoscope::detect
