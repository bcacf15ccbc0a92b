#include "cascade/labeler.h"

#include <vector>

#include "gtest/gtest.h"
#include "testing/fakes.h"

namespace dnoscope::cascade {
namespace {

using testing::FakeDetector;
using testing::FakeFrameSource;

video::Frame Frame(int64_t index, bool sampled = true, bool corrupt = false) {
  video::Frame f;
  f.index = index;
  f.sampled = sampled;
  f.corrupt = corrupt;
  if (sampled && !corrupt) f.image = cv::Mat(24, 32, CV_8UC3, cv::Scalar(1, 2, 3));
  return f;
}

struct Collected {
  std::vector<std::vector<labels::Detection>> rows;
  absl::StatusOr<LabelRunSummary> summary;
};

Collected Label(std::vector<video::Frame> frames, const labels::LabelFilter& filter) {
  FakeDetector detector(
      {{0, {{0, 0.9f, 1, 1, 5, 5}, {1, 0.8f, 2, 2, 6, 6}}}, {3, {{0, 0.3f, 10, 10, 20, 20}}}},
      {"person", "car"});
  FakeFrameSource source(std::move(frames), 32, 24);
  Collected c;
  c.summary = LabelVideo(source, detector, filter, Clock::Real(),
                         [&](const std::vector<labels::Detection>& rows) {
                           c.rows.push_back(rows);
                           return absl::OkStatus();
                         });
  return c;
}

TEST(LabelerTest, NamesClassesAndCopiesRowsToSkippedFrames) {
  Collected c = Label({Frame(0), Frame(1, false), Frame(2, false), Frame(3)}, {});
  ASSERT_TRUE(c.summary.ok()) << c.summary.status();
  ASSERT_EQ(c.rows.size(), 4u);
  ASSERT_EQ(c.rows[0].size(), 2u);
  EXPECT_EQ(c.rows[0][0].object_name, "person");
  EXPECT_EQ(c.rows[0][1].object_name, "car");
  EXPECT_FLOAT_EQ(c.rows[0][1].xmax, 6);
  for (int skipped : {1, 2}) {
    ASSERT_EQ(c.rows[skipped].size(), 2u);
    EXPECT_EQ(c.rows[skipped][0].frame, skipped);
    EXPECT_EQ(c.rows[skipped][1].object_name, "car");
  }
  EXPECT_EQ(c.rows[3].size(), 1u);
  EXPECT_EQ(c.summary->frames, 4);
  EXPECT_EQ(c.summary->detected_frames, 2);
  EXPECT_EQ(c.summary->detections, 7);
  EXPECT_EQ(c.summary->frames_with_detections, 4);
}

TEST(LabelerTest, FilterKeepsOnlyMatchingDetections) {
  labels::LabelFilter filter{"person", 0.5f, std::nullopt};
  Collected c = Label({Frame(0), Frame(3)}, filter);
  ASSERT_TRUE(c.summary.ok());
  ASSERT_EQ(c.rows[0].size(), 1u);
  EXPECT_EQ(c.rows[0][0].object_name, "person");
  EXPECT_TRUE(c.rows[1].empty()) << "score 0.3 is below the minimum";
}

TEST(LabelerTest, CorruptFramesGetNoRowsAndAreCounted) {
  Collected c = Label({Frame(0), Frame(1, true, true), Frame(2, false)}, {});
  ASSERT_TRUE(c.summary.ok());
  EXPECT_TRUE(c.rows[1].empty());
  EXPECT_EQ(c.summary->corrupt_frames, 1);
  EXPECT_EQ(c.rows[2].size(), 2u) << "a skipped frame copies the last sampled frame";
}

TEST(LabelerTest, DetectorFailureNamesTheFrame) {
  FakeDetector detector({}, {"person"});
  detector.fail_on_frame = 1;
  FakeFrameSource source({Frame(0), Frame(1)}, 32, 24);
  auto summary = LabelVideo(source, detector, {}, Clock::Real(),
                            [](const std::vector<labels::Detection>&) { return absl::OkStatus(); });
  ASSERT_FALSE(summary.ok());
  EXPECT_NE(std::string(summary.status().message()).find("frame 1"), std::string::npos);
}

}  // namespace
}  // namespace dnoscope::cascade
