#include "train/dataset.h"

#include <algorithm>
#include <set>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "testing/fakes.h"
#include "train/train_fixture.h"

namespace dnoscope::train {
namespace {

using dnoscope::testing::FakeFrameSource;
using ::testing::HasSubstr;

constexpr int kW = 40;
constexpr int kH = 30;

// Frame `index` whose pixels all hold `value`.
video::Frame Plain(int64_t index, uint8_t value) {
  video::Frame f;
  f.index = index;
  f.image = cv::Mat(kH, kW, CV_8UC3, cv::Scalar(value, value, value));
  return f;
}

std::vector<video::Frame> PlainFrames(int64_t start, int64_t end) {
  std::vector<video::Frame> frames;
  for (int64_t i = start; i < end; ++i) frames.push_back(Plain(i, static_cast<uint8_t>(i)));
  return frames;
}

labels::Detection Row(int64_t frame, const std::string& object, float confidence, float cx = 10,
                      float cy = 10) {
  return {frame, object, confidence, cx - 2, cy - 2, cx + 2, cy + 2};
}

DatasetOptions SmallOptions() {
  DatasetOptions o;
  o.filter.object_name = "person";
  o.width = 8;
  o.height = 6;
  o.labels_name = "ref.csv";
  return o;
}

absl::StatusOr<Dataset> Build(std::vector<video::Frame> frames,
                              const std::vector<labels::Detection>& rows,
                              const DatasetOptions& options = SmallOptions()) {
  FakeFrameSource source(std::move(frames), kW, kH);
  return BuildDataset(source, rows, options);
}

std::vector<int64_t> PositiveFrames(const Dataset& d) {
  std::vector<int64_t> out;
  for (int64_t i = 0; i < d.size(); ++i) {
    if (d.labels[i]) out.push_back(d.frame_indices[i]);
  }
  return out;
}

TEST(DatasetTest, LabelsFollowObjectAndMinConfidence) {
  DatasetOptions o = SmallOptions();
  o.filter.min_confidence = 0.5f;
  const std::vector<labels::Detection> rows = {Row(2, "person", 0.9f), Row(3, "person", 0.6f),
                                               Row(5, "person", 0.3f), Row(6, "car", 0.9f),
                                               Row(9, "person", 0.5f)};
  absl::StatusOr<Dataset> d = Build(PlainFrames(0, 10), rows, o);
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_THAT(PositiveFrames(*d), ::testing::ElementsAre(2, 3, 9));
  EXPECT_EQ(d->raw_positives, 3);
  EXPECT_EQ(d->range.ToString(), "0:10");
}

TEST(DatasetTest, FramesAreResizedUint8InFrameOrder) {
  absl::StatusOr<Dataset> d = Build(PlainFrames(0, 6), {Row(1, "person", 1)});
  ASSERT_TRUE(d.ok()) << d.status();
  ASSERT_EQ(d->size(), 6);
  EXPECT_EQ(d->pixels.size(), 6u * 8 * 6 * 3);
  for (int64_t i = 0; i < d->size(); ++i) {
    EXPECT_EQ(d->frame_indices[i], i);
    EXPECT_EQ(d->ImageMat(i).at<cv::Vec3b>(3, 4), cv::Vec3b(i, i, i));
  }
}

TEST(DatasetTest, RoiCropsFramesAndFiltersLabelsByBoxCentre) {
  std::vector<video::Frame> frames;
  for (int64_t i = 0; i < 4; ++i) {
    video::Frame f = Plain(i, 0);
    f.image(cv::Rect(kW / 2, 0, kW / 2, kH)).setTo(cv::Scalar(200, 100, 50));  // right half
    frames.push_back(f);
  }
  DatasetOptions o = SmallOptions();
  o.filter.roi = Roi{kW / 2, 0, kW, kH};
  // Frame 1's box centre is in the left half (outside), frame 2's in the right half.
  const std::vector<labels::Detection> rows = {Row(1, "person", 1, 5, 5),
                                               Row(2, "person", 1, 30, 5)};
  absl::StatusOr<Dataset> d = Build(frames, rows, o);
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_THAT(PositiveFrames(*d), ::testing::ElementsAre(2));
  const cv::Mat crop = d->ImageMat(0);
  EXPECT_EQ(cv::countNonZero(crop.reshape(1) != 0), 8 * 6 * 3);
  EXPECT_EQ(crop.at<cv::Vec3b>(0, 0), cv::Vec3b(200, 100, 50));
}

TEST(DatasetTest, RoiOutsideTheFrameIsRejected) {
  DatasetOptions o = SmallOptions();
  o.filter.roi = Roi{0, 0, kW + 1, kH};
  absl::StatusOr<Dataset> d = Build(PlainFrames(0, 4), {Row(1, "person", 1)}, o);
  EXPECT_EQ(d.status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(DatasetTest, UnsampledAndCorruptFramesAreLeftOut) {
  std::vector<video::Frame> frames = PlainFrames(0, 6);
  frames[1].sampled = false;
  frames[1].image.release();
  frames[3].corrupt = true;
  frames[3].image.release();
  absl::StatusOr<Dataset> d = Build(frames, {Row(2, "person", 1)});
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_THAT(d->frame_indices, ::testing::ElementsAre(0, 2, 4, 5));
}

TEST(DatasetTest, SmoothingMarksFramesWithEnoughPositivesInTheCentredWindow) {
  // Positives at 3, 5, 6 of frames 0..9.
  const std::vector<labels::Detection> rows = {Row(3, "person", 1), Row(5, "person", 1),
                                               Row(6, "person", 1)};
  const labels::LabelIndex index = labels::LabelIndex::Build(rows, {"person"}, 10);
  EXPECT_EQ(SmoothLabels(index, 10, 1, 1), (std::vector<uint8_t>{0, 0, 0, 1, 0, 1, 1, 0, 0, 0}));
  // Window 3 (f-1..f+1), at least 1: dilation.
  EXPECT_EQ(SmoothLabels(index, 10, 3, 1), (std::vector<uint8_t>{0, 0, 1, 1, 1, 1, 1, 1, 0, 0}));
  // Window 3, at least 2: 4 (3,5), 5 (5,6), 6 (5,6).
  EXPECT_EQ(SmoothLabels(index, 10, 3, 2), (std::vector<uint8_t>{0, 0, 0, 0, 1, 1, 1, 0, 0, 0}));
  // Window 5, at least 3: 4 (3,5,6), 5 (3,5,6).
  EXPECT_EQ(SmoothLabels(index, 10, 5, 3), (std::vector<uint8_t>{0, 0, 0, 0, 1, 1, 0, 0, 0, 0}));
}

TEST(DatasetTest, SmoothingSeesLabelsJustPastTheRange) {
  DatasetOptions o = SmallOptions();
  o.smooth_window = 3;
  o.smooth_min_positive = 1;
  // Frame 6 is outside the range 0:6 but makes frame 5 positive.
  absl::StatusOr<Dataset> d =
      Build(PlainFrames(0, 6), {Row(0, "person", 1), Row(6, "person", 1)}, o);
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_THAT(PositiveFrames(*d), ::testing::ElementsAre(0, 1, 5));
  EXPECT_EQ(d->raw_positives, 1);
}

TEST(DatasetTest, BadSmoothingOptionsAreRejected) {
  for (auto [window, min_positive] : {std::pair{2, 1}, {0, 1}, {3, 0}, {3, 4}}) {
    DatasetOptions o = SmallOptions();
    o.smooth_window = window;
    o.smooth_min_positive = min_positive;
    absl::StatusOr<Dataset> d = Build(PlainFrames(0, 6), {Row(1, "person", 1)}, o);
    EXPECT_EQ(d.status().code(), absl::StatusCode::kInvalidArgument)
        << window << "/" << min_positive;
  }
}

TEST(DatasetTest, SplitIsStratifiedDisjointAndDeterministicForASeed) {
  std::vector<uint8_t> labels(100, 0);
  for (int i = 0; i < 30; ++i) labels[i * 3] = 1;
  std::vector<int64_t> train, validation, train2, validation2, train3, validation3;
  SplitTrainValidation(labels, 0.2, 7, &train, &validation);
  SplitTrainValidation(labels, 0.2, 7, &train2, &validation2);
  SplitTrainValidation(labels, 0.2, 8, &train3, &validation3);
  EXPECT_EQ(train, train2);
  EXPECT_EQ(validation, validation2);
  EXPECT_NE(validation, validation3);
  ASSERT_EQ(validation.size(), 20u);  // 6 of 30 positives + 14 of 70 negatives
  EXPECT_EQ(
      std::count_if(validation.begin(), validation.end(), [&](int64_t i) { return labels[i]; }), 6);
  std::set<int64_t> all(train.begin(), train.end());
  all.insert(validation.begin(), validation.end());
  EXPECT_EQ(all.size(), 100u);
}

TEST(DatasetTest, SplitKeepsAtLeastOneOfEachClassInTraining) {
  const std::vector<uint8_t> labels = {1, 1, 0, 0, 0};
  std::vector<int64_t> train, validation;
  SplitTrainValidation(labels, 0.9, 1, &train, &validation);
  int train_pos = 0;
  for (int64_t i : train) train_pos += labels[i];
  EXPECT_EQ(train_pos, 1);
  EXPECT_EQ(train.size(), 2u);
}

TEST(DatasetTest, ClassBalanceIsReportedPerSplit) {
  const Dataset& d = testing::ClipDataset();
  ASSERT_GT(d.size(), 0);
  EXPECT_EQ(d.Balance().positives, testing::SyntheticClip().positive_frames);
  EXPECT_EQ(d.Balance().total(), d.size());
  const ClassBalance train = d.Balance(d.train), validation = d.Balance(d.validation);
  EXPECT_EQ(train.positives + validation.positives, d.Balance().positives);
  EXPECT_EQ(validation.total(), static_cast<int64_t>(d.validation.size()));
  EXPECT_NEAR(static_cast<double>(validation.total()) / static_cast<double>(d.size()), 0.2, 0.02);
  EXPECT_THAT(d.Balance().ToString(), HasSubstr("positive ("));
}

TEST(DatasetTest, RealVideoGivesOneSampleOfInputSizePerFrame) {
  const Dataset& d = testing::ClipDataset();
  EXPECT_EQ(d.size(), testing::SyntheticClip().frames);
  EXPECT_EQ(d.width, 50);
  EXPECT_EQ(d.height, 50);
  EXPECT_EQ(d.pixels.size(), static_cast<size_t>(d.size()) * 50 * 50 * 3);
}

TEST(DatasetTest, OneClassRangeIsAnError) {
  std::vector<labels::Detection> rows;
  for (int i = 0; i < 10; ++i) rows.push_back(Row(i, "person", 1));
  absl::StatusOr<Dataset> d = Build(PlainFrames(0, 10), rows);
  ASSERT_EQ(d.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(d.status().message(), HasSubstr("all 10 frames of 0:10 are positive"));
  EXPECT_THAT(d.status().message(), HasSubstr("needs both classes"));

  d = Build(PlainFrames(0, 10), {Row(3, "car", 1)});
  EXPECT_THAT(d.status().message(), HasSubstr("all 10 frames of 0:10 are negative"));
}

TEST(DatasetTest, EmptyRangeIsAnError) {
  absl::StatusOr<Dataset> d = Build({}, {Row(1, "person", 1)});
  ASSERT_EQ(d.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(d.status().message(), HasSubstr("no decodable frames"));
}

TEST(DatasetTest, LabelsEndingBeforeTheRangeAreAnError) {
  absl::StatusOr<Dataset> d =
      Build(PlainFrames(100, 110), {Row(2, "person", 1), Row(40, "car", 1)});
  ASSERT_EQ(d.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(d.status().message(),
              HasSubstr("ref.csv has no rows at or after frame 100 (its last row is frame 40): "
                        "it does not cover 100:110"));
  d = Build(PlainFrames(0, 10), {});
  EXPECT_THAT(d.status().message(), HasSubstr("it has no rows at all"));
}

TEST(DatasetTest, LabelsWithRowsInTheRangeCoverIt) {
  // The last row (any object) is inside the range: frames after it are negative.
  absl::StatusOr<Dataset> d = Build(PlainFrames(100, 110), {Row(101, "person", 1)});
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_THAT(PositiveFrames(*d), ::testing::ElementsAre(101));
}

TEST(DatasetTest, SourceErrorsPassThrough) {
  FakeFrameSource source(PlainFrames(0, 3), kW, kH, absl::DataLossError("truncated"));
  const std::vector<labels::Detection> rows = {Row(1, "person", 1)};
  absl::StatusOr<Dataset> d = BuildDataset(source, rows, SmallOptions());
  EXPECT_EQ(d.status().code(), absl::StatusCode::kDataLoss);
}

}  // namespace
}  // namespace dnoscope::train
