#include "video/synthetic.h"

#include <filesystem>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "labels/label_csv.h"
#include "opencv2/imgcodecs.hpp"
#include "testing/test_env.h"
#include "video/frame_source.h"

namespace dnoscope::video {
namespace {

using ::testing::HasSubstr;

SynthOptions SmallOptions(uint64_t seed = 1) {
  return SynthOptions{.width = 160, .height = 96, .frames = 300, .seed = seed, .object_rate = 0.02};
}

std::unique_ptr<SyntheticScene> MakeScene(const SynthOptions& options) {
  absl::StatusOr<std::unique_ptr<SyntheticScene>> scene = SyntheticScene::Create(options);
  EXPECT_TRUE(scene.ok()) << scene.status();
  return scene.ok() ? std::move(*scene) : nullptr;
}

struct Rendered {
  std::vector<cv::Mat> frames;
  std::vector<labels::Detection> truth;  // all frames' boxes, in order
  int64_t positive_frames = 0;
};

Rendered RenderAll(SyntheticScene& scene) {
  Rendered out;
  cv::Mat frame;
  std::vector<labels::Detection> truth;
  while (scene.Next(&frame, &truth)) {
    out.frames.push_back(frame.clone());
    out.truth.insert(out.truth.end(), truth.begin(), truth.end());
    if (!truth.empty()) ++out.positive_frames;
  }
  return out;
}

double Mse(const cv::Mat& a, const cv::Mat& b) {
  const double norm = cv::norm(a, b, cv::NORM_L2SQR);
  return norm / static_cast<double>(a.total() * a.channels());
}

TEST(SyntheticSceneTest, SameSeedGivesIdenticalFramesAndTruth) {
  auto a = MakeScene(SmallOptions(7));
  auto b = MakeScene(SmallOptions(7));
  ASSERT_TRUE(a && b);
  const Rendered ra = RenderAll(*a);
  const Rendered rb = RenderAll(*b);
  ASSERT_EQ(ra.frames.size(), 300u);
  ASSERT_EQ(rb.frames.size(), 300u);
  for (size_t i = 0; i < ra.frames.size(); ++i) {
    ASSERT_EQ(cv::norm(ra.frames[i], rb.frames[i], cv::NORM_INF), 0) << "frame " << i;
  }
  EXPECT_EQ(ra.truth, rb.truth);
  EXPECT_EQ(cv::norm(a->background(), b->background(), cv::NORM_INF), 0);
}

TEST(SyntheticSceneTest, DifferentSeedsGiveDifferentScenes) {
  auto a = MakeScene(SmallOptions(1));
  auto b = MakeScene(SmallOptions(2));
  ASSERT_TRUE(a && b);
  EXPECT_GT(cv::norm(a->background(), b->background(), cv::NORM_L1), 0);
  const Rendered ra = RenderAll(*a);
  const Rendered rb = RenderAll(*b);
  EXPECT_NE(ra.truth, rb.truth);
}

TEST(SyntheticSceneTest, FramesAreBgrOfTheRequestedSizeAndStopAfterTheLast) {
  SynthOptions options = SmallOptions();
  options.frames = 3;
  auto scene = MakeScene(options);
  ASSERT_NE(scene, nullptr);
  cv::Mat frame;
  std::vector<labels::Detection> truth;
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(scene->Next(&frame, &truth));
    EXPECT_EQ(frame.size(), cv::Size(160, 96));
    EXPECT_EQ(frame.type(), CV_8UC3);
  }
  EXPECT_FALSE(scene->Next(&frame, &truth));
  EXPECT_EQ(scene->next_frame(), 3);
}

TEST(SyntheticSceneTest, ObjectsAppearAndTruthBoxesLieInsideTheFrame) {
  auto scene = MakeScene(SmallOptions(3));
  ASSERT_NE(scene, nullptr);
  const Rendered rendered = RenderAll(*scene);
  EXPECT_GT(scene->objects_entered(), 0);
  EXPECT_GT(rendered.positive_frames, 0);
  EXPECT_LT(rendered.positive_frames, 300);
  int64_t previous_frame = -1;
  for (const labels::Detection& d : rendered.truth) {
    EXPECT_GE(d.frame, previous_frame);
    previous_frame = d.frame;
    EXPECT_EQ(d.object_name, "car");
    EXPECT_FLOAT_EQ(d.confidence, 1.0f);
    EXPECT_GE(d.xmin, 0);
    EXPECT_GE(d.ymin, 0);
    EXPECT_LT(d.xmin, d.xmax);
    EXPECT_LT(d.ymin, d.ymax);
    EXPECT_LE(d.xmax, 160);
    EXPECT_LE(d.ymax, 96);
  }
}

TEST(SyntheticSceneTest, ConsecutiveFramesDifferBecauseOfSensorNoise) {
  SynthOptions options = SmallOptions();
  options.object_rate = 0;
  auto scene = MakeScene(options);
  ASSERT_NE(scene, nullptr);
  const Rendered rendered = RenderAll(*scene);
  for (size_t i = 1; i < rendered.frames.size(); ++i) {
    EXPECT_GT(Mse(rendered.frames[i - 1], rendered.frames[i]), 0) << "frames " << i - 1 << "," << i;
  }
}

TEST(SyntheticSceneTest, WithoutNoiseDriftOrObjectsEveryFrameIsTheBackground) {
  SynthOptions options = SmallOptions();
  options.frames = 20;
  options.object_rate = 0;
  options.noise_sigma = 0;
  options.drift_amplitude = 0;
  auto scene = MakeScene(options);
  ASSERT_NE(scene, nullptr);
  for (const cv::Mat& frame : RenderAll(*scene).frames) {
    EXPECT_EQ(cv::norm(frame, scene->background(), cv::NORM_INF), 0);
  }
}

TEST(SyntheticSceneTest, TruthBoxesCoverPixelsThatDifferFromTheBackground) {
  SynthOptions options = SmallOptions(5);
  options.noise_sigma = 0;
  options.drift_amplitude = 0;
  options.object_rate = 0.05;
  auto scene = MakeScene(options);
  ASSERT_NE(scene, nullptr);
  const Rendered rendered = RenderAll(*scene);
  ASSERT_FALSE(rendered.truth.empty());
  for (const labels::Detection& d : rendered.truth) {
    const cv::Rect box(static_cast<int>(d.xmin), static_cast<int>(d.ymin),
                       static_cast<int>(d.xmax - d.xmin), static_cast<int>(d.ymax - d.ymin));
    const cv::Mat frame = rendered.frames[d.frame];
    EXPECT_GT(cv::norm(frame(box), scene->background()(box), cv::NORM_L1) / box.area(), 5)
        << "frame " << d.frame;
  }
}

TEST(SyntheticSceneTest, RejectsBadOptionsNamingTheField) {
  struct Case {
    const char* field;
    void (*set)(SynthOptions&);
  };
  const std::vector<Case> cases = {
      {"width", [](SynthOptions& o) { o.width = 0; }},
      {"height", [](SynthOptions& o) { o.height = 100000; }},
      {"frames", [](SynthOptions& o) { o.frames = 0; }},
      {"fps", [](SynthOptions& o) { o.fps = 0; }},
      {"object_rate", [](SynthOptions& o) { o.object_rate = -1; }},
      {"stop_probability", [](SynthOptions& o) { o.stop_probability = 1.5; }},
      {"max_objects", [](SynthOptions& o) { o.max_objects = -1; }},
      {"object_name", [](SynthOptions& o) { o.object_name = "a,b"; }},
      {"noise_sigma", [](SynthOptions& o) { o.noise_sigma = -2; }},
      {"drift_amplitude", [](SynthOptions& o) { o.drift_amplitude = 3; }},
      {"codec", [](SynthOptions& o) { o.codec = "MJP"; }},
  };
  for (const Case& c : cases) {
    SynthOptions options;
    c.set(options);
    absl::StatusOr<std::unique_ptr<SyntheticScene>> scene = SyntheticScene::Create(options);
    EXPECT_EQ(scene.status().code(), absl::StatusCode::kInvalidArgument) << c.field;
    EXPECT_THAT(scene.status().message(), HasSubstr(c.field));
  }
}

TEST(WriteSyntheticSceneTest, WritesVideoLabelsAndBackgroundMatchingTheScene) {
  testing::ScratchDir dir;
  SynthOptions options = SmallOptions(11);
  options.frames = 60;
  options.object_rate = 0.1;
  std::vector<int64_t> progress;
  const std::string out_dir = dir.File("scene");
  absl::StatusOr<SynthResult> result =
      WriteSyntheticScene(options, out_dir, [&](int64_t n) { progress.push_back(n); });
  ASSERT_TRUE(result.ok()) << result.status();
  auto scene = MakeScene(options);
  ASSERT_NE(scene, nullptr);
  const Rendered expected = RenderAll(*scene);

  EXPECT_EQ(result->video_path, out_dir + "/video.avi");
  EXPECT_EQ(result->frames, 60);
  EXPECT_EQ(result->positive_frames, expected.positive_frames);
  EXPECT_EQ(result->objects, scene->objects_entered());
  ASSERT_EQ(progress.size(), 60u);
  EXPECT_EQ(progress.front(), 1);
  EXPECT_EQ(progress.back(), 60);

  absl::StatusOr<std::vector<labels::Detection>> labels = labels::ReadLabelCsv(result->labels_path);
  ASSERT_TRUE(labels.ok()) << labels.status();
  EXPECT_EQ(*labels, expected.truth);

  const cv::Mat background = cv::imread(result->background_path, cv::IMREAD_COLOR);
  ASSERT_FALSE(background.empty());
  EXPECT_EQ(cv::norm(background, scene->background(), cv::NORM_INF), 0);

  absl::StatusOr<VideoInfo> info = ProbeVideo(result->video_path);
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_EQ(info->width, 160);
  EXPECT_EQ(info->height, 96);
  EXPECT_EQ(info->frame_count, 60);
  EXPECT_EQ(info->codec, "MJPG");
}

TEST(WriteSyntheticSceneTest, BadOptionsWriteNothing) {
  testing::ScratchDir dir;
  SynthOptions options;
  options.codec = "H";
  const std::string out_dir = dir.File("scene");
  EXPECT_EQ(WriteSyntheticScene(options, out_dir).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_FALSE(std::filesystem::exists(out_dir));
}

}  // namespace
}  // namespace dnoscope::video
