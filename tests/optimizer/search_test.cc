#include "optimizer/search.h"

#include <cmath>
#include <limits>

#include "gtest/gtest.h"
#include "optimizer/test_scenes.h"
#include "optimizer/threshold_sweep.h"

namespace dnoscope::optimizer {
namespace {

using testing::HandMadeFeatures;
using testing::RandomFeatures;

constexpr StageCosts kCosts{.difference_ms = 0.01, .specialized_ms = 1, .reference_ms = 10};

SearchOptions Options(double fp, double fn, bool per_window = false) {
  SearchOptions o;
  o.targets = {.max_fp_rate = fp, .max_fn_rate = fn, .per_window = per_window};
  o.diff.width = 4;
  o.diff.height = 4;
  o.costs = kCosts;
  return o;
}

SearchResult MustSearch(const Features& f, const SearchOptions& o) {
  absl::StatusOr<SearchResult> r = SearchThresholds(f, o, Clock::Real());
  EXPECT_TRUE(r.ok()) << r.status();
  return r.ok() ? *r : SearchResult{};
}

// Ten frames, every one very different from the last (reusing any label is
// wrong), five positive. The specialized model is sure of 8 frames; frame 4
// (positive, 0.3) and frame 5 (negative, 0.7) are ambiguous.
Features TenFrames() {
  return HandMadeFeatures({0, 255, 0, 255, 0, 255, 0, 255, 0, 255},
                          {0.8f, 0.9f, 0.1f, 0.2f, 0.3f, 0.7f, 0.85f, 0.25f, 0.15f, 0.95f},
                          {1, 1, 0, 0, 1, 0, 1, 0, 0, 1});
}

TEST(SearchTest, ZeroTargetsSendOnlyTheAmbiguousFramesToTheReference) {
  const SearchResult r = MustSearch(TenFrames(), Options(0, 0));
  ASSERT_TRUE(r.met_targets);
  const Setting& s = r.chosen.setting;
  EXPECT_EQ(s.skip, 1);
  EXPECT_EQ(s.diff_threshold, 0);
  ASSERT_TRUE(s.use_specialized);
  EXPECT_GE(s.c_low, 0.25f);  // the negatives at <= 0.25 are absent...
  EXPECT_LT(s.c_low, 0.3f);   // ...but not the positive at 0.3
  EXPECT_GT(s.c_high, 0.7f);
  EXPECT_LE(s.c_high, 0.8f);
  EXPECT_EQ(r.chosen.shares.reference, 2);
  EXPECT_EQ(r.chosen.shares.specialized, 8);
  EXPECT_NEAR(r.chosen.cost_ms_per_frame, (10 * 0.01 + 10 * 1 + 2 * 10) / 10.0, 1e-9);
  EXPECT_EQ(r.chosen.accuracy.frames.fp, 0);
  EXPECT_EQ(r.chosen.accuracy.frames.fn, 0);
}

TEST(SearchTest, OneAllowedFalseNegativeLetsTheSpecializedModelDecideEverything) {
  // Frame 4 (positive, 0.3) may be missed; then frame 5 (negative, 0.7) is
  // correctly absent too and no frame needs the reference.
  const SearchResult r = MustSearch(TenFrames(), Options(0, 0.2));
  ASSERT_TRUE(r.met_targets);
  EXPECT_GE(r.chosen.setting.c_low, 0.7f);
  EXPECT_LT(r.chosen.setting.c_low, 0.8f);
  EXPECT_EQ(r.chosen.shares.reference, 0);
  EXPECT_EQ(r.chosen.accuracy.frames.fn, 1);
  EXPECT_EQ(r.chosen.accuracy.frames.fp, 0);
  EXPECT_NEAR(r.chosen.cost_ms_per_frame, 1.01, 1e-9);
}

TEST(SearchTest, OneAllowedFalsePositiveLetsTheSpecializedModelDecideEverything) {
  const SearchResult r = MustSearch(TenFrames(), Options(0.2, 0));
  ASSERT_TRUE(r.met_targets);
  EXPECT_GT(r.chosen.setting.c_high, 0.25f);
  EXPECT_LE(r.chosen.setting.c_high, 0.3f);
  EXPECT_EQ(r.chosen.shares.reference, 0);
  EXPECT_EQ(r.chosen.accuracy.frames.fp, 1);
  EXPECT_EQ(r.chosen.accuracy.frames.fn, 0);
  EXPECT_NEAR(r.chosen.cost_ms_per_frame, 1.01, 1e-9);
}

TEST(SearchTest, UselessSpecializedModelIsLeftOut) {
  Features f = TenFrames();
  std::fill(f.confidence.begin(), f.confidence.end(), 0.5f);
  const SearchResult r = MustSearch(f, Options(0, 0));
  ASSERT_TRUE(r.met_targets);
  EXPECT_FALSE(r.chosen.setting.use_specialized);  // cheaper than running it for nothing
  EXPECT_EQ(r.chosen.shares.reference, 10);
  EXPECT_NEAR(r.chosen.cost_ms_per_frame, 10.01, 1e-9);
}

TEST(SearchTest, IdenticalFramesReuseLabelsWhenThatIsCorrect) {
  // Runs of identical images with one label each: t_diff 0 already reuses.
  Features f = HandMadeFeatures({10, 10, 10, 200, 200, 200, 10, 10}, {}, {0, 0, 0, 1, 1, 1, 0, 0});
  const SearchResult r = MustSearch(f, Options(0, 0));
  ASSERT_TRUE(r.met_targets);
  EXPECT_EQ(r.chosen.shares.reference, 3);
  EXPECT_EQ(r.chosen.shares.diff_reused, 5);
}

TEST(SearchTest, UnreachableTargetsFallBackToTheSafeSetting) {
  // Identical images but changing truth: reusing is wrong, yet even t_diff 0 reuses.
  Features f = HandMadeFeatures({50, 50, 50, 50, 50, 50}, {0.5f, 0.5f, 0.5f, 0.5f, 0.5f, 0.5f},
                                {0, 1, 0, 1, 0, 1});
  const SearchResult r = MustSearch(f, Options(0, 0));
  EXPECT_FALSE(r.met_targets);
  const Setting fallback = FallbackSetting();
  EXPECT_EQ(r.chosen.setting.skip, fallback.skip);
  EXPECT_EQ(r.chosen.setting.diff_threshold, 0);
  EXPECT_FALSE(r.chosen.setting.use_specialized);
  EXPECT_EQ(r.chosen.shares.reference, 1);
  EXPECT_EQ(r.chosen.accuracy.frames.fn, 3);  // honest about what the fallback misses
}

TEST(SearchTest, SkippingIsChosenWhenLabelsChangeOnlyAtSampledFrames) {
  // Runs of 10 frames starting at multiples of 5; every image is new noise and
  // the specialized model knows nothing: skip 5 is exact and cheapest.
  std::vector<uint8_t> values, truth;
  for (int i = 0; i < 100; ++i) {
    values.push_back(static_cast<uint8_t>((i * 97) % 256));
    truth.push_back((i / 10) % 2);
  }
  Features f = HandMadeFeatures(values, std::vector<float>(100, 0.5f), truth);
  SearchOptions o = Options(0, 0);
  o.skip_candidates = {1, 3, 5};
  const SearchResult r = MustSearch(f, o);
  ASSERT_TRUE(r.met_targets);
  EXPECT_EQ(r.chosen.setting.skip, 5);
  EXPECT_EQ(r.chosen.shares.skipped, 80);
  EXPECT_EQ(r.chosen.accuracy.frames.fp + r.chosen.accuracy.frames.fn, 0);
  EXPECT_LE(r.chosen.cost_ms_per_frame, (20 * 0.01 + 20 * 10) / 100.0 + 1e-9);
}

TEST(SearchTest, WindowTargetsTolerateSingleFrameErrors) {
  // Frames 0-29 positive but frame 5, frames 30-59 negative but frame 40; the
  // specialized model is sure and wrong on frames 5 and 40.
  std::vector<uint8_t> values, truth;
  std::vector<float> conf;
  for (int i = 0; i < 60; ++i) {
    values.push_back(static_cast<uint8_t>(i % 2 ? 255 : 0));
    truth.push_back(i < 30 ? i != 5 : i == 40);
    conf.push_back(i < 30 ? 0.9f : 0.1f);
  }
  const Features f = HandMadeFeatures(values, conf, truth);
  const SearchResult per_frame = MustSearch(f, Options(0, 0));
  const SearchResult per_window = MustSearch(f, Options(0, 0, /*per_window=*/true));
  ASSERT_TRUE(per_frame.met_targets);
  ASSERT_TRUE(per_window.met_targets);
  EXPECT_EQ(per_window.chosen.shares.reference, 0);
  EXPECT_EQ(per_window.chosen.accuracy.windows.fp + per_window.chosen.accuracy.windows.fn, 0);
  EXPECT_GT(per_window.chosen.accuracy.frames.fp + per_window.chosen.accuracy.frames.fn, 0);
  EXPECT_LT(per_window.chosen.cost_ms_per_frame, per_frame.chosen.cost_ms_per_frame);
}

// The cheapest feasible cost by simulating every candidate setting in full.
std::optional<double> BruteForceCheapest(const Features& f, const SearchOptions& o) {
  const std::vector<float> c = internal::ConfidenceThresholds(f, o.confidence_thresholds);
  std::optional<double> best;
  auto consider = [&](const Setting& s) {
    absl::StatusOr<Expectation> e = Expect(f, o, s);
    EXPECT_TRUE(e.ok()) << e.status();
    if (e.ok() && MeetsTargets(e->accuracy, o.targets) && (!best || e->cost_ms_per_frame < *best)) {
      best = e->cost_ms_per_frame;
    }
  };
  for (int skip : o.skip_candidates) {
    absl::StatusOr<DiffPlan> zero = PlanDifference(f, o.diff, o.background, skip, 0);
    EXPECT_TRUE(zero.ok());
    for (double t : internal::DiffThresholdCandidates(*zero, o.diff_threshold_candidates)) {
      consider({.skip = skip, .diff_threshold = t});
      for (size_t a = 0; a < c.size(); ++a) {
        for (size_t b = a; b < c.size(); ++b) {
          consider({skip, t, true, c[a], c[b]});
        }
      }
    }
  }
  return best;
}

struct BruteForceCase {
  const char* name;
  bool per_window;
  const char* reference_mode;
  std::vector<int> skips;
  double fp, fn;
};

class SearchBruteForceTest : public ::testing::TestWithParam<BruteForceCase> {};

TEST_P(SearchBruteForceTest, SweepFindsTheSameCheapestCostAsFullSimulation) {
  const BruteForceCase& p = GetParam();
  for (uint64_t seed : {1, 2, 3, 4}) {
    const Features f = RandomFeatures(150, seed);
    SearchOptions o = Options(p.fp, p.fn, p.per_window);
    o.targets.window = 10;
    o.targets.window_min_positive = 8;
    ASSERT_TRUE(detect::ParseReferenceMode(p.reference_mode, &o.diff).ok());
    o.skip_candidates = p.skips;
    o.diff_threshold_candidates = 8;
    o.confidence_thresholds = 10;
    const SearchResult r = MustSearch(f, o);
    const std::optional<double> brute = BruteForceCheapest(f, o);
    ASSERT_EQ(r.met_targets, brute.has_value()) << "seed " << seed;
    if (!brute) continue;
    EXPECT_NEAR(r.chosen.cost_ms_per_frame, *brute, 1e-9) << "seed " << seed;
    EXPECT_TRUE(MeetsTargets(r.chosen.accuracy, o.targets)) << "seed " << seed;
  }
}

INSTANTIATE_TEST_SUITE_P(
    Modes, SearchBruteForceTest,
    ::testing::Values(BruteForceCase{"frame_anchor", false, "anchor", {1}, 0.1, 0.1},
                      BruteForceCase{"frame_anchor_tight", false, "anchor", {1}, 0.02, 0.0},
                      BruteForceCase{"frame_delta_skips", false, "delta:2", {1, 3}, 0.1, 0.05},
                      BruteForceCase{"window_anchor", true, "anchor", {1}, 0.1, 0.1},
                      BruteForceCase{"window_skips", true, "anchor", {1, 2}, 0.0, 0.2}),
    [](const auto& info) { return std::string(info.param.name); });

TEST(SearchTest, ChosenRatesNeverExceedTheTargets) {
  for (uint64_t seed = 10; seed < 16; ++seed) {
    const Features f = RandomFeatures(300, seed);
    for (double target : {0.0, 0.01, 0.05, 0.2}) {
      const SearchResult r = MustSearch(f, Options(target, target));
      if (!r.met_targets) continue;
      // Re-simulate independently of the search's bookkeeping.
      absl::StatusOr<std::vector<labels::FrameResult>> sim =
          Simulate(f, Options(0, 0).diff, {}, r.chosen.setting);
      ASSERT_TRUE(sim.ok());
      std::vector<uint8_t> predicted;
      for (const auto& row : *sim) predicted.push_back(row.label);
      const Accuracy a = MeasureAccuracy(f.truth, predicted, 30, 28);
      EXPECT_LE(a.frames.fp_rate, target) << "seed " << seed;
      EXPECT_LE(a.frames.fn_rate, target) << "seed " << seed;
    }
  }
}

TEST(SearchTest, TighterTargetsNeverGiveACheaperSetting) {
  for (uint64_t seed = 20; seed < 24; ++seed) {
    const Features f = RandomFeatures(300, seed);
    double previous_cost = 0;
    bool previous_met = true;
    for (double target : {0.5, 0.2, 0.1, 0.05, 0.02, 0.01, 0.0}) {
      const SearchResult r = MustSearch(f, Options(target, target));
      if (!r.met_targets) {
        previous_met = false;
        continue;
      }
      EXPECT_TRUE(previous_met) << "looser targets were unmet, tighter met; seed " << seed;
      EXPECT_GE(r.chosen.cost_ms_per_frame, previous_cost - 1e-9) << "seed " << seed;
      previous_cost = r.chosen.cost_ms_per_frame;
    }
  }
}

TEST(SearchTest, ConfidenceBoundsGiveAChoiceAtLeastAsCostlyWithBoundsWithinTargets) {
  for (uint64_t seed = 30; seed < 34; ++seed) {
    const Features f = RandomFeatures(400, seed);
    SearchOptions plain = Options(0.1, 0.1);
    SearchOptions bounded = plain;
    bounded.targets.confidence = 0.9;
    const SearchResult a = MustSearch(f, plain);
    const SearchResult b = MustSearch(f, bounded);
    if (!a.met_targets) continue;
    if (!b.met_targets) continue;  // the bound may rule out every setting
    EXPECT_GE(b.chosen.cost_ms_per_frame, a.chosen.cost_ms_per_frame - 1e-9) << seed;
    const ErrorRates& r = b.chosen.accuracy.frames;
    EXPECT_LE(RateUpperBound(r.fp, r.negatives, 0.9), 0.1) << seed;
    EXPECT_LE(RateUpperBound(r.fn, r.positives, 0.9), 0.1) << seed;
  }
}

TEST(RateUpperBoundTest, WilsonBoundMatchesHandComputedValues) {
  EXPECT_DOUBLE_EQ(RateUpperBound(3, 100, 0), 0.03);
  EXPECT_DOUBLE_EQ(RateUpperBound(0, 0, 0.9), 0.0);
  // One-sided 90% (z = 1.28155): 0 of 100 -> 0.016158; 5 of 100 -> 0.085914.
  EXPECT_NEAR(RateUpperBound(0, 100, 0.9), 0.016158, 1e-5);
  EXPECT_NEAR(RateUpperBound(5, 100, 0.9), 0.085914, 1e-5);
  // More evidence tightens the bound towards the rate.
  EXPECT_GT(RateUpperBound(5, 100, 0.9), RateUpperBound(50, 1000, 0.9));
  EXPECT_GT(RateUpperBound(50, 1000, 0.9), 0.05);
  EXPECT_LE(RateUpperBound(100, 100, 0.99), 1.0);
}

TEST(SearchTest, CandidateThresholdsNeverEqualAConfidence) {
  const Features f = RandomFeatures(500, 7);
  const std::vector<float> t = internal::ConfidenceThresholds(f, 64);
  ASSERT_GE(t.size(), 10u);
  EXPECT_LT(t.front(), 0.0f);
  EXPECT_GT(t.back(), 1.0f);
  for (float c : f.confidence) {
    EXPECT_FALSE(std::binary_search(t.begin(), t.end(), c)) << c;
  }
}

TEST(SearchTest, RejectsBadOptions) {
  const Features f = TenFrames();
  EXPECT_EQ(SearchThresholds(f, Options(1.5, 0), Clock::Real()).status().code(),
            absl::StatusCode::kInvalidArgument);
  SearchOptions o = Options(0, 0);
  o.skip_candidates = {0};
  EXPECT_EQ(SearchThresholds(f, o, Clock::Real()).status().code(),
            absl::StatusCode::kInvalidArgument);
  o = Options(0, 0);
  o.diff.width = 8;  // features are 4x4
  EXPECT_EQ(SearchThresholds(f, o, Clock::Real()).status().code(),
            absl::StatusCode::kInvalidArgument);
  o = Options(0, 0);
  o.costs.reference_ms = -1;
  EXPECT_EQ(SearchThresholds(f, o, Clock::Real()).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(SearchThresholds(Features{}, Options(0, 0), Clock::Real()).status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace dnoscope::optimizer
