#include "models/detector_head.h"

#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "models/model.h"

namespace dnoscope::models {
namespace {

using ::testing::ElementsAre;
using ::testing::FloatNear;
using ::testing::HasSubstr;
using ::testing::SizeIs;

// A [rows.size(), K] CV_32F matrix (2-D, as OpenCV's Darknet importer returns).
cv::Mat Rows2d(const std::vector<std::vector<float>>& rows) {
  cv::Mat m(static_cast<int>(rows.size()), static_cast<int>(rows[0].size()), CV_32F);
  for (int r = 0; r < m.rows; ++r) {
    for (int c = 0; c < m.cols; ++c) m.at<float>(r, c) = rows[r][c];
  }
  return m;
}

// A [1, rows, K] CV_32F blob (YOLOv5 layout).
cv::Mat Batched(const cv::Mat& rows2d) {
  const int sizes[] = {1, rows2d.rows, rows2d.cols};
  cv::Mat m(3, sizes, CV_32F);
  std::memcpy(m.ptr(), rows2d.ptr(), rows2d.total() * sizeof(float));
  return m;
}

DetectorHeadOptions Options(HeadFormat format, int w, int h) {
  DetectorHeadOptions o;
  o.format = format;
  o.input_width = w;
  o.input_height = h;
  o.confidence_threshold = 0.25f;
  o.nms_threshold = 0.45f;
  return o;
}

MATCHER_P5(IsBox, class_id, x1, y1, x2, y2, "") {
  return arg.class_id == class_id && std::abs(arg.x1 - x1) < 1e-3 && std::abs(arg.y1 - y1) < 1e-3 &&
         std::abs(arg.x2 - x2) < 1e-3 && std::abs(arg.y2 - y2) < 1e-3;
}

BoxDetection Box(int class_id, float score, float x1, float y1, float x2, float y2) {
  return {class_id, score, x1, y1, x2, y2};
}

TEST(DecodeDetectionsTest, DarknetNormalisedRowsMapToFramePixelsAfterPlainResize) {
  const DetectorHeadOptions options = Options(HeadFormat::kDarknet, 320, 320);
  InputTransform t;
  MakeInputBlob(cv::Mat(480, 640, CV_8UC3, cv::Scalar::all(0)), options, &t);
  // cx, cy, w, h (fractions of the 320x320 input), objectness, 2 class scores.
  const cv::Mat out = Rows2d(
      {{0.5f, 0.5f, 0.25f, 0.5f, 0.9f, 0.8f, 0.1f}, {0.1f, 0.1f, 0.1f, 0.1f, 0.1f, 0.1f, 0.0f}});
  auto boxes = DecodeDetections({out}, options, t, 2, 640, 480);
  ASSERT_TRUE(boxes.ok()) << boxes.status();
  // Input box 120..200 x 80..240 -> frame x / 0.5, y / (320/480).
  ASSERT_THAT(*boxes, ElementsAre(IsBox(0, 240, 120, 400, 360)));
  EXPECT_FLOAT_EQ((*boxes)[0].score, 0.8f);  // class score already includes objectness
}

TEST(DecodeDetectionsTest, DarknetDecodesEveryOutputLayer) {
  const DetectorHeadOptions options = Options(HeadFormat::kDarknet, 100, 100);
  const InputTransform identity;
  const cv::Mat coarse = Rows2d({{0.2f, 0.2f, 0.2f, 0.2f, 0.9f, 0.9f}});
  const cv::Mat fine = Rows2d({{0.7f, 0.7f, 0.2f, 0.2f, 0.6f, 0.6f}});
  auto boxes = DecodeDetections({coarse, fine}, options, identity, 1, 100, 100);
  ASSERT_TRUE(boxes.ok()) << boxes.status();
  EXPECT_THAT(*boxes, ElementsAre(IsBox(0, 10, 10, 30, 30), IsBox(0, 60, 60, 80, 80)));
}

TEST(DecodeDetectionsTest, YoloV5MultipliesObjectnessAndUsesInputPixels) {
  const DetectorHeadOptions options = Options(HeadFormat::kYoloV5, 640, 640);
  const InputTransform identity;
  // Objectness 0.5 x class 0.8 = 0.4 passes; 0.5 x 0.4 = 0.2 does not.
  const cv::Mat out = Batched(
      Rows2d({{100, 200, 50, 100, 0.5f, 0.1f, 0.8f}, {400, 400, 20, 20, 0.5f, 0.4f, 0.0f}}));
  auto boxes = DecodeDetections({out}, options, identity, 2, 640, 640);
  ASSERT_TRUE(boxes.ok()) << boxes.status();
  ASSERT_THAT(*boxes, ElementsAre(IsBox(1, 75, 150, 125, 250)));
  EXPECT_THAT((*boxes)[0].score, FloatNear(0.4f, 1e-6));
}

TEST(DecodeDetectionsTest, YoloV8ReadsTransposedColumnsWithoutObjectness) {
  const DetectorHeadOptions options = Options(HeadFormat::kYoloV8, 640, 640);
  const InputTransform identity;
  // [1, 4 + 2 classes, 3 boxes]: one column per box.
  const cv::Mat columns = Rows2d({{100, 300, 500},
                                  {100, 300, 500},
                                  {20, 40, 60},
                                  {20, 40, 60},
                                  {0.9f, 0.1f, 0.0f},
                                  {0.0f, 0.7f, 0.2f}});
  auto boxes = DecodeDetections({Batched(columns)}, options, identity, 2, 640, 640);
  ASSERT_TRUE(boxes.ok()) << boxes.status();
  EXPECT_THAT(*boxes, ElementsAre(IsBox(0, 90, 90, 110, 110), IsBox(1, 280, 280, 320, 320)));
}

TEST(MakeInputBlobTest, LetterboxPadsWithGreyAndBoxesMapBackToFramePixels) {
  DetectorHeadOptions options = Options(HeadFormat::kYoloV5, 320, 320);
  options.letterbox = true;
  InputTransform t;
  const cv::Mat blob = MakeInputBlob(cv::Mat(320, 640, CV_8UC3, cv::Scalar::all(0)), options, &t);
  ASSERT_EQ(blob.dims, 4);
  EXPECT_THAT(std::vector<int>(blob.size.p, blob.size.p + 4), ElementsAre(1, 3, 320, 320));
  EXPECT_DOUBLE_EQ(t.scale_x, 0.5);
  EXPECT_DOUBLE_EQ(t.scale_y, 0.5);
  EXPECT_DOUBLE_EQ(t.pad_x, 0);
  EXPECT_DOUBLE_EQ(t.pad_y, 80);
  // Row 0 is padding (grey 114), row 160 is the black frame.
  EXPECT_FLOAT_EQ(blob.ptr<float>(0, 0)[0], 114.0f / 255.0f);
  EXPECT_FLOAT_EQ(blob.ptr<float>(0, 0)[160 * 320], 0.0f);
  const cv::Mat out = Batched(Rows2d({{160, 160, 40, 20, 1.0f, 1.0f}}));
  auto boxes = DecodeDetections({out}, options, t, 1, 640, 320);
  ASSERT_TRUE(boxes.ok()) << boxes.status();
  EXPECT_THAT(*boxes, ElementsAre(IsBox(0, 280, 140, 360, 180)));
}

TEST(MakeInputBlobTest, PlainResizeStretchesAndSwapsToRgb) {
  DetectorHeadOptions options = Options(HeadFormat::kDarknet, 64, 32);
  InputTransform t;
  const cv::Mat blob =
      MakeInputBlob(cv::Mat(100, 100, CV_8UC3, cv::Scalar(255, 0, 0)), options, &t);  // blue
  EXPECT_THAT(std::vector<int>(blob.size.p, blob.size.p + 4), ElementsAre(1, 3, 32, 64));
  EXPECT_DOUBLE_EQ(t.scale_x, 0.64);
  EXPECT_DOUBLE_EQ(t.scale_y, 0.32);
  EXPECT_FLOAT_EQ(blob.ptr<float>(0, 0)[0], 0.0f);  // R plane first
  EXPECT_FLOAT_EQ(blob.ptr<float>(0, 2)[0], 1.0f);  // B plane last
}

TEST(DecodeDetectionsTest, PerClassThresholdOverridesDefault) {
  DetectorHeadOptions options = Options(HeadFormat::kYoloV8, 100, 100);
  options.confidence_threshold = 0.5f;
  options.class_thresholds = {{1, 0.05f}};
  const InputTransform identity;
  const cv::Mat columns = Rows2d({{20, 70},
                                  {20, 70},
                                  {10, 10},
                                  {10, 10},
                                  {0.3f, 0.0f},    // class 0: below 0.5
                                  {0.0f, 0.1f}});  // class 1: above its 0.05
  auto boxes = DecodeDetections({Batched(columns)}, options, identity, 2, 100, 100);
  ASSERT_TRUE(boxes.ok()) << boxes.status();
  EXPECT_THAT(*boxes, ElementsAre(IsBox(1, 65, 65, 75, 75)));
}

TEST(DecodeDetectionsTest, ClipsBoxesToTheFrameAndSortsByScore) {
  const DetectorHeadOptions options = Options(HeadFormat::kYoloV5, 100, 100);
  const InputTransform identity;
  const cv::Mat out = Batched(Rows2d({{50, 50, 20, 20, 0.5f, 1.0f}, {0, 95, 20, 20, 0.9f, 1.0f}}));
  auto boxes = DecodeDetections({out}, options, identity, 1, 100, 100);
  ASSERT_TRUE(boxes.ok()) << boxes.status();
  EXPECT_THAT(*boxes, ElementsAre(IsBox(0, 0, 85, 10, 100), IsBox(0, 40, 40, 60, 60)));
}

TEST(DecodeDetectionsTest, RejectsOutputsThatDoNotMatchTheFormat) {
  const DetectorHeadOptions darknet = Options(HeadFormat::kDarknet, 100, 100);
  const InputTransform identity;
  const cv::Mat seven_columns = Rows2d({{0.5f, 0.5f, 0.1f, 0.1f, 0.9f, 0.9f, 0.1f}});
  // 80 class names but 2 class columns.
  auto wrong_classes = DecodeDetections({seven_columns}, darknet, identity, 80, 100, 100);
  EXPECT_EQ(wrong_classes.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(wrong_classes.status().message()), HasSubstr("80"));
  // Too few columns for any class.
  auto too_narrow = DecodeDetections({Rows2d({{1, 2, 3, 4}})}, darknet, identity, 0, 100, 100);
  EXPECT_EQ(too_narrow.status().code(), absl::StatusCode::kInvalidArgument);
  // Doubles, and 4-D blobs, are not detector outputs.
  cv::Mat doubles(1, 6, CV_64F, cv::Scalar(0));
  EXPECT_EQ(DecodeDetections({doubles}, darknet, identity, 1, 100, 100).status().code(),
            absl::StatusCode::kInvalidArgument);
  const int sizes4[] = {1, 1, 1, 6};
  EXPECT_EQ(
      DecodeDetections({cv::Mat(4, sizes4, CV_32F, cv::Scalar(0))}, darknet, identity, 1, 100, 100)
          .status()
          .code(),
      absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(DecodeDetections({}, darknet, identity, 1, 100, 100).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(NonMaxSuppressionTest, PerClassKeepsOverlappingBoxesOfDifferentClasses) {
  const std::vector<BoxDetection> boxes = {Box(0, 0.9f, 0, 0, 10, 10), Box(1, 0.8f, 1, 1, 11, 11),
                                           Box(0, 0.7f, 1, 0, 11, 10)};
  EXPECT_THAT(NonMaxSuppression(boxes, 0.5f, /*class_agnostic=*/false),
              ElementsAre(IsBox(0, 0, 0, 10, 10), IsBox(1, 1, 1, 11, 11)));
}

TEST(NonMaxSuppressionTest, ClassAgnosticSuppressesAcrossClasses) {
  const std::vector<BoxDetection> boxes = {Box(1, 0.8f, 1, 1, 11, 11), Box(0, 0.9f, 0, 0, 10, 10),
                                           Box(2, 0.5f, 50, 50, 60, 60)};
  EXPECT_THAT(NonMaxSuppression(boxes, 0.5f, /*class_agnostic=*/true),
              ElementsAre(IsBox(0, 0, 0, 10, 10), IsBox(2, 50, 50, 60, 60)));
}

TEST(NonMaxSuppressionTest, KeepsBoxesOverlappingAtMostTheThreshold) {
  // IoU of these two is 1/3.
  const std::vector<BoxDetection> boxes = {Box(0, 0.9f, 0, 0, 10, 10), Box(0, 0.8f, 5, 0, 15, 10)};
  EXPECT_THAT(NonMaxSuppression(boxes, 0.4f, false), SizeIs(2));
  EXPECT_THAT(NonMaxSuppression(boxes, 0.3f, false), SizeIs(1));
}

TEST(IoUTest, IdenticalDisjointPartialAndEmptyBoxes) {
  const BoxDetection a = Box(0, 1, 0, 0, 10, 10);
  EXPECT_FLOAT_EQ(IoU(a, a), 1.0f);
  EXPECT_FLOAT_EQ(IoU(a, Box(0, 1, 20, 20, 30, 30)), 0.0f);
  EXPECT_FLOAT_EQ(IoU(a, Box(0, 1, 5, 0, 15, 10)), 1.0f / 3.0f);
  EXPECT_FLOAT_EQ(IoU(a, Box(0, 1, 5, 5, 5, 9)), 0.0f);
}

}  // namespace
}  // namespace dnoscope::models
