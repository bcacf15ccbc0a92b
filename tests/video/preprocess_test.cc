#include "video/preprocess.h"

#include "gtest/gtest.h"

namespace dnoscope::video {
namespace {

// A BGR frame whose pixel (x, y) is (x, y, 7): every pixel tells where it is.
cv::Mat CoordinateFrame(int width, int height) {
  cv::Mat frame(height, width, CV_8UC3);
  for (int y = 0; y < height; ++y) {
    for (int x = 0; x < width; ++x) frame.at<cv::Vec3b>(y, x) = cv::Vec3b(x, y, 7);
  }
  return frame;
}

TEST(CropAndResizeTest, CropAtRoiSizeCopiesExactlyTheRoiPixels) {
  const cv::Mat frame = CoordinateFrame(200, 120);
  const Roi roi{.x0 = 30, .y0 = 40, .x1 = 80, .y1 = 100};
  cv::Mat out;
  CropAndResize(frame, roi, roi.width(), roi.height(), Interpolation::kArea, &out);
  ASSERT_EQ(out.size(), cv::Size(50, 60));
  EXPECT_EQ(out.at<cv::Vec3b>(0, 0), cv::Vec3b(30, 40, 7));
  EXPECT_EQ(out.at<cv::Vec3b>(59, 49), cv::Vec3b(79, 99, 7));
  EXPECT_EQ(cv::norm(out, frame(cv::Rect(30, 40, 50, 60)), cv::NORM_INF), 0);
}

TEST(CropAndResizeTest, ResizedCropSamplesOnlyInsideTheRoi) {
  const cv::Mat frame = CoordinateFrame(200, 120);
  const Roi roi{.x0 = 100, .y0 = 20, .x1 = 180, .y1 = 60};
  cv::Mat out;
  CropAndResize(frame, roi, 10, 5, Interpolation::kNearest, &out);
  ASSERT_EQ(out.size(), cv::Size(10, 5));
  for (int y = 0; y < out.rows; ++y) {
    for (int x = 0; x < out.cols; ++x) {
      const cv::Vec3b p = out.at<cv::Vec3b>(y, x);
      EXPECT_TRUE(roi.Contains(p[0], p[1])) << "(" << x << "," << y << ") came from " << p;
    }
  }
}

TEST(CropAndResizeTest, WithoutRoiResizesTheWholeFrameToTheRequestedSize) {
  const cv::Mat frame(360, 640, CV_8UC3, cv::Scalar(10, 120, 230));
  for (Interpolation interpolation :
       {Interpolation::kArea, Interpolation::kLinear, Interpolation::kNearest}) {
    cv::Mat out;
    CropAndResize(frame, std::nullopt, 50, 50, interpolation, &out);
    ASSERT_EQ(out.size(), cv::Size(50, 50));
    EXPECT_EQ(out.type(), CV_8UC3);
    EXPECT_EQ(out.at<cv::Vec3b>(25, 25), cv::Vec3b(10, 120, 230));
  }
}

TEST(CropAndResizeTest, ReusesAnOutputOfTheRightSize) {
  const cv::Mat frame = CoordinateFrame(200, 120);
  cv::Mat out(50, 50, CV_8UC3);
  const uchar* buffer = out.data;
  CropAndResize(frame, std::nullopt, 50, 50, Interpolation::kArea, &out);
  EXPECT_EQ(out.data, buffer);
}

}  // namespace
}  // namespace dnoscope::video
