#include "detect/difference_detector.h"

#include <cmath>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "detect/ssd_kernels.h"
#include "gtest/gtest.h"

namespace dnoscope::detect {
namespace {

// The definition, written independently of the library's kernels.
uint64_t ReferenceSsd(const uint8_t* a, const uint8_t* b, size_t n) {
  uint64_t sum = 0;
  for (size_t i = 0; i < n; ++i) {
    const int64_t d = static_cast<int64_t>(a[i]) - static_cast<int64_t>(b[i]);
    sum += static_cast<uint64_t>(d * d);
  }
  return sum;
}

double ReferenceMse(const cv::Mat& a, const cv::Mat& b, int y0, int y1, int x0, int x1) {
  uint64_t sum = 0;
  for (int y = y0; y < y1; ++y) {
    for (int x = x0; x < x1; ++x) {
      for (int c = 0; c < 3; ++c) {
        const int d = a.at<cv::Vec3b>(y, x)[c] - b.at<cv::Vec3b>(y, x)[c];
        sum += static_cast<uint64_t>(d * d);
      }
    }
  }
  return static_cast<double>(sum) / (3.0 * (y1 - y0) * (x1 - x0));
}

std::vector<double> ReferenceBlockMse(const cv::Mat& a, const cv::Mat& b, int rows, int cols) {
  std::vector<double> out;
  for (int r = 0; r < rows; ++r) {
    for (int c = 0; c < cols; ++c) {
      out.push_back(ReferenceMse(a, b, r * a.rows / rows, (r + 1) * a.rows / rows,
                                 c * a.cols / cols, (c + 1) * a.cols / cols));
    }
  }
  return out;
}

std::vector<uint8_t> RandomBytes(size_t n, std::mt19937* rng) {
  std::uniform_int_distribution<int> byte(0, 255);
  std::vector<uint8_t> v(n);
  for (uint8_t& x : v) x = static_cast<uint8_t>(byte(*rng));
  return v;
}

cv::Mat RandomFrame(int width, int height, std::mt19937* rng) {
  cv::Mat m(height, width, CV_8UC3);
  const std::vector<uint8_t> bytes = RandomBytes(m.total() * 3, rng);
  std::copy(bytes.begin(), bytes.end(), m.data);
  return m;
}

cv::Mat Uniform(int value, int width = 100, int height = 100) {
  return cv::Mat(height, width, CV_8UC3, cv::Scalar::all(value));
}

using Kernel = std::function<uint64_t(const uint8_t*, const uint8_t*, size_t)>;

std::vector<std::pair<std::string, Kernel>> Kernels() {
  std::vector<std::pair<std::string, Kernel>> kernels = {
      {"dispatch", SumSquaredDiff},
      {"scalar", internal::SumSquaredDiffScalar},
      {"sse2", internal::SumSquaredDiffSse2},
  };
  if (internal::CpuHasAvx2()) kernels.push_back({"avx2", internal::SumSquaredDiffAvx2});
  return kernels;
}

TEST(SumSquaredDiffTest, MatchesReferenceOnRandomDataOfManyLengthsAndAlignments) {
  std::mt19937 rng(42);
  const std::vector<uint8_t> a = RandomBytes(300'100, &rng);
  const std::vector<uint8_t> b = RandomBytes(300'100, &rng);
  for (size_t n : {0, 1, 7, 31, 32, 33, 63, 64, 65, 75, 97, 1000, 30'000, 30'001, 300'007}) {
    for (size_t offset : {0, 1, 3}) {
      const uint64_t expected = ReferenceSsd(a.data() + offset, b.data(), n);
      for (const auto& [name, kernel] : Kernels()) {
        EXPECT_EQ(kernel(a.data() + offset, b.data(), n), expected)
            << name << " n=" << n << " offset=" << offset;
      }
    }
  }
}

TEST(SumSquaredDiffTest, ExtremeValuesOverManyChunksDoNotOverflow) {
  // 2^20 + 13 bytes of 0 vs 255: spans several 32-bit accumulator chunks.
  const size_t n = (size_t{1} << 20) + 13;
  const std::vector<uint8_t> zeros(n, 0);
  const std::vector<uint8_t> full(n, 255);
  for (const auto& [name, kernel] : Kernels()) {
    EXPECT_EQ(kernel(zeros.data(), full.data(), n), uint64_t{n} * 255 * 255) << name;
    EXPECT_EQ(kernel(full.data(), zeros.data(), n), uint64_t{n} * 255 * 255) << name;
  }
}

absl::StatusOr<std::unique_ptr<DifferenceDetector>> MakeDetector(DiffOptions options,
                                                                 const cv::Mat& bg = {}) {
  return DifferenceDetector::Create(options, bg);
}

TEST(ScoreTest, GlobalMseMatchesReferenceForSeveralSizes) {
  std::mt19937 rng(7);
  for (auto [w, h] : {std::pair{100, 100}, {50, 50}, {37, 23}, {1, 1}, {161, 3}}) {
    auto detector = MakeDetector({.width = w, .height = h});
    ASSERT_TRUE(detector.ok()) << detector.status();
    const cv::Mat a = RandomFrame(w, h, &rng);
    const cv::Mat b = RandomFrame(w, h, &rng);
    EXPECT_DOUBLE_EQ((*detector)->Score(a, b), ReferenceMse(a, b, 0, h, 0, w)) << w << "x" << h;
    EXPECT_EQ((*detector)->Score(a, a), 0.0);
  }
}

TEST(ScoreTest, HandlesNonContinuousViewsAndRejectsMismatches) {
  std::mt19937 rng(8);
  const cv::Mat big_a = RandomFrame(120, 110, &rng);
  const cv::Mat big_b = RandomFrame(120, 110, &rng);
  const cv::Rect roi(7, 5, 100, 100);
  auto detector = MakeDetector({});
  ASSERT_TRUE(detector.ok());
  EXPECT_DOUBLE_EQ((*detector)->Score(big_a(roi), big_b(roi)),
                   ReferenceMse(big_a(roi), big_b(roi), 0, 100, 0, 100));
  EXPECT_TRUE(std::isnan((*detector)->Score(Uniform(1), Uniform(1, 50, 50))));
  EXPECT_TRUE(std::isnan((*detector)->Score(Uniform(1), cv::Mat(100, 100, CV_8UC1))));
}

TEST(BlockMseTest, MatchesReferenceIncludingUnevenGrids) {
  std::mt19937 rng(9);
  for (auto [w, h, rows, cols] : {std::tuple{100, 100, 4, 4},
                                  {37, 23, 3, 5},
                                  {50, 50, 7, 6},
                                  {10, 10, 10, 10},
                                  {64, 48, 1, 1}}) {
    const cv::Mat a = RandomFrame(w, h, &rng);
    const cv::Mat b = RandomFrame(w, h, &rng);
    std::vector<double> got;
    BlockMse(a, b, rows, cols, &got);
    const std::vector<double> expected = ReferenceBlockMse(a, b, rows, cols);
    ASSERT_EQ(got.size(), expected.size());
    for (size_t i = 0; i < got.size(); ++i) {
      EXPECT_DOUBLE_EQ(got[i], expected[i]) << w << "x" << h << " block " << i;
    }
  }
}

TEST(ScoreTest, BlockedMaxAndWeightedSumMatchReference) {
  std::mt19937 rng(10);
  const cv::Mat a = RandomFrame(100, 100, &rng);
  cv::Mat b = a.clone();
  b(cv::Rect(60, 10, 20, 30)) = cv::Scalar::all(0);  // change concentrated in a few blocks
  const std::vector<double> blocks = ReferenceBlockMse(a, b, 4, 4);
  double max = 0;
  double mean = 0;
  double weighted = 0;
  std::vector<double> weights;
  for (size_t i = 0; i < blocks.size(); ++i) {
    max = std::max(max, blocks[i]);
    mean += blocks[i] / 16;
    weights.push_back(0.5 * static_cast<double>(i));
    weighted += weights.back() * blocks[i];
  }
  auto by_max = MakeDetector({.metric = DiffMetric::kBlockedMse});
  auto by_mean =
      MakeDetector({.metric = DiffMetric::kBlockedMse, .reduce = BlockReduce::kWeightedSum});
  auto by_weights = MakeDetector({.metric = DiffMetric::kBlockedMse,
                                  .reduce = BlockReduce::kWeightedSum,
                                  .block_weights = weights});
  ASSERT_TRUE(by_max.ok() && by_mean.ok() && by_weights.ok());
  EXPECT_DOUBLE_EQ((*by_max)->Score(a, b), max);
  EXPECT_NEAR((*by_mean)->Score(a, b), mean, 1e-9 * mean);
  EXPECT_NEAR((*by_weights)->Score(a, b), weighted, 1e-9 * weighted);
  EXPECT_GT(max, mean);
}

struct Step {
  int64_t index;
  int value;  // uniform frame value
  bool changed;
  int64_t reuse_frame;
  double score;  // NaN: expect NaN
};

void RunSequence(DifferenceDetector* detector, const std::vector<Step>& steps) {
  for (const Step& s : steps) {
    const DiffDecision d = detector->Process(s.index, Uniform(s.value));
    EXPECT_EQ(d.changed, s.changed) << "frame " << s.index;
    EXPECT_EQ(d.reuse_frame, s.reuse_frame) << "frame " << s.index;
    if (std::isnan(s.score)) {
      EXPECT_TRUE(std::isnan(d.score)) << "frame " << s.index;
    } else {
      EXPECT_DOUBLE_EQ(d.score, s.score) << "frame " << s.index;
    }
  }
}

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

TEST(DifferenceDetectorTest, AnchorModeReusesAnchorAndMovesItOnlyOnChange) {
  auto detector = MakeDetector({.threshold = 10});
  ASSERT_TRUE(detector.ok());
  // Uniform frames: MSE = (value difference)^2. Consecutive frames differ by
  // 2 (MSE 4), but the score is against the anchor, so drift accumulates.
  RunSequence(detector->get(), {
                                   {0, 100, true, -1, kNaN},  // first frame: anchor
                                   {1, 102, false, 0, 4},
                                   {2, 103, false, 0, 9},
                                   {3, 104, true, -1, 16},  // 16 > 10: new anchor
                                   {5, 106, false, 3, 4},
                                   {6, 100, true, -1, 16},  // vs anchor 3 (104)
                                   {7, 100, false, 6, 0},
                               });
}

TEST(DifferenceDetectorTest, ScoreEqualToThresholdIsUnchanged) {
  auto detector = MakeDetector({.threshold = 4});
  ASSERT_TRUE(detector.ok());
  RunSequence(detector->get(), {{0, 10, true, -1, kNaN}, {1, 12, false, 0, 4}});
}

TEST(DifferenceDetectorTest, AnchorIsACopyOfTheCallersBuffer) {
  auto detector = MakeDetector({.threshold = 1});
  ASSERT_TRUE(detector.ok());
  cv::Mat buffer = Uniform(50);  // a decoder reusing one buffer
  EXPECT_TRUE((*detector)->Process(0, buffer).changed);
  buffer.setTo(cv::Scalar::all(90));
  const DiffDecision d = (*detector)->Process(1, buffer);
  EXPECT_TRUE(d.changed);
  EXPECT_DOUBLE_EQ(d.score, 1600);
}

TEST(DifferenceDetectorTest, DeltaModeComparesWithFrameNCallsEarlier) {
  DiffOptions options{.threshold = 10};
  ASSERT_TRUE(ParseReferenceMode("delta:2", &options).ok());
  auto detector = MakeDetector(options);
  ASSERT_TRUE(detector.ok());
  RunSequence(detector->get(), {
                                   {10, 100, true, -1, kNaN},  // first N frames: no reference
                                   {20, 100, true, -1, kNaN},
                                   {30, 100, false, 10, 0},    // vs frame 10
                                   {40, 150, true, -1, 2500},  // vs frame 20
                                   {50, 101, false, 30, 1},    // vs frame 30
                                   {60, 150, false, 40, 0},    // vs frame 40, though unchanged
                                   {70, 101, false, 50, 0},    // delta stores every frame
                               });
}

TEST(DifferenceDetectorTest, BackgroundModeReportsAbsentWhenUnchanged) {
  const cv::Mat background(240, 320, CV_8UC3, cv::Scalar::all(60));  // resized at Create
  auto detector =
      MakeDetector({.reference = ReferenceMode::kBackground, .threshold = 25}, background);
  ASSERT_TRUE(detector.ok()) << detector.status();
  RunSequence(detector->get(), {
                                   {0, 60, false, -1, 0},  // no "first frame" in this mode
                                   {1, 65, false, -1, 25},
                                   {2, 90, true, -1, 900},
                                   {3, 61, false, -1, 1},  // background never moves
                               });
}

TEST(DifferenceDetectorTest, WrongSizeFrameIsChangedAndEmptiesTheAnchor) {
  auto detector = MakeDetector({.threshold = 10});
  ASSERT_TRUE(detector.ok());
  EXPECT_TRUE((*detector)->Process(0, Uniform(100)).changed);
  const DiffDecision bad = (*detector)->Process(1, Uniform(100, 64, 64));
  EXPECT_TRUE(bad.changed);
  EXPECT_TRUE(std::isnan(bad.score));
  const DiffDecision next = (*detector)->Process(2, Uniform(100));
  EXPECT_TRUE(next.changed);
  EXPECT_TRUE(std::isnan(next.score));
  EXPECT_FALSE((*detector)->Process(3, Uniform(100)).changed);
}

TEST(ParseTest, MetricsReductionsAndReferenceModes) {
  EXPECT_EQ(*ParseDiffMetric("global"), DiffMetric::kGlobalMse);
  EXPECT_EQ(*ParseDiffMetric("blocked"), DiffMetric::kBlockedMse);
  EXPECT_FALSE(ParseDiffMetric("mse").ok());
  EXPECT_EQ(*ParseBlockReduce("max"), BlockReduce::kMax);
  EXPECT_EQ(*ParseBlockReduce("sum"), BlockReduce::kWeightedSum);
  EXPECT_FALSE(ParseBlockReduce("mean").ok());
  EXPECT_EQ(DiffMetricName(DiffMetric::kBlockedMse), "blocked");
  EXPECT_EQ(BlockReduceName(BlockReduce::kWeightedSum), "sum");
  for (const char* text : {"anchor", "background", "delta:1", "delta:30"}) {
    DiffOptions options;
    ASSERT_TRUE(ParseReferenceMode(text, &options).ok()) << text;
    EXPECT_EQ(ReferenceModeString(options), text);
  }
  DiffOptions options;
  ASSERT_TRUE(ParseReferenceMode("delta:7", &options).ok());
  EXPECT_EQ(options.reference, ReferenceMode::kDelta);
  EXPECT_EQ(options.delta, 7);
  for (const char* bad : {"", "delta", "delta:", "delta:0", "delta:-3", "delta:x", "delta:2x",
                          "delta:99999999", "Anchor", "previous"}) {
    EXPECT_EQ(ParseReferenceMode(bad, &options).code(), absl::StatusCode::kInvalidArgument) << bad;
  }
}

TEST(DifferenceDetectorTest, RejectsBadOptions) {
  const DiffOptions blocked{.metric = DiffMetric::kBlockedMse};
  const std::vector<std::pair<std::string, std::function<void(DiffOptions*)>>> cases = {
      {"zero width", [](DiffOptions* o) { o->width = 0; }},
      {"negative height", [](DiffOptions* o) { o->height = -5; }},
      {"negative threshold", [](DiffOptions* o) { o->threshold = -1; }},
      {"NaN threshold", [](DiffOptions* o) { o->threshold = kNaN; }},
      {"delta 0",
       [](DiffOptions* o) {
         o->reference = ReferenceMode::kDelta;
         o->delta = 0;
       }},
      {"grid taller than frame", [](DiffOptions* o) { o->grid_rows = 101; }},
      {"zero grid cols", [](DiffOptions* o) { o->grid_cols = 0; }},
      {"wrong weight count",
       [](DiffOptions* o) {
         o->reduce = BlockReduce::kWeightedSum;
         o->block_weights.assign(15, 1.0);
       }},
      {"negative weight", [](DiffOptions* o) { o->block_weights.assign(16, -1.0); }},
      {"background without image",
       [](DiffOptions* o) { o->reference = ReferenceMode::kBackground; }},
  };
  for (const auto& [name, mutate] : cases) {
    DiffOptions options = blocked;
    mutate(&options);
    EXPECT_EQ(MakeDetector(options).status().code(), absl::StatusCode::kInvalidArgument) << name;
  }
  // A grid only matters for the blocked metric.
  EXPECT_TRUE(MakeDetector({.width = 2, .height = 2}).ok());
  EXPECT_FALSE(
      MakeDetector({.reference = ReferenceMode::kBackground}, cv::Mat(10, 10, CV_8UC1)).ok());
}

}  // namespace
}  // namespace dnoscope::detect
