// CascadePolicy, the cascade's one set of decisions: routing, the threshold
// rule, the query match, the label memory and the row counts.
#include "cascade/policy.h"

#include <cmath>
#include <limits>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace dnoscope::cascade {
namespace {

using labels::FrameResult;
using labels::FrameStatus;
using ::testing::HasSubstr;

detect::DiffDecision Changed(double score) { return {score, true, -1}; }
detect::DiffDecision Reuse(int64_t frame, double score = 0.5) { return {score, false, frame}; }

TEST(JudgeConfidenceTest, ThresholdsAreInclusiveAndNanDefers) {
  struct Case {
    float confidence;
    Verdict want;
  };
  const Case cases[] = {{0.0f, Verdict::kAbsent},   {0.2f, Verdict::kAbsent},
                        {0.21f, Verdict::kUnsure},  {0.79f, Verdict::kUnsure},
                        {0.8f, Verdict::kPresent},  {1.0f, Verdict::kPresent},
                        {std::nanf(""), Verdict::kUnsure}};
  for (const Case& c : cases) {
    EXPECT_EQ(JudgeConfidence(c.confidence, 0.2f, 0.8f), c.want) << c.confidence;
  }
  // Equal thresholds: present wins at the threshold itself.
  EXPECT_EQ(JudgeConfidence(0.5f, 0.5f, 0.5f), Verdict::kPresent);
  // c_low < 0 never says absent, c_high > 1 never says present.
  EXPECT_EQ(JudgeConfidence(0.0f, -1.0f, 2.0f), Verdict::kUnsure);
  EXPECT_EQ(JudgeConfidence(1.0f, -1.0f, 2.0f), Verdict::kUnsure);
}

TEST(CascadePolicyTest, RoutesSkippedCorruptUnchangedAndChangedFrames) {
  Routing skipped = CascadePolicy::RouteFrame(false, false, std::nullopt);
  EXPECT_EQ(skipped.route, Route::kInherit);
  EXPECT_EQ(skipped.status, FrameStatus::kSkipped);
  EXPECT_TRUE(std::isnan(skipped.diff_score));
  Routing corrupt = CascadePolicy::RouteFrame(true, true, std::nullopt);
  EXPECT_EQ(corrupt.route, Route::kInherit);
  EXPECT_EQ(corrupt.status, FrameStatus::kCorrupt);
  Routing reused = CascadePolicy::RouteFrame(true, false, Reuse(4, 0.25));
  EXPECT_EQ(reused.route, Route::kReuse);
  EXPECT_EQ(reused.status, FrameStatus::kDiffReused);
  EXPECT_EQ(reused.reuse_frame, 4);
  EXPECT_FLOAT_EQ(reused.diff_score, 0.25f);
  Routing changed = CascadePolicy::RouteFrame(true, false, Changed(9));
  EXPECT_EQ(changed.route, Route::kModels);
  EXPECT_FLOAT_EQ(changed.diff_score, 9);
  EXPECT_EQ(CascadePolicy::RouteFrame(true, false, std::nullopt).route, Route::kModels);
}

TEST(CascadePolicyTest, SpecializedVerdictSetsStatusAndLabelOnlyWhenCertain) {
  CascadePolicy policy({.specialized = true, .c_low = 0.2f, .c_high = 0.8f});
  FrameResult r;
  EXPECT_FALSE(policy.DecideSpecialized(0.9f, &r));
  EXPECT_EQ(r.status, FrameStatus::kSpecialized);
  EXPECT_TRUE(r.label);
  EXPECT_FLOAT_EQ(r.specialized_confidence, 0.9f);
  FrameResult absent;
  EXPECT_FALSE(policy.DecideSpecialized(0.1f, &absent));
  EXPECT_FALSE(absent.label);
  FrameResult unsure;
  EXPECT_TRUE(policy.DecideSpecialized(0.5f, &unsure));
  EXPECT_FLOAT_EQ(unsure.specialized_confidence, 0.5f);
}

TEST(CascadePolicyTest, ReferenceMatchesClassScoreAndBoxCentreInTheRoi) {
  PolicyOptions o;
  o.query.object_name = "person";
  o.query.min_confidence = 0.5f;
  o.query.roi = Roi{0, 0, 32, 48};
  CascadePolicy policy(o);
  const std::vector<std::string> names = {"person", "car"};
  struct Case {
    const char* name;
    models::BoxDetection box;
    bool present;
  };
  const Case cases[] = {
      {"inside", {0, 0.9f, 5, 5, 15, 15}, true},
      {"centre outside the ROI", {0, 0.9f, 35, 5, 45, 15}, false},
      {"below min confidence", {0, 0.4f, 5, 5, 15, 15}, false},
      {"other class", {1, 0.9f, 5, 5, 15, 15}, false},
      {"class id out of range", {7, 0.9f, 5, 5, 15, 15}, false},
  };
  for (const Case& c : cases) {
    FrameResult r;
    policy.DecideReference(std::vector<models::BoxDetection>{c.box}, names, &r);
    EXPECT_EQ(r.label, c.present) << c.name;
    EXPECT_EQ(r.status, FrameStatus::kReference);
  }
  FrameResult best;
  policy.DecideReference(
      std::vector<models::BoxDetection>{{0, 0.6f, 5, 5, 15, 15}, {0, 0.8f, 1, 1, 9, 9},
                                        {0, 0.95f, 40, 5, 50, 15}},
      names, &best);
  EXPECT_FLOAT_EQ(best.reference_confidence, 0.8f);  // the best matching box, not the best box
  FrameResult none;
  policy.DecideReference(std::vector<models::BoxDetection>{}, names, &none);
  EXPECT_FALSE(none.label);
  EXPECT_EQ(none.reference_confidence, 0);
}

// Completes `routing` for frame `frame` with `label` when the models decide.
absl::Status Complete(CascadePolicy& policy, int64_t frame, const Routing& routing,
                      bool label = false, FrameResult* out = nullptr) {
  FrameResult r;
  r.frame = frame;
  r.status = routing.status;
  if (routing.route == Route::kModels) policy.DecideReference(label, 0.9f, &r);
  const absl::Status s = policy.Complete(routing, &r);
  if (out) *out = r;
  return s;
}

TEST(CascadePolicyTest, ADroppedFrameInheritsTheLastLabelWhateverElseHolds) {
  // A live run dropped the frame unseen: even a changed difference score
  // (the detector never runs on it in the engine) does not send it to a model.
  Routing dropped = CascadePolicy::RouteFrame(true, false, Changed(9), /*dropped=*/true);
  EXPECT_EQ(dropped.route, Route::kInherit);
  EXPECT_EQ(dropped.status, FrameStatus::kDropped);
  CascadePolicy policy({});
  FrameResult r;
  ASSERT_TRUE(Complete(policy, 0, CascadePolicy::RouteFrame(true, false, Changed(9)), true).ok());
  ASSERT_TRUE(Complete(policy, 1, dropped, false, &r).ok());
  EXPECT_TRUE(r.label);
  EXPECT_EQ(r.status, FrameStatus::kDropped);
  EXPECT_EQ(policy.counts().status_counts[static_cast<int>(FrameStatus::kDropped)], 1);
}

TEST(CascadePolicyTest, ReuseAndInheritanceReadTheLabelMemory) {
  CascadePolicy policy({});
  FrameResult r;
  ASSERT_TRUE(Complete(policy, 0, CascadePolicy::RouteFrame(true, false, Changed(9)), true).ok());
  ASSERT_TRUE(Complete(policy, 1, CascadePolicy::RouteFrame(false, false, {}), false, &r).ok());
  EXPECT_TRUE(r.label);  // skipped: the previous row's label
  ASSERT_TRUE(Complete(policy, 2, CascadePolicy::RouteFrame(true, false, Reuse(0)), false, &r).ok());
  EXPECT_TRUE(r.label);  // the anchor's label
  ASSERT_TRUE(Complete(policy, 3, CascadePolicy::RouteFrame(true, false, Reuse(-1)), false, &r).ok());
  EXPECT_FALSE(r.label);  // background: the empty scene
  ASSERT_TRUE(Complete(policy, 4, CascadePolicy::RouteFrame(true, true, {}), false, &r).ok());
  EXPECT_FALSE(r.label);  // corrupt: the previous row's label
  const FrameCounts& c = policy.counts();
  EXPECT_EQ(c.frames, 5);
  EXPECT_EQ(c.positive_frames, 3);
  EXPECT_EQ(c.corrupt_frames, 1);
  EXPECT_EQ(c.status_counts[static_cast<int>(FrameStatus::kDiffReused)], 2);
}

TEST(CascadePolicyTest, MemoryKeepsReuseDepthFramesAndReportsAnUnknownFrame) {
  CascadePolicy policy({.reuse_depth = 2});
  for (int64_t f = 0; f < 3; ++f) {
    ASSERT_TRUE(
        Complete(policy, f, CascadePolicy::RouteFrame(true, false, Changed(9)), f == 1).ok());
  }
  FrameResult r;
  ASSERT_TRUE(Complete(policy, 3, CascadePolicy::RouteFrame(true, false, Reuse(1)), false, &r).ok());
  EXPECT_TRUE(r.label);  // two frames back: still remembered
  const absl::Status forgotten =
      Complete(policy, 4, CascadePolicy::RouteFrame(true, false, Reuse(0)));
  EXPECT_EQ(forgotten.code(), absl::StatusCode::kInternal);
  EXPECT_THAT(forgotten.message(), HasSubstr("frame 0"));
}

TEST(CascadePolicyTest, OptionsForAConfig) {
  CascadeConfig config;
  config.object = "car";
  config.min_confidence = 0.3f;
  config.specialized.model = "spec";
  config.c_low = 0.1f;
  config.c_high = 0.7f;
  config.diff.reference = detect::ReferenceMode::kDelta;
  config.diff.delta = 5;
  PolicyOptions o = PolicyOptionsFor(config);
  EXPECT_TRUE(o.specialized);
  EXPECT_EQ(o.query.object_name, "car");
  EXPECT_FLOAT_EQ(o.query.min_confidence, 0.3f);
  EXPECT_FLOAT_EQ(o.c_low, 0.1f);
  EXPECT_EQ(o.reuse_depth, 5);
  config.diff_enabled = false;
  EXPECT_EQ(PolicyOptionsFor(config).reuse_depth, 1);
}

}  // namespace
}  // namespace dnoscope::cascade
