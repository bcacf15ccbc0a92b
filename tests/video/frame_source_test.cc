#include "video/frame_source.h"

#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "opencv2/imgproc.hpp"
#include "opencv2/videoio.hpp"
#include "testing/test_env.h"
#include "video/synthetic.h"

namespace dnoscope::video {
namespace {

using ::testing::HasSubstr;

constexpr int kFrames = 30;
constexpr int kWidth = 96;
constexpr int kHeight = 64;

// Grey level that identifies frame `index` in a numbered video.
int GreyOf(int64_t index) { return static_cast<int>(index) * 8; }

// Writes an MJPG .avi whose frame i is uniformly grey at GreyOf(i).
void WriteNumberedVideo(const std::string& path, int frames) {
  cv::VideoWriter writer(path, cv::VideoWriter::fourcc('M', 'J', 'P', 'G'), 10,
                         cv::Size(kWidth, kHeight));
  ASSERT_TRUE(writer.isOpened()) << path;
  for (int i = 0; i < frames; ++i) {
    writer.write(cv::Mat(kHeight, kWidth, CV_8UC3, cv::Scalar::all(GreyOf(i))));
  }
}

// Reads every frame Next() yields; fails the test on an error.
std::vector<Frame> ReadAll(FrameSource& source) {
  std::vector<Frame> frames;
  while (true) {
    absl::StatusOr<std::optional<Frame>> next = source.Next();
    EXPECT_TRUE(next.ok()) << next.status();
    if (!next.ok() || !next->has_value()) return frames;
    frames.push_back(std::move(**next));
  }
}

class FrameSourceTest : public ::testing::Test {
 protected:
  void SetUp() override { WriteNumberedVideo(path_, kFrames); }

  std::unique_ptr<FrameSource> Open(FrameRange range, int skip = 1) {
    FrameSourceOptions options{.uri = path_, .range = range, .skip = skip};
    absl::StatusOr<std::unique_ptr<FrameSource>> source = OpenFrameSource(options);
    EXPECT_TRUE(source.ok()) << source.status();
    return source.ok() ? std::move(*source) : nullptr;
  }

  testing::ScratchDir dir_;
  std::string path_ = dir_.File("numbered.avi");
};

TEST_F(FrameSourceTest, ReportsFileProperties) {
  auto source = Open({});
  ASSERT_NE(source, nullptr);
  const VideoInfo& info = source->info();
  EXPECT_EQ(info.uri, path_);
  EXPECT_EQ(info.width, kWidth);
  EXPECT_EQ(info.height, kHeight);
  EXPECT_DOUBLE_EQ(info.fps, 10);
  EXPECT_EQ(info.frame_count, kFrames);
  EXPECT_EQ(info.codec, "MJPG");
  EXPECT_FALSE(info.live);
  EXPECT_EQ(info.backend, "FFMPEG");
}

TEST_F(FrameSourceTest, ProbeVideoMatchesOpenedInfo) {
  absl::StatusOr<VideoInfo> info = ProbeVideo(path_);
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_EQ(info->width, kWidth);
  EXPECT_EQ(info->height, kHeight);
  EXPECT_EQ(info->frame_count, kFrames);
  EXPECT_EQ(info->codec, "MJPG");
}

TEST_F(FrameSourceTest, YieldsEveryFrameInOrderWithItsImage) {
  auto source = Open({});
  ASSERT_NE(source, nullptr);
  const std::vector<Frame> frames = ReadAll(*source);
  ASSERT_EQ(frames.size(), static_cast<size_t>(kFrames));
  for (int i = 0; i < kFrames; ++i) {
    EXPECT_EQ(frames[i].index, i);
    EXPECT_TRUE(frames[i].sampled);
    EXPECT_FALSE(frames[i].corrupt);
    ASSERT_EQ(frames[i].image.size(), cv::Size(kWidth, kHeight));
    EXPECT_EQ(frames[i].image.type(), CV_8UC3);
    EXPECT_NEAR(cv::mean(frames[i].image)[0], GreyOf(i), 3) << "frame " << i;
  }
  EXPECT_EQ(source->corrupt_frames(), 0);
}

TEST_F(FrameSourceTest, RangeDropsFramesBeforeStartAndStopsAtEnd) {
  auto source = Open({.start = 5, .end = 12});
  ASSERT_NE(source, nullptr);
  const std::vector<Frame> frames = ReadAll(*source);
  ASSERT_EQ(frames.size(), 7u);
  for (size_t i = 0; i < frames.size(); ++i) {
    EXPECT_EQ(frames[i].index, static_cast<int64_t>(5 + i));
    EXPECT_NEAR(cv::mean(frames[i].image)[0], GreyOf(frames[i].index), 3);
  }
}

TEST_F(FrameSourceTest, RangeEndPastTheVideoStopsAtTheLastFrame) {
  auto source = Open({.start = 25, .end = 1000});
  ASSERT_NE(source, nullptr);
  const std::vector<Frame> frames = ReadAll(*source);
  ASSERT_EQ(frames.size(), 5u);
  EXPECT_EQ(frames.front().index, 25);
  EXPECT_EQ(frames.back().index, kFrames - 1);
}

TEST_F(FrameSourceTest, SkipDecodesOnlyEverySkipthFrameOfTheRange) {
  auto source = Open({.start = 3, .end = 20}, /*skip=*/4);
  ASSERT_NE(source, nullptr);
  const std::vector<Frame> frames = ReadAll(*source);
  ASSERT_EQ(frames.size(), 17u);
  for (const Frame& frame : frames) {
    const bool expect_sampled = (frame.index - 3) % 4 == 0;
    EXPECT_EQ(frame.sampled, expect_sampled) << "frame " << frame.index;
    EXPECT_FALSE(frame.corrupt);
    if (expect_sampled) {
      ASSERT_FALSE(frame.image.empty()) << "frame " << frame.index;
      EXPECT_NEAR(cv::mean(frame.image)[0], GreyOf(frame.index), 3);
    } else {
      EXPECT_TRUE(frame.image.empty()) << "frame " << frame.index;
    }
  }
}

TEST_F(FrameSourceTest, NextKeepsReturningNulloptAfterTheEnd) {
  auto source = Open({.start = 28});
  ASSERT_NE(source, nullptr);
  EXPECT_EQ(ReadAll(*source).size(), 2u);
  absl::StatusOr<std::optional<Frame>> next = source->Next();
  ASSERT_TRUE(next.ok()) << next.status();
  EXPECT_FALSE(next->has_value());
}

TEST_F(FrameSourceTest, SkipBelowOneIsInvalidArgument) {
  absl::StatusOr<std::unique_ptr<FrameSource>> source = OpenFrameSource({.uri = path_, .skip = 0});
  EXPECT_EQ(source.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(source.status().message(), HasSubstr("skip"));
}

TEST_F(FrameSourceTest, RangeStartBeyondTheEndIsInvalidArgument) {
  absl::StatusOr<std::unique_ptr<FrameSource>> source =
      OpenFrameSource({.uri = path_, .range = {.start = 500}});
  EXPECT_EQ(source.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(source.status().message(), HasSubstr("beyond the end"));
}

TEST(FrameSourceErrorsTest, MissingFileIsNotFound) {
  testing::ScratchDir dir;
  const std::string path = dir.File("nope.mp4");
  absl::StatusOr<std::unique_ptr<FrameSource>> source = OpenFrameSource({.uri = path});
  EXPECT_EQ(source.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(source.status().message(), "video file '" + path + "' does not exist");
  EXPECT_EQ(ProbeVideo(path).status().code(), absl::StatusCode::kNotFound);
}

TEST(FrameSourceErrorsTest, FilesThatAreNotVideosAreInvalidArgument) {
  testing::ScratchDir dir;
  std::string text;
  for (int i = 0; i < 100; ++i) text += "this is a text file, line " + std::to_string(i) + "\n";
  std::string binary(5000, '\0');
  for (size_t i = 0; i < binary.size(); ++i) binary[i] = static_cast<char>((i * 7919) % 251);
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"notes.txt", text}, {"notes.mp4", text}, {"garbage.avi", binary}, {"empty.mkv", ""}};
  for (const auto& [name, content] : cases) {
    testing::WriteFile(dir.File(name), content);
    absl::StatusOr<std::unique_ptr<FrameSource>> source = OpenFrameSource({.uri = dir.File(name)});
    EXPECT_EQ(source.status().code(), absl::StatusCode::kInvalidArgument) << name;
    EXPECT_THAT(source.status().message(), HasSubstr(dir.File(name)));
    EXPECT_EQ(source.status().message().find('\n'), std::string::npos) << name;
  }
}

TEST(FrameSourceErrorsTest, TruncatedFileEndsWithDataLossNeverACrash) {
  testing::ScratchDir dir;
  const std::string full = dir.File("full.avi");
  const std::string cut = dir.File("cut.avi");
  {
    cv::VideoWriter writer(full, cv::VideoWriter::fourcc('M', 'J', 'P', 'G'), 10,
                           cv::Size(kWidth, kHeight));
    ASSERT_TRUE(writer.isOpened());
    cv::RNG rng(3);
    cv::Mat frame(kHeight, kWidth, CV_8UC3);
    for (int i = 0; i < 100; ++i) {
      rng.fill(frame, cv::RNG::UNIFORM, 0, 256);
      writer.write(frame);
    }
  }
  const std::string bytes = testing::ReadFileOrEmpty(full);
  testing::WriteFile(cut, bytes.substr(0, bytes.size() * 4 / 10));

  absl::StatusOr<std::unique_ptr<FrameSource>> source = OpenFrameSource({.uri = cut});
  if (!source.ok()) {
    EXPECT_THAT(source.status().message(), HasSubstr(cut));
    return;
  }
  absl::Status error;
  int64_t good = 0;
  for (int i = 0; i < 200; ++i) {
    absl::StatusOr<std::optional<Frame>> next = (*source)->Next();
    if (!next.ok()) {
      error = next.status();
      break;
    }
    ASSERT_TRUE(next->has_value()) << "ended cleanly after " << good << " good frames";
    if ((*next)->corrupt) {
      EXPECT_TRUE((*next)->image.empty());
    } else {
      ++good;
    }
  }
  EXPECT_EQ(error.code(), absl::StatusCode::kDataLoss) << error;
  EXPECT_THAT(error.message(), HasSubstr("truncated"));
  EXPECT_THAT(error.message(), HasSubstr("declares 100 frames"));
  EXPECT_GT(good, 10);
  EXPECT_LT(good, 60);
  EXPECT_GT((*source)->corrupt_frames(), 0);
  EXPECT_EQ((*source)->Next().status().code(), absl::StatusCode::kDataLoss);
}

TEST(FrameSourceErrorsTest, UnreachableStreamIsUnavailable) {
  // Port 1 on loopback refuses connections at once.
  absl::StatusOr<std::unique_ptr<FrameSource>> source =
      OpenFrameSource({.uri = "tcp://127.0.0.1:1"});
  EXPECT_EQ(source.status().code(), absl::StatusCode::kUnavailable) << source.status();
  EXPECT_THAT(source.status().message(), HasSubstr("tcp://127.0.0.1:1"));
}

TEST(IsLiveUriTest, TellsStreamsAndDevicesFromFiles) {
  const std::vector<std::pair<std::string, bool>> cases = {
      {"udp://0.0.0.0:5000", true},    {"tcp://host:9000", true},     {"rtsp://cam/stream", true},
      {"http://host/live.mjpg", true}, {"https://host/a.m3u8", true}, {"/dev/video0", true},
      {"/data/video.mp4", false},      {"clip.avi", false},           {"file:///data/a.mkv", false},
      {"weird:name.mp4", false},
  };
  for (const auto& [uri, live] : cases) EXPECT_EQ(IsLiveUri(uri), live) << uri;
}

TEST(SyntheticVideoSourceTest, ReadsEveryFrameOfAWrittenScene) {
  testing::ScratchDir dir;
  SynthOptions options{.width = 160, .height = 96, .frames = 40, .object_rate = 0.1};
  absl::StatusOr<SynthResult> written = WriteSyntheticScene(options, dir.path());
  ASSERT_TRUE(written.ok()) << written.status();
  absl::StatusOr<std::unique_ptr<FrameSource>> source =
      OpenFrameSource({.uri = written->video_path});
  ASSERT_TRUE(source.ok()) << source.status();
  EXPECT_EQ((*source)->info().frame_count, 40);
  const std::vector<Frame> frames = ReadAll(**source);
  ASSERT_EQ(frames.size(), 40u);
  EXPECT_EQ(frames.back().index, 39);
  EXPECT_EQ(frames.back().image.size(), cv::Size(160, 96));
  EXPECT_EQ((*source)->corrupt_frames(), 0);
}

TEST(RealVideoTest, VtestAviProperties) {
  const std::optional<std::string> vtest = testing::VtestAvi();
  if (!vtest) GTEST_SKIP() << "vtest.avi (Debian opencv-doc) not installed; skipping";
  absl::StatusOr<std::unique_ptr<FrameSource>> source =
      OpenFrameSource({.uri = *vtest, .range = {.start = 0, .end = 3}});
  ASSERT_TRUE(source.ok()) << source.status();
  const VideoInfo& info = (*source)->info();
  EXPECT_EQ(info.width, 768);
  EXPECT_EQ(info.height, 576);
  EXPECT_EQ(info.frame_count, 795);
  EXPECT_DOUBLE_EQ(info.fps, 10);
  EXPECT_FALSE(info.codec.empty());
  const std::vector<Frame> frames = ReadAll(**source);
  ASSERT_EQ(frames.size(), 3u);
  EXPECT_EQ(frames[2].image.size(), cv::Size(768, 576));
}

TEST(RealVideoTest, PersonClipEndsCleanlyAtItsDeclaredLength) {
  DNS_REQUIRE_SHARED_DATA(clip, "videos/one-by-one-person-detection.mp4");
  absl::StatusOr<std::unique_ptr<FrameSource>> source =
      OpenFrameSource({.uri = clip, .range = {.start = 1390}});
  ASSERT_TRUE(source.ok()) << source.status();
  EXPECT_EQ((*source)->info().width, 768);
  EXPECT_EQ((*source)->info().height, 432);
  EXPECT_EQ((*source)->info().frame_count, 1394);
  const std::vector<Frame> frames = ReadAll(**source);
  ASSERT_EQ(frames.size(), 4u);
  EXPECT_EQ(frames.back().index, 1393);
  EXPECT_EQ((*source)->corrupt_frames(), 0);
}

}  // namespace
}  // namespace dnoscope::video
