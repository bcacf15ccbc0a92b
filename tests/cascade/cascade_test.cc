// The engine's behaviour with in-process stages: routing by the difference
// detector, the specialized thresholds, reuse and inheritance of labels,
// and how errors stop a run.
#include "cascade/cascade.h"
#include "cascade/policy.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <vector>

#include "fmt/format.h"
#include "gtest/gtest.h"
#include "models/local_stage.h"
#include "opencv2/imgcodecs.hpp"
#include "testing/fakes.h"

namespace dnoscope::cascade {
namespace {

using labels::FrameResult;
using labels::FrameStatus;
using testing::FakeClassifier;
using testing::FakeDetector;
using testing::FakeFrameSource;
using testing::FakeIndexedClassifier;

constexpr int kW = 64;
constexpr int kH = 48;

video::Frame MakeFrame(int64_t index, uint8_t value) {
  video::Frame f;
  f.index = index;
  f.image = cv::Mat(kH, kW, CV_8UC3, cv::Scalar(value, value, value));
  return f;
}

video::Frame Skipped(int64_t index) {
  video::Frame f;
  f.index = index;
  f.sampled = false;
  return f;
}

models::BoxDetection PersonAt(float x, float y, float score = 0.9f) {
  return {0, score, x - 5, y - 5, x + 5, y + 5};
}

CascadeConfig BaseConfig() {
  CascadeConfig c;
  c.object = "person";
  c.diff.width = 16;
  c.diff.height = 12;
  c.diff.threshold = 1.0;
  return c;
}

struct RunOutput {
  std::vector<FrameResult> rows;
  absl::StatusOr<CascadeSummary> summary;
};

RunOutput RunWith(const CascadeConfig& config, std::vector<video::Frame> frames,
                  std::unique_ptr<models::Model> reference,
                  std::unique_ptr<models::Model> specialized = nullptr,
                  absl::Status final_status = absl::OkStatus()) {
  std::unique_ptr<models::ModelStage> spec_stage =
      specialized ? models::MakeLocalStage(std::move(specialized)) : nullptr;
  std::unique_ptr<models::ModelStage> ref_stage = models::MakeLocalStage(std::move(reference));
  auto cascade = Cascade::Create(config, {}, {spec_stage.get(), ref_stage.get()});
  RunOutput out{{}, absl::UnknownError("not run")};
  EXPECT_TRUE(cascade.ok()) << cascade.status();
  if (!cascade.ok()) return out;
  FakeFrameSource source(std::move(frames), kW, kH, final_status);
  out.summary = (*cascade)->Run(source, [&](const FrameResult& r) {
    out.rows.push_back(r);
    return absl::OkStatus();
  });
  return out;
}

std::unique_ptr<FakeDetector> Detector(std::map<int64_t, std::vector<models::BoxDetection>> b) {
  return std::make_unique<FakeDetector>(std::move(b), std::vector<std::string>{"person", "car"});
}

TEST(CascadeTest, IdenticalFramesReuseTheAnchorLabel) {
  auto detector = Detector({{0, {PersonAt(10, 10)}}});
  auto calls = detector->calls;
  RunOutput out = RunWith(BaseConfig(), {MakeFrame(0, 50), MakeFrame(1, 50), MakeFrame(2, 50)},
                          std::move(detector));
  ASSERT_TRUE(out.summary.ok()) << out.summary.status();
  ASSERT_EQ(out.rows.size(), 3u);
  EXPECT_EQ(out.rows[0].status, FrameStatus::kReference);
  EXPECT_TRUE(out.rows[0].label);
  for (int i : {1, 2}) {
    EXPECT_EQ(out.rows[i].status, FrameStatus::kDiffReused);
    EXPECT_TRUE(out.rows[i].label);
    EXPECT_EQ(out.rows[i].diff_score, 0.0f);
  }
  EXPECT_EQ(*calls, std::vector<int64_t>({0}));
  EXPECT_EQ(out.summary->status_counts[static_cast<int>(FrameStatus::kDiffReused)], 2);
  EXPECT_EQ(out.summary->positive_frames, 3);
}

TEST(CascadeTest, ChangedFramesGoToTheReferenceAndBecomeTheAnchor) {
  auto detector = Detector({{1, {PersonAt(10, 10)}}});
  auto calls = detector->calls;
  RunOutput out = RunWith(BaseConfig(),
                          {MakeFrame(0, 50), MakeFrame(1, 90), MakeFrame(2, 90), MakeFrame(3, 50)},
                          std::move(detector));
  ASSERT_TRUE(out.summary.ok());
  EXPECT_EQ(*calls, std::vector<int64_t>({0, 1, 3}));
  EXPECT_FALSE(out.rows[0].label);
  EXPECT_TRUE(out.rows[1].label);
  EXPECT_EQ(out.rows[2].status, FrameStatus::kDiffReused);
  EXPECT_TRUE(out.rows[2].label);  // reuses frame 1, the new anchor
  EXPECT_FALSE(out.rows[3].label);
}

TEST(CascadeTest, ZeroThresholdSendsEveryChangedFrameToTheReference) {
  CascadeConfig config = BaseConfig();
  config.diff.threshold = 0;
  auto detector = Detector({});
  auto calls = detector->calls;
  RunOutput out =
      RunWith(config, {MakeFrame(0, 1), MakeFrame(1, 2), MakeFrame(2, 3)}, std::move(detector));
  ASSERT_TRUE(out.summary.ok());
  EXPECT_EQ(calls->size(), 3u);
}

TEST(CascadeTest, SkippedFramesCopyThePreviousSampledLabel) {
  auto detector = Detector({{0, {PersonAt(10, 10)}}});
  RunOutput out = RunWith(BaseConfig(),
                          {MakeFrame(0, 50), Skipped(1), Skipped(2), MakeFrame(3, 200), Skipped(4)},
                          std::move(detector));
  ASSERT_TRUE(out.summary.ok());
  ASSERT_EQ(out.rows.size(), 5u);
  EXPECT_EQ(out.rows[1].status, FrameStatus::kSkipped);
  EXPECT_TRUE(out.rows[1].label);
  EXPECT_TRUE(out.rows[2].label);
  EXPECT_FALSE(out.rows[3].label);
  EXPECT_EQ(out.rows[4].status, FrameStatus::kSkipped);
  EXPECT_FALSE(out.rows[4].label);
  EXPECT_TRUE(std::isnan(out.rows[1].diff_score));
}

TEST(CascadeTest, CorruptFrameCopiesPreviousLabelAndIsCounted) {
  video::Frame corrupt;
  corrupt.index = 1;
  corrupt.corrupt = true;
  RunOutput out = RunWith(BaseConfig(), {MakeFrame(0, 50), corrupt, MakeFrame(2, 50)},
                          Detector({{0, {PersonAt(10, 10)}}}));
  ASSERT_TRUE(out.summary.ok());
  EXPECT_EQ(out.rows[1].status, FrameStatus::kCorrupt);
  EXPECT_TRUE(out.rows[1].label);
  EXPECT_EQ(out.summary->corrupt_frames, 1);
}

TEST(CascadeTest, SpecializedThresholdsDecideOrDefer) {
  CascadeConfig config = BaseConfig();
  config.diff_enabled = false;
  config.specialized.model = "fake";
  config.c_low = 0.2f;
  config.c_high = 0.8f;
  auto detector = Detector({{2, {PersonAt(10, 10)}}});
  auto calls = detector->calls;
  RunOutput out =
      RunWith(config, {MakeFrame(0, 1), MakeFrame(1, 2), MakeFrame(2, 3)}, std::move(detector),
              std::make_unique<FakeClassifier>(std::vector<float>{0.1f, 0.9f, 0.5f}));
  ASSERT_TRUE(out.summary.ok());
  EXPECT_EQ(out.rows[0].status, FrameStatus::kSpecialized);
  EXPECT_FALSE(out.rows[0].label);
  EXPECT_EQ(out.rows[1].status, FrameStatus::kSpecialized);
  EXPECT_TRUE(out.rows[1].label);
  EXPECT_EQ(out.rows[2].status, FrameStatus::kReference);
  EXPECT_TRUE(out.rows[2].label);
  EXPECT_FLOAT_EQ(out.rows[2].specialized_confidence, 0.5f);
  EXPECT_EQ(*calls, std::vector<int64_t>({2}));
}

TEST(CascadeTest, BackgroundModeLabelsUnchangedFramesAbsent) {
  CascadeConfig config = BaseConfig();
  config.diff.reference = detect::ReferenceMode::kBackground;
  // A background file is needed; the detector compares at 16x12.
  const std::string path = ::testing::TempDir() + "/background.png";
  cv::imwrite(path, cv::Mat(kH, kW, CV_8UC3, cv::Scalar(50, 50, 50)));
  config.diff_background = path;
  auto detector = Detector({{1, {PersonAt(10, 10)}}});
  auto calls = detector->calls;
  RunOutput out =
      RunWith(config, {MakeFrame(0, 50), MakeFrame(1, 120), MakeFrame(2, 50)}, std::move(detector));
  ASSERT_TRUE(out.summary.ok()) << out.summary.status();
  EXPECT_EQ(out.rows[0].status, FrameStatus::kDiffReused);
  EXPECT_FALSE(out.rows[0].label);
  EXPECT_TRUE(out.rows[1].label);
  EXPECT_EQ(out.rows[2].status, FrameStatus::kDiffReused);
  EXPECT_FALSE(out.rows[2].label);
  EXPECT_EQ(*calls, std::vector<int64_t>({1}));
}

TEST(CascadeTest, ReferenceFailureStopsWithOrderedPrefix) {
  CascadeConfig config = BaseConfig();
  config.diff_enabled = false;
  auto detector = Detector({});
  detector->fail_on_frame = 2;
  RunOutput out =
      RunWith(config, {MakeFrame(0, 1), MakeFrame(1, 2), MakeFrame(2, 3), MakeFrame(3, 4)},
              std::move(detector));
  ASSERT_FALSE(out.summary.ok());
  EXPECT_NE(std::string(out.summary.status().message()).find("frame 2"), std::string::npos);
  ASSERT_EQ(out.rows.size(), 2u);
  EXPECT_EQ(out.rows[0].frame, 0);
  EXPECT_EQ(out.rows[1].frame, 1);
}

TEST(CascadeTest, DecoderErrorIsReportedAfterDeliveringDecodedFrames) {
  RunOutput out = RunWith(BaseConfig(), {MakeFrame(0, 1), MakeFrame(1, 2)}, Detector({}), nullptr,
                          absl::DataLossError("truncated"));
  ASSERT_FALSE(out.summary.ok());
  EXPECT_EQ(out.summary.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(out.rows.size(), 2u);
}

TEST(CascadeTest, RejectsRoiOutsideTheFrame) {
  CascadeConfig config = BaseConfig();
  config.roi = Roi{0, 0, kW + 1, kH};
  RunOutput out = RunWith(config, {MakeFrame(0, 1)}, Detector({}));
  EXPECT_EQ(out.summary.status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(CascadeTest, CreateRejectsMissingStages) {
  CascadeConfig config = BaseConfig();
  EXPECT_FALSE(Cascade::Create(config, {}, {nullptr, nullptr}).ok());
  std::unique_ptr<models::ModelStage> reference = models::MakeLocalStage(Detector({}));
  config.specialized.model = "x";
  EXPECT_FALSE(Cascade::Create(config, {}, {nullptr, reference.get()}).ok());
}

}  // namespace
}  // namespace dnoscope::cascade

namespace dnoscope::cascade {
namespace {

// Frames 0..99 are identical (frame 0 shows a person per the reference, the
// rest reuse its label); frames 100..199 are identical to each other (100
// shows no one, the rest reuse that). The detector's truth for an audited
// frame: a person on every third frame.
TEST(CascadeAuditTest, AuditedFramesKeepTheirLabelsAndFeedTheEstimate) {
  std::vector<video::Frame> frames;
  for (int i = 0; i < 200; ++i) frames.push_back(MakeFrame(i, i < 100 ? 50 : 90));
  std::map<int64_t, std::vector<models::BoxDetection>> truth;
  truth[0] = {PersonAt(10, 10)};
  for (int i = 1; i < 200; ++i) {
    if (i % 3 == 0) truth[i] = {PersonAt(10, 10)};
  }
  auto detector = Detector(truth);
  auto calls = detector->calls;
  CascadeOptions options;
  options.audit.rate = 0.3;
  options.audit.seed = 11;
  std::unique_ptr<models::ModelStage> ref_stage = models::MakeLocalStage(std::move(detector));
  auto cascade = Cascade::Create(BaseConfig(), options, {nullptr, ref_stage.get()});
  ASSERT_TRUE(cascade.ok()) << cascade.status();
  FakeFrameSource source(std::move(frames), kW, kH, absl::OkStatus());
  std::vector<FrameResult> rows;
  absl::StatusOr<CascadeSummary> summary = (*cascade)->Run(source, [&](const FrameResult& r) {
    rows.push_back(r);
    return absl::OkStatus();
  });
  ASSERT_TRUE(summary.ok()) << summary.status();
  ASSERT_EQ(rows.size(), 200u);

  CascadePolicy policy(PolicyOptions{.audit = options.audit});
  std::vector<int64_t> expected_calls = {0, 100};
  int wrong_present = 0, wrong_absent = 0, audited_present = 0, audited_absent = 0;
  for (const FrameResult& r : rows) {
    SCOPED_TRACE(r.frame);
    const bool anchor = r.frame == 0 || r.frame == 100;
    // Labels are the cascade's own, audited or not.
    EXPECT_EQ(r.status, anchor ? FrameStatus::kReference : FrameStatus::kDiffReused);
    EXPECT_EQ(r.label, r.frame < 100);
    EXPECT_EQ(r.audited, !anchor && policy.ShouldAudit(r.frame, FrameStatus::kDiffReused));
    if (!r.audited) continue;
    expected_calls.push_back(r.frame);
    const bool person = r.frame % 3 == 0;
    if (r.label) {
      ++audited_present;
      wrong_present += !person;
    } else {
      ++audited_absent;
      wrong_absent += person;
    }
  }
  // The reference saw the two anchors and exactly the audited frames.
  std::vector<int64_t> seen = *calls;
  std::sort(seen.begin(), seen.end());
  std::sort(expected_calls.begin(), expected_calls.end());
  EXPECT_EQ(seen, expected_calls);
  ASSERT_GT(audited_present, 0);
  ASSERT_GT(audited_absent, 0);

  ASSERT_TRUE(summary->audit.has_value());
  const AuditEstimate& e = *summary->audit;
  EXPECT_EQ(e.audited, audited_present + audited_absent);
  EXPECT_EQ(summary->audit_failures, 0);
  const double q = static_cast<double>(wrong_present) / audited_present;
  const double r = static_cast<double>(wrong_absent) / audited_absent;
  // 99 reused present rows, 99 reused absent, the anchors right.
  EXPECT_NEAR(e.fp_rate, 99 * q / (99 * q + 1 + 99 * (1 - r)), 1e-12);
  EXPECT_NEAR(e.fn_rate, 99 * r / (99 * r + 1 + 99 * (1 - q)), 1e-12);
  EXPECT_NE(SummaryToJson(*summary, source.info()).find("\"fn_interval\""), std::string::npos);
}

TEST(CascadeAuditTest, BadAuditOptionsAreRefusedAtCreate) {
  auto detector = Detector({});
  std::unique_ptr<models::ModelStage> ref_stage = models::MakeLocalStage(std::move(detector));
  CascadeOptions options;
  options.audit.rate = 2;
  auto cascade = Cascade::Create(BaseConfig(), options, {nullptr, ref_stage.get()});
  EXPECT_EQ(cascade.status().code(), absl::StatusCode::kInvalidArgument);
}

// A scene that changes at frame 600: a person on every fourth frame; the
// specialized model is confident and right before, and after it says 0.3
// for the person frames (absent under c_low 0.4: false negatives). The
// frontier's next step (c_low 0.2) sends those to the reference.
constexpr int kSceneFrames = 1200;
constexpr int kSceneChange = 600;
constexpr int kDriftWindow = 32;

bool PersonInScene(int64_t frame) { return frame % 4 == 0; }

struct DriftRun {
  std::vector<FrameResult> rows;
  absl::StatusOr<CascadeSummary> summary;
  std::vector<int64_t> specialized_calls;
};

DriftRun RunScene(DriftMode mode, int max_model_frames = 64, int max_batch = 1) {
  CascadeConfig config = BaseConfig();
  config.diff_enabled = false;
  config.specialized.model = "spec";
  config.c_low = 0.4f;
  config.c_high = 0.6f;
  config.drift.fp_target = 0.05;
  config.drift.fn_target = 0.05;
  config.drift.frontier = {{.diff_threshold = 1.0, .specialized = true, .c_low = 0.2f, .c_high = 0.6f}};
  std::map<int64_t, std::vector<models::BoxDetection>> truth;
  std::vector<video::Frame> frames;
  for (int i = 0; i < kSceneFrames; ++i) {
    frames.push_back(MakeFrame(i, static_cast<uint8_t>(i % 200)));
    if (PersonInScene(i)) truth[i] = {PersonAt(10, 10)};
  }
  auto classifier = std::make_unique<FakeIndexedClassifier>([](int64_t f) {
    if (!PersonInScene(f)) return 0.05f;
    return f < kSceneChange ? 0.95f : 0.3f;
  });
  auto calls = classifier->calls;
  std::unique_ptr<models::ModelStage> spec_stage = models::MakeLocalStage(std::move(classifier));
  std::unique_ptr<models::ModelStage> ref_stage = models::MakeLocalStage(Detector(truth));
  CascadeOptions options;
  options.max_window_frames = kDriftWindow;
  options.max_model_frames = max_model_frames;
  options.specialized_batching.max_batch = max_batch;
  options.specialized_batching.max_delay = std::chrono::microseconds(max_batch > 1 ? 500 : 0);
  options.audit.rate = 0.2;
  options.audit.seed = 3;
  options.drift.mode = mode;
  options.drift.window_rows = 400;
  options.drift.min_audits = 20;
  DriftRun out{{}, absl::UnknownError("not run"), {}};
  auto cascade = Cascade::Create(config, options, {spec_stage.get(), ref_stage.get()});
  EXPECT_TRUE(cascade.ok()) << cascade.status();
  if (!cascade.ok()) return out;
  FakeFrameSource source(std::move(frames), kW, kH, absl::OkStatus());
  out.summary = (*cascade)->Run(source, [&](const FrameResult& r) {
    out.rows.push_back(r);
    return absl::OkStatus();
  });
  cascade->reset();
  spec_stage.reset();  // joins its worker: `calls` is complete
  out.specialized_calls = *calls;
  return out;
}

std::string Rows(const std::vector<FrameResult>& rows) {
  std::string s;
  for (const FrameResult& r : rows) {
    s += fmt::format("{} {} {} {}\n", r.frame, r.label, labels::FrameStatusName(r.status),
                     r.audited);
  }
  return s;
}

TEST(CascadeDriftTest, TightenStepsToTheSaferSettingAfterTheSceneChanges) {
  DriftRun out = RunScene(DriftMode::kTighten);
  ASSERT_TRUE(out.summary.ok()) << out.summary.status();
  ASSERT_EQ(out.rows.size(), static_cast<size_t>(kSceneFrames));
  ASSERT_TRUE(out.summary->drift.has_value());
  const DriftReport& d = *out.summary->drift;
  ASSERT_EQ(d.changes.size(), 1u) << DriftToJson(d);
  const DriftChange& c = d.changes[0];
  EXPECT_EQ(c.action, "tighten");
  EXPECT_EQ(c.to_step, 1);
  EXPECT_GE(c.decided_at, kSceneChange);
  EXPECT_EQ(c.effective_from, c.decided_at + kDriftWindow);
  EXPECT_EQ(d.step, 1);
  for (const FrameResult& r : out.rows) {
    SCOPED_TRACE(r.frame);
    const bool person = PersonInScene(r.frame);
    if (r.frame < kSceneChange || r.frame >= c.effective_from) {
      EXPECT_EQ(r.label, person);
      if (r.frame >= c.effective_from && person) EXPECT_EQ(r.status, FrameStatus::kReference);
    } else if (person) {
      // Decided under the old setting: the misses the audit found.
      EXPECT_FALSE(r.label);
      EXPECT_EQ(r.status, FrameStatus::kSpecialized);
    }
  }
  const std::string table = SummaryToTable(*out.summary, {});
  EXPECT_NE(table.find("1 tightened"), std::string::npos) << table;
}

TEST(CascadeDriftTest, FallbackSendsEveryChangedFrameToTheReference) {
  DriftRun out = RunScene(DriftMode::kFallback);
  ASSERT_TRUE(out.summary.ok()) << out.summary.status();
  const DriftReport& d = *out.summary->drift;
  ASSERT_EQ(d.changes.size(), 1u);
  EXPECT_TRUE(d.fallen_back);
  const int64_t from = d.changes[0].effective_from;
  EXPECT_EQ(d.step, static_cast<int>(d.frontier.size()) - 1);
  for (const FrameResult& r : out.rows) {
    if (r.frame < from) continue;
    EXPECT_EQ(r.status, FrameStatus::kReference) << r.frame;
    EXPECT_EQ(r.label, PersonInScene(r.frame)) << r.frame;
  }
  // The specialized stage saw no frame from the switch on.
  for (int64_t f : out.specialized_calls) EXPECT_LT(f, from);
}

TEST(CascadeDriftTest, WarnCountsButKeepsTheRows) {
  DriftRun warn = RunScene(DriftMode::kWarn);
  DriftRun off = RunScene(DriftMode::kOff);
  ASSERT_TRUE(warn.summary.ok() && off.summary.ok());
  EXPECT_EQ(Rows(warn.rows), Rows(off.rows));
  EXPECT_GE(warn.summary->drift->detections, 1);
  EXPECT_EQ(warn.summary->drift->step, 0);
  EXPECT_FALSE(off.summary->drift.has_value());
}

TEST(CascadeDriftTest, RowsDoNotDependOnBatchingOrModelFramesInFlight) {
  const DriftRun a = RunScene(DriftMode::kTighten, /*max_model_frames=*/1, /*max_batch=*/1);
  const DriftRun b = RunScene(DriftMode::kTighten, /*max_model_frames=*/64, /*max_batch=*/8);
  ASSERT_TRUE(a.summary.ok() && b.summary.ok());
  EXPECT_EQ(Rows(a.rows), Rows(b.rows));
  EXPECT_EQ(DriftToJson(*a.summary->drift), DriftToJson(*b.summary->drift));
}

TEST(CascadeDriftTest, ADriftResponseNeedsTheAuditAndTargets) {
  std::unique_ptr<models::ModelStage> ref_stage = models::MakeLocalStage(Detector({}));
  CascadeConfig config = BaseConfig();
  CascadeOptions options;
  options.drift.mode = DriftMode::kTighten;
  auto no_audit = Cascade::Create(config, options, {nullptr, ref_stage.get()});
  EXPECT_EQ(no_audit.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(no_audit.status().message().find("audit"), std::string::npos);
  options.audit.rate = 0.1;
  auto no_targets = Cascade::Create(config, options, {nullptr, ref_stage.get()});
  EXPECT_EQ(no_targets.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(no_targets.status().message().find("fn_target"), std::string::npos);
  config.drift.fp_target = 0.1;
  config.drift.fn_target = 0.1;
  EXPECT_TRUE(Cascade::Create(config, options, {nullptr, ref_stage.get()}).ok());
}

}  // namespace
}  // namespace dnoscope::cascade
