// The drift monitor alone: when a window of audited rows is judged above or
// under the targets, which step it moves to, from which frame, and what it
// reports.
#include "cascade/drift.h"

#include <vector>

#include "gtest/gtest.h"

namespace dnoscope::cascade {
namespace {

using labels::FrameResult;
using labels::FrameStatus;

std::vector<OperatingPoint> ThreeSteps() {
  OperatingPoint own{.diff_threshold = 4, .specialized = true, .c_low = 0.4f, .c_high = 0.6f};
  OperatingPoint safer{.diff_threshold = 2, .specialized = true, .c_low = 0.1f, .c_high = 0.9f};
  OperatingPoint safest{.diff_threshold = 2, .specialized = false};
  return {own, safer, safest};
}

DriftOptions Options(DriftMode mode) {
  DriftOptions o;
  o.mode = mode;
  o.fp_target = 0.05;
  o.fn_target = 0.05;
  o.window_rows = 100;
  o.min_audits = 10;
  return o;
}

FrameResult Row(int64_t frame, FrameStatus status, bool label) {
  FrameResult r;
  r.frame = frame;
  r.status = status;
  r.label = label;
  return r;
}

// Feeds frames [from, to): every frame the specialized stage says absent;
// every other one audited, the reference saying present on `wrong_every`-th
// audited frames (0: never). Every fourth frame is a reference-decided
// positive, so the FN rate has a denominator. Returns the events.
std::vector<DriftChange> Feed(DriftMonitor& m, int64_t from, int64_t to, int wrong_every) {
  std::vector<DriftChange> events;
  int audited = 0;
  for (int64_t f = from; f < to; ++f) {
    std::optional<DriftChange> c;
    if (f % 4 == 0) {
      c = m.OnRow(Row(f, FrameStatus::kReference, true), std::nullopt);
    } else if (f % 2 == 1) {
      ++audited;
      const bool wrong = wrong_every > 0 && audited % wrong_every == 0;
      c = m.OnRow(Row(f, FrameStatus::kSpecialized, false), wrong);
    } else {
      c = m.OnRow(Row(f, FrameStatus::kSpecialized, false), std::nullopt);
    }
    if (c) events.push_back(*c);
  }
  return events;
}

TEST(DriftModeTest, ParsesItsNamesAndRefusesOthers) {
  for (DriftMode m : {DriftMode::kOff, DriftMode::kWarn, DriftMode::kTighten, DriftMode::kFallback}) {
    EXPECT_EQ(*ParseDriftMode(DriftModeName(m)), m);
  }
  EXPECT_EQ(ParseDriftMode("panic").status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(DriftOptionsTest, RefusesBadTargetsWindowsAndLevels) {
  EXPECT_TRUE(ValidateDriftOptions(Options(DriftMode::kWarn)).ok());
  DriftOptions o = Options(DriftMode::kWarn);
  o.fn_target = 1.5;
  EXPECT_FALSE(ValidateDriftOptions(o).ok());
  o = Options(DriftMode::kWarn);
  o.window_rows = 0;
  EXPECT_FALSE(ValidateDriftOptions(o).ok());
  o = Options(DriftMode::kWarn);
  o.level = 1;
  EXPECT_FALSE(ValidateDriftOptions(o).ok());
}

TEST(DriftMonitorTest, CorrectAuditsChangeNothing) {
  DriftMonitor m(Options(DriftMode::kTighten), ThreeSteps(), /*lag=*/16);
  EXPECT_TRUE(Feed(m, 0, 1000, /*wrong_every=*/0).empty());
  EXPECT_EQ(m.StepFor(999), 0);
  const DriftReport r = m.Report();
  EXPECT_EQ(r.detections, 0);
  EXPECT_EQ(r.step, 0);
  // The window slides: it never holds more than window_rows rows.
  EXPECT_EQ(r.window_rows, 100);
}

TEST(DriftMonitorTest, TightenStepsOnceAWindowIsAboveTargetAndAppliesALagLater) {
  DriftMonitor m(Options(DriftMode::kTighten), ThreeSteps(), /*lag=*/16);
  // Half the audited "absent" frames hold the object.
  std::vector<DriftChange> events = Feed(m, 0, 200, /*wrong_every=*/2);
  ASSERT_FALSE(events.empty());
  const DriftChange& first = events[0];
  EXPECT_EQ(first.action, "tighten");
  EXPECT_EQ(first.from_step, 0);
  EXPECT_EQ(first.to_step, 1);
  EXPECT_EQ(first.effective_from, first.decided_at + 16);
  // Judged only once min_audits audits were in: frames 1, 3, ... 19.
  EXPECT_GE(first.decided_at, 19);
  EXPECT_GE(first.audited, 10);
  EXPECT_GT(first.fn_interval.low, 0.05);
  EXPECT_EQ(m.StepFor(first.effective_from - 1), 0);
  EXPECT_EQ(m.StepFor(first.effective_from), 1);
  // Still wrong under step 1: the next window steps to the safest setting;
  // the window restarted, so that needs min_audits new audits from
  // effective_from on.
  ASSERT_GE(events.size(), 2u);
  EXPECT_EQ(events[1].from_step, 1);
  EXPECT_EQ(events[1].to_step, 2);
  EXPECT_GE(events[1].decided_at, first.effective_from + 18);
  // Nothing safer than the last step: further windows only count.
  for (size_t i = 2; i < events.size(); ++i) {
    EXPECT_EQ(events[i].action, "warn");
    EXPECT_EQ(events[i].from_step, 2);
    EXPECT_EQ(events[i].to_step, 2);
  }
  const DriftReport r = m.Report();
  EXPECT_EQ(r.tightenings, 2);
  EXPECT_EQ(r.detections, static_cast<int64_t>(events.size()));
  EXPECT_EQ(r.step, 2);
}

TEST(DriftMonitorTest, TightenStepsBackWhenTheIntervalIsWhollyUnderTheTargets) {
  DriftOptions o = Options(DriftMode::kTighten);
  o.fn_target = 0.6;  // loose: a clean window's upper bound gets under it
  o.fp_target = 0.6;
  o.window_rows = 400;
  DriftMonitor m(o, ThreeSteps(), /*lag=*/8);
  std::vector<DriftChange> events = Feed(m, 0, 200, /*wrong_every=*/1);
  ASSERT_FALSE(events.empty());
  EXPECT_EQ(events[0].action, "tighten");
  const int64_t tightened_from = events[0].effective_from;
  events = Feed(m, 200, 1200, /*wrong_every=*/0);
  ASSERT_FALSE(events.empty());
  EXPECT_EQ(events[0].action, "relax");
  EXPECT_EQ(events[0].to_step, events[0].from_step - 1);
  EXPECT_LE(events[0].fn_interval.high, 0.6);
  EXPECT_GT(events[0].decided_at, tightened_from);
  // Back to the config's own setting, one step at a time.
  EXPECT_EQ(m.Report().relaxations, m.Report().tightenings);
  EXPECT_EQ(m.Report().step, 0);
}

TEST(DriftMonitorTest, FallbackGoesToTheSafestSettingForGood) {
  DriftMonitor m(Options(DriftMode::kFallback), ThreeSteps(), /*lag=*/32);
  std::vector<DriftChange> events = Feed(m, 0, 200, /*wrong_every=*/2);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].action, "fallback");
  EXPECT_EQ(events[0].to_step, 2);
  EXPECT_EQ(events[0].effective_from, events[0].decided_at + 32);
  // Clean audits afterwards do not bring it back.
  EXPECT_TRUE(Feed(m, 200, 2000, /*wrong_every=*/0).empty());
  EXPECT_EQ(m.StepFor(1999), 2);
  EXPECT_TRUE(m.Report().fallen_back);
}

TEST(DriftMonitorTest, WarnCountsAndNeverChangesTheSetting) {
  DriftMonitor m(Options(DriftMode::kWarn), ThreeSteps(), /*lag=*/16);
  EXPECT_FALSE(m.ChangesSettings());
  std::vector<DriftChange> events = Feed(m, 0, 1000, /*wrong_every=*/2);
  ASSERT_GE(events.size(), 2u);
  for (const DriftChange& e : events) {
    EXPECT_EQ(e.action, "warn");
    EXPECT_EQ(e.from_step, 0);
    EXPECT_EQ(e.to_step, 0);
  }
  EXPECT_EQ(m.StepFor(999), 0);
  EXPECT_EQ(m.Report().detections, static_cast<int64_t>(events.size()));
  const std::string json = DriftToJson(m.Report());
  EXPECT_NE(json.find("\"mode\": \"warn\""), std::string::npos);
  EXPECT_NE(json.find("\"changes\""), std::string::npos);
}

TEST(DriftMonitorTest, FailedAuditsAreNotJudged) {
  DriftMonitor m(Options(DriftMode::kTighten), ThreeSteps(), /*lag=*/16);
  // Rows marked audited but with no reference label (the audit failed).
  for (int64_t f = 0; f < 500; ++f) {
    FrameResult r = Row(f, FrameStatus::kSpecialized, false);
    r.audited = true;
    EXPECT_FALSE(m.OnRow(r, std::nullopt).has_value());
  }
  EXPECT_EQ(m.Report().window_audits, 0);
}

TEST(DriftFrontierTest, EndsWithTheSpecializedStageLeftOut) {
  CascadeConfig c;
  c.specialized.model = "spec";
  c.c_low = 0.3f;
  c.c_high = 0.7f;
  c.diff.threshold = 5;
  std::vector<OperatingPoint> f = DriftFrontier(c);
  ASSERT_EQ(f.size(), 2u);
  EXPECT_TRUE(f[0].specialized);
  EXPECT_EQ(f[0].c_low, 0.3f);
  EXPECT_FALSE(f[1].specialized);
  EXPECT_EQ(f[1].diff_threshold, 5);
  c.drift.frontier = {{.diff_threshold = 1, .specialized = true, .c_low = 0.1f, .c_high = 0.9f}};
  f = DriftFrontier(c);
  ASSERT_EQ(f.size(), 3u);
  EXPECT_EQ(f[1].c_low, 0.1f);
  EXPECT_FALSE(f[2].specialized);
  EXPECT_EQ(f[2].diff_threshold, 1);
  // A frontier that already ends without the stage gets nothing appended.
  c.drift.frontier.push_back({.diff_threshold = 0, .specialized = false});
  EXPECT_EQ(DriftFrontier(c).size(), 3u);
}

}  // namespace
}  // namespace dnoscope::cascade
