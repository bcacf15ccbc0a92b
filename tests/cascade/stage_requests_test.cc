#include "cascade/stage_requests.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "opencv2/imgcodecs.hpp"

namespace dnoscope::cascade {
namespace {

using ::testing::HasSubstr;

cv::Mat Frame(int w, int h) {
  cv::Mat m(h, w, CV_8UC3);
  for (int y = 0; y < h; ++y) {
    for (int x = 0; x < w; ++x) m.at<cv::Vec3b>(y, x) = cv::Vec3b(x % 256, y % 256, (x + y) % 256);
  }
  return m;
}

models::DetectorSignature Detector(bool frame_index) {
  models::DetectorSignature sig;
  sig.image_input = "image";
  sig.takes_frame_index = frame_index;
  return sig;
}

TEST(ReferenceRequestTest, RawSendsTheFramePixelsAndFrameIndexOnlyWhenDeclared) {
  const cv::Mat frame = Frame(40, 30);
  absl::StatusOr<ReferenceRequest> r = BuildReferenceRequest(frame, 17, Detector(false), {});
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->inputs.size(), 1u);
  EXPECT_EQ(r->inputs[0].name, "image");
  EXPECT_EQ(r->inputs[0].dtype, DataType::kUint8);
  EXPECT_EQ(r->inputs[0].shape, (std::vector<int64_t>{30, 40, 3}));
  EXPECT_EQ(0, std::memcmp(r->inputs[0].data.data(), frame.data, 30 * 40 * 3));
  EXPECT_EQ(r->scale_x, 1);

  r = BuildReferenceRequest(frame, 17, Detector(true), {});
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->inputs.size(), 2u);
  EXPECT_EQ(r->inputs[1].name, "frame_index");
  EXPECT_EQ(r->inputs[1].Values<int64_t>()[0], 17);
}

TEST(ReferenceRequestTest, PngIsLosslessAndJpegDecodesToTheFrameSize) {
  const cv::Mat frame = Frame(64, 48);
  PayloadOptions png{.format = PayloadFormat::kPng};
  absl::StatusOr<ReferenceRequest> r = BuildReferenceRequest(frame, 0, Detector(false), png);
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->inputs[0].dtype, DataType::kBytes);
  ASSERT_EQ(r->inputs[0].bytes.size(), 1u);
  const std::string& bytes = r->inputs[0].bytes[0];
  cv::Mat decoded = cv::imdecode(std::vector<uint8_t>(bytes.begin(), bytes.end()), cv::IMREAD_COLOR);
  EXPECT_EQ(cv::norm(decoded, frame, cv::NORM_INF), 0);

  PayloadOptions jpeg{.format = PayloadFormat::kJpeg, .jpeg_quality = 50};
  r = BuildReferenceRequest(frame, 0, Detector(false), jpeg);
  ASSERT_TRUE(r.ok()) << r.status();
  const std::string& jb = r->inputs[0].bytes[0];
  EXPECT_EQ(static_cast<unsigned char>(jb[0]), 0xFF);  // JPEG SOI marker
  EXPECT_EQ(static_cast<unsigned char>(jb[1]), 0xD8);
  decoded = cv::imdecode(std::vector<uint8_t>(jb.begin(), jb.end()), cv::IMREAD_COLOR);
  EXPECT_EQ(decoded.size(), frame.size());
}

TEST(ReferenceRequestTest, JpegQualityChangesTheSize) {
  const cv::Mat frame = Frame(128, 96);
  auto size_at = [&](int q) {
    auto r = BuildReferenceRequest(frame, 0, Detector(false),
                                   {.format = PayloadFormat::kJpeg, .jpeg_quality = q});
    return r.ok() ? r->inputs[0].bytes[0].size() : 0u;
  };
  EXPECT_LT(size_at(10), size_at(95));
}

TEST(ReferenceRequestTest, ResizeShrinksTheImageAndScalesBoxesBack) {
  const cv::Mat frame = Frame(200, 100);
  PayloadOptions o{.resize_width = 50, .resize_height = 40};
  absl::StatusOr<ReferenceRequest> r = BuildReferenceRequest(frame, 0, Detector(false), o);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->inputs[0].shape, (std::vector<int64_t>{40, 50, 3}));
  EXPECT_DOUBLE_EQ(r->scale_x, 4.0);
  EXPECT_DOUBLE_EQ(r->scale_y, 2.5);
  std::vector<models::BoxDetection> boxes = {{0, 0.9f, 10, 4, 20, 8}};
  ScaleBoxes(*r, &boxes);
  EXPECT_FLOAT_EQ(boxes[0].x1, 40);
  EXPECT_FLOAT_EQ(boxes[0].y1, 10);
  EXPECT_FLOAT_EQ(boxes[0].x2, 80);
  EXPECT_FLOAT_EQ(boxes[0].y2, 20);
}

TEST(ReferenceRequestTest, RejectsBadOptionsAndNames) {
  EXPECT_THAT(ValidatePayloadOptions({.jpeg_quality = 0}).message(), HasSubstr("1..100"));
  EXPECT_THAT(ValidatePayloadOptions({.resize_width = 10}).message(), HasSubstr("WxH"));
  EXPECT_TRUE(ValidatePayloadOptions({}).ok());
  EXPECT_EQ(*ParsePayloadFormat("jpeg"), PayloadFormat::kJpeg);
  EXPECT_EQ(*ParsePayloadFormat("png"), PayloadFormat::kPng);
  EXPECT_EQ(*ParsePayloadFormat("raw"), PayloadFormat::kRaw);
  EXPECT_THAT(ParsePayloadFormat("gif").status().message(), HasSubstr("raw, jpeg or png"));
  EXPECT_FALSE(BuildReferenceRequest(cv::Mat(), 0, Detector(false), {}).ok());
}

}  // namespace
}  // namespace dnoscope::cascade
