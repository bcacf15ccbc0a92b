// Threshold-search micro-benchmarks on synthetic 100x100 features.
//
// Run (Release build with -DDNS_BUILD_BENCHMARKS=ON):
//   build/release/benchmarks/search_benchmark --benchmark_counter_table=true
// items/s counts fitting-range frames per second of search.
#include <algorithm>
#include <random>

#include "benchmark/benchmark.h"
#include "optimizer/search.h"
#include "optimizer/simulation.h"

namespace dnoscope::optimizer {
namespace {

// Frames drift with noise (some repeat exactly); runs of present frames;
// confidences correlated with the truth.
Features MakeFeatures(int64_t frames) {
  std::mt19937_64 rng(42);
  std::uniform_real_distribution<> u(0, 1);
  std::normal_distribution<> noise(0, 0.2);
  Features f;
  f.has_confidence = true;
  bool present = false;
  cv::Mat image(100, 100, CV_8UC3, cv::Scalar::all(100));
  for (int64_t i = 0; i < frames; ++i) {
    if (u(rng) < 0.02) present = !present;
    if (u(rng) > 0.3) {
      image = image.clone();
      cv::Mat delta(100, 100, CV_8UC3);
      cv::randu(delta, cv::Scalar::all(0), cv::Scalar::all(present ? 24 : 6));
      image += delta;
      image -= cv::Scalar::all(present ? 12 : 3);
    }
    f.diff_images.push_back(image);
    f.confidence.push_back(
        static_cast<float>(std::clamp((present ? 0.7 : 0.3) + noise(rng), 0.0, 1.0)));
    f.truth.push_back(present ? 1 : 0);
    f.corrupt.push_back(0);
  }
  return f;
}

SearchOptions Options(bool per_window) {
  SearchOptions o;
  o.targets = {.max_fp_rate = 0.02, .max_fn_rate = 0.02, .per_window = per_window};
  o.costs = {.difference_ms = 0.1, .specialized_ms = 0.4, .reference_ms = 50};
  return o;
}

void BM_Search_PerFrame(benchmark::State& state) {
  const Features f = MakeFeatures(state.range(0));
  const SearchOptions o = Options(false);
  for (auto _ : state) benchmark::DoNotOptimize(SearchThresholds(f, o, Clock::Real()));
  state.SetItemsProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_Search_PerFrame)->Arg(1000)->Arg(5000)->Unit(benchmark::kMillisecond);

void BM_Search_PerWindow(benchmark::State& state) {
  const Features f = MakeFeatures(state.range(0));
  const SearchOptions o = Options(true);
  for (auto _ : state) benchmark::DoNotOptimize(SearchThresholds(f, o, Clock::Real()));
  state.SetItemsProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_Search_PerWindow)->Arg(1000)->Arg(5000)->Unit(benchmark::kMillisecond);

// One replay of the anchor-mode difference detector (the search does ~49 per skip).
void BM_PlanDifference_Anchor(benchmark::State& state) {
  const Features f = MakeFeatures(state.range(0));
  const SearchOptions o = Options(false);
  for (auto _ : state) benchmark::DoNotOptimize(PlanDifference(f, o.diff, {}, 1, 20.0));
  state.SetItemsProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_PlanDifference_Anchor)->Arg(5000)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace dnoscope::optimizer
