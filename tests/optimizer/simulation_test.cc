// The optimizer's simulation and the engine are two drivers of the one
// cascade policy: over the same frames, models and thresholds they must give
// the same rows, frame for frame.
#include "optimizer/simulation.h"

#include <cmath>

#include "cascade/cascade.h"
#include "models/local_stage.h"
#include "fmt/format.h"
#include "gtest/gtest.h"
#include "labels/evaluation.h"
#include "opencv2/imgcodecs.hpp"
#include "optimizer/optimizer.h"
#include "optimizer/search.h"
#include "optimizer/test_scenes.h"
#include "optimizer/threshold_sweep.h"
#include "testing/fakes.h"

namespace dnoscope::optimizer {
namespace {

using labels::FrameResult;
using testing::MakeScene;
using testing::MeanRedClassifier;
using testing::Scene;

struct AgreementCase {
  const char* name;
  const char* reference_mode;
  std::optional<Roi> roi;
  std::vector<int64_t> corrupt;
};

cascade::CascadeConfig BaseConfig(const AgreementCase& p, const std::string& background_path) {
  cascade::CascadeConfig c;
  c.object = "person";
  c.roi = p.roi;
  c.diff.width = 16;
  c.diff.height = 12;
  EXPECT_TRUE(detect::ParseReferenceMode(p.reference_mode, &c.diff).ok());
  c.diff_background = background_path;
  c.specialized.model = "mean_red";
  c.specialized_width = 32;  // MeanRedClassifier's input
  c.specialized_height = 24;
  return c;
}

Features Extract(const Scene& scene, const cascade::CascadeConfig& config) {
  testing::MeanRedClassifier classifier;
  dnoscope::testing::FakeDetector detector(scene.boxes, {"person"});
  dnoscope::testing::FakeFrameSource source(scene.frames, testing::kSceneWidth,
                                            testing::kSceneHeight);
  FeatureOptions options{.config = config};
  absl::StatusOr<Features> f =
      ExtractFeatures(source, {&classifier, &detector}, scene.truth, options, Clock::Real());
  EXPECT_TRUE(f.ok()) << f.status();
  return f.ok() ? *std::move(f) : Features{};
}

std::vector<FrameResult> RunCascade(const Scene& scene, const cascade::CascadeConfig& config) {
  std::unique_ptr<models::ModelStage> specialized;
  if (config.specialized_enabled()) {
    specialized = models::MakeLocalStage(std::make_unique<MeanRedClassifier>());
  }
  std::unique_ptr<models::ModelStage> reference =
      models::MakeLocalStage(std::make_unique<dnoscope::testing::FakeDetector>(
          scene.boxes, std::vector<std::string>{"person"}));
  auto cascade = cascade::Cascade::Create(config, {}, {specialized.get(), reference.get()});
  EXPECT_TRUE(cascade.ok()) << cascade.status();
  if (!cascade.ok()) return {};
  dnoscope::testing::FakeFrameSource source(testing::Sampled(scene.frames, config.skip),
                                            testing::kSceneWidth, testing::kSceneHeight);
  std::vector<FrameResult> rows;
  auto summary = (*cascade)->Run(source, [&](const FrameResult& r) {
    rows.push_back(r);
    return absl::OkStatus();
  });
  EXPECT_TRUE(summary.ok()) << summary.status();
  return rows;
}

bool SameFloat(float a, float b) { return (std::isnan(a) && std::isnan(b)) || a == b; }

void ExpectSameRows(const std::vector<FrameResult>& predicted,
                    const std::vector<FrameResult>& actual, const std::string& what) {
  ASSERT_EQ(predicted.size(), actual.size()) << what;
  for (size_t i = 0; i < actual.size(); ++i) {
    const FrameResult& p = predicted[i];
    const FrameResult& a = actual[i];
    ASSERT_EQ(p.frame, a.frame) << what;
    EXPECT_EQ(p.status, a.status) << what << ", frame " << a.frame;
    EXPECT_EQ(p.label, a.label) << what << ", frame " << a.frame;
    EXPECT_TRUE(SameFloat(p.diff_score, a.diff_score))
        << what << ", frame " << a.frame << ": " << p.diff_score << " vs " << a.diff_score;
    EXPECT_TRUE(SameFloat(p.specialized_confidence, a.specialized_confidence))
        << what << ", frame " << a.frame;
  }
}

// The chosen setting plus a spread of others over the search space.
std::vector<Setting> SettingsToCheck(const Features& f, const SearchOptions& o) {
  absl::StatusOr<SearchResult> r = SearchThresholds(f, o, Clock::Real());
  EXPECT_TRUE(r.ok()) << r.status();
  std::vector<Setting> settings = {r->chosen.setting, FallbackSetting()};
  const std::vector<float> c = internal::ConfidenceThresholds(f, 8);
  for (int skip : {1, 3}) {
    absl::StatusOr<DiffPlan> zero = PlanDifference(f, o.diff, o.background, skip, 0);
    EXPECT_TRUE(zero.ok());
    const std::vector<double> t = internal::DiffThresholdCandidates(*zero, 6);
    for (size_t k : {size_t{0}, t.size() / 2, t.size() - 1}) {
      settings.push_back({.skip = skip, .diff_threshold = t[k]});
      settings.push_back({skip, t[k], true, c[1], c[c.size() - 3]});
      settings.push_back({skip, t[k], true, c[3], c[3]});
    }
  }
  return settings;
}

class SimulationAgreementTest : public ::testing::TestWithParam<AgreementCase> {};

TEST_P(SimulationAgreementTest, PredictsTheCascadeFrameForFrame) {
  const AgreementCase& p = GetParam();
  const Scene scene =
      MakeScene({.first_frame = 40, .frames = 160, .seed = 3, .corrupt = p.corrupt, .roi = p.roi});
  const std::string background_path = ::testing::TempDir() + "/optimizer_background.png";
  ASSERT_TRUE(cv::imwrite(background_path, scene.background));
  const cascade::CascadeConfig base = BaseConfig(p, background_path);
  const Features f = Extract(scene, base);
  ASSERT_EQ(f.size(), 160);
  OptimizeOptions oo;
  oo.base = base;
  oo.targets = {.max_fp_rate = 0.05, .max_fn_rate = 0.05};
  oo.skip_candidates = {1, 2};
  SearchOptions o =
      MakeSearchOptions(oo, {.difference_ms = 0.01, .specialized_ms = 0.1, .reference_ms = 10});
  if (base.diff.reference == detect::ReferenceMode::kBackground) {
    o.background =
        p.roi ? scene.background(cv::Rect(p.roi->x0, p.roi->y0, p.roi->width(), p.roi->height()))
                    .clone()
              : scene.background;
  }
  std::array<int64_t, labels::kNumFrameStatuses> seen{};
  for (const Setting& s : SettingsToCheck(f, o)) {
    const std::string what = fmt::format("skip {} t {} spec {} [{}, {}]", s.skip, s.diff_threshold,
                                         s.use_specialized, s.c_low, s.c_high);
    absl::StatusOr<std::vector<FrameResult>> predicted = Simulate(f, o.diff, o.background, s);
    ASSERT_TRUE(predicted.ok()) << predicted.status();
    ExpectSameRows(*predicted, RunCascade(scene, ApplySetting(base, s)), what);
    for (const FrameResult& r : *predicted) ++seen[static_cast<int>(r.status)];
  }
  // The settings exercised every path a frame can take.
  for (labels::FrameStatus status :
       {labels::FrameStatus::kSkipped, labels::FrameStatus::kDiffReused,
        labels::FrameStatus::kSpecialized, labels::FrameStatus::kReference}) {
    EXPECT_GT(seen[static_cast<int>(status)], 0) << labels::FrameStatusName(status);
  }
  EXPECT_EQ(seen[static_cast<int>(labels::FrameStatus::kCorrupt)] > 0, !p.corrupt.empty());
}

INSTANTIATE_TEST_SUITE_P(
    ReferenceModes, SimulationAgreementTest,
    ::testing::Values(AgreementCase{"anchor", "anchor", std::nullopt, {}},
                      AgreementCase{"anchor_roi_corrupt", "anchor", Roi{8, 4, 56, 40}, {45, 90}},
                      AgreementCase{"delta", "delta:3", std::nullopt, {70}},
                      AgreementCase{"background", "background", Roi{0, 0, 48, 48}, {}}),
    [](const auto& info) { return std::string(info.param.name); });

TEST(SimulationTest, MeasureAccuracyAgreesWithLabelsEvaluate) {
  std::mt19937 rng(5);
  const int64_t n = 95;  // the last window is short
  std::vector<uint8_t> truth(n), predicted(n);
  std::vector<labels::Detection> rows;
  std::vector<FrameResult> results;
  for (int64_t i = 0; i < n; ++i) {
    truth[i] = (i / 20) % 2 == 0 || rng() % 10 == 0;
    predicted[i] = rng() % 7 == 0 ? !truth[i] : truth[i];
    if (truth[i]) rows.push_back({i + 10, "car", 1, 0, 0, 1, 1});
    results.push_back({.frame = i + 10, .label = predicted[i] != 0});
  }
  const labels::LabelIndex index = labels::LabelIndex::Build(rows, {"car", 0, std::nullopt}, 200);
  labels::EvalOptions eo;
  eo.range = {10, 10 + n};
  eo.window = 10;
  eo.window_min_positive = 8;
  absl::StatusOr<labels::EvalResult> e = labels::Evaluate(index, results, eo);
  ASSERT_TRUE(e.ok()) << e.status();
  const Accuracy a = MeasureAccuracy(truth, predicted, 10, 8);
  EXPECT_EQ(a.frames.fp, e->false_positives);
  EXPECT_EQ(a.frames.fn, e->false_negatives);
  EXPECT_DOUBLE_EQ(a.frames.fp_rate, e->fp_rate);
  EXPECT_DOUBLE_EQ(a.frames.fn_rate, e->fn_rate);
  EXPECT_EQ(a.windows.positives + a.windows.negatives, e->windows);
  EXPECT_DOUBLE_EQ(a.windows.fp_rate, e->window_fp_rate);
  EXPECT_DOUBLE_EQ(a.windows.fn_rate, e->window_fn_rate);
}

TEST(SimulationTest, ExtractionMeasuresEveryStageAndChecksTheReference) {
  const Scene scene = MakeScene({.frames = 100});
  const cascade::CascadeConfig config = BaseConfig({"anchor", "anchor", std::nullopt, {}}, "");
  const Features f = Extract(scene, config);
  EXPECT_EQ(f.samples.decode, 100);
  EXPECT_EQ(f.samples.difference, 100);
  EXPECT_EQ(f.samples.specialized, 32);
  EXPECT_EQ(f.samples.reference, 8);
  EXPECT_EQ(f.reference_checked, 8);
  EXPECT_EQ(f.reference_agreed, 8);  // the fake detector answers from the truth
  EXPECT_EQ(f.confidence_batch_deviation, 0);
  EXPECT_GT(f.measured.difference_ms, 0);
  EXPECT_GT(f.measured.reference_ms, 0);
}

TEST(SimulationTest, ExtractionRejectsSampledSourcesAndOversizedRanges) {
  const Scene scene = MakeScene({.frames = 20});
  cascade::CascadeConfig config = BaseConfig({"anchor", "anchor", std::nullopt, {}}, "");
  dnoscope::testing::FakeFrameSource sampled(testing::Sampled(scene.frames, 2),
                                             testing::kSceneWidth, testing::kSceneHeight);
  EXPECT_EQ(
      ExtractFeatures(sampled, {}, scene.truth, {.config = config}, Clock::Real()).status().code(),
      absl::StatusCode::kInvalidArgument);
  dnoscope::testing::FakeFrameSource source(scene.frames, testing::kSceneWidth,
                                            testing::kSceneHeight);
  FeatureOptions small{.config = config, .max_feature_bytes = 16 * 12 * 3 * 10};
  absl::Status s = ExtractFeatures(source, {}, scene.truth, small, Clock::Real()).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("MB"), std::string::npos) << s;
  dnoscope::testing::FakeFrameSource empty({}, testing::kSceneWidth, testing::kSceneHeight);
  EXPECT_EQ(
      ExtractFeatures(empty, {}, scene.truth, {.config = config}, Clock::Real()).status().code(),
      absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace dnoscope::optimizer
