// End-to-end tests on real video: ../shared/data (Yolo-Fastest, Intel sample
// clips) and Debian's vtest.avi. Each skips with a message when its data is
// absent.
#include <cmath>
#include <filesystem>
#include <string>

#include "gtest/gtest.h"
#include "labels/label_csv.h"
#include "labels/prediction_csv.h"
#include "testing/test_env.h"

namespace dnoscope {
namespace {

using testing::CommandResult;
using testing::RunCommand;
using testing::ScratchDir;

CommandResult Dns(const std::string& args) {
  return RunCommand(testing::DnoscopeBinary() + " --log-level warn " + args);
}

// Labels 0:200 with Yolo-Fastest, then runs the cascade twice over the same
// range: once with the Darknet model as reference, once replaying its labels.
// Both must decide every frame the same way.
TEST(SharedDataCliTest, DarknetAndReplayOfItsLabelsGiveTheSameCascadeOutput) {
  DNS_REQUIRE_SHARED_DATA(cfg, "models/yolo-fastest-1.1/yolo-fastest-1.1.cfg");
  DNS_REQUIRE_SHARED_DATA(weights, "models/yolo-fastest-1.1/yolo-fastest-1.1.weights");
  DNS_REQUIRE_SHARED_DATA(video, "videos/one-by-one-person-detection.mp4");
  ScratchDir dir;
  const std::string model = " --weights " + weights;
  const std::string common = " --video " + video + " --frames 0:200 --progress off";
  CommandResult label =
      Dns("label" + common + " --model " + cfg + model + " --out " + dir.File("ref.csv"));
  ASSERT_EQ(label.exit_code, 0) << label.output;

  const std::string repo = dir.File("repo");
  std::filesystem::create_directories(repo + "/replay/1");
  testing::WriteFile(
      repo + "/replay/config.json",
      R"({"backend": "replay", "files": {"labels": ")" + dir.File("ref.csv") + R"("}})");
  const std::string run =
      "run" + common + " --object person --min-confidence 0.3 --diff-threshold 20";
  CommandResult darknet = Dns(run + " --reference " + cfg + " --reference-weights " + weights +
                              " --out " + dir.File("darknet.csv"));
  ASSERT_EQ(darknet.exit_code, 0) << darknet.output;
  CommandResult replay = Dns(run + " --reference replay --model-repository " + repo + " --out " +
                             dir.File("replay.csv"));
  ASSERT_EQ(replay.exit_code, 0) << replay.output;

  auto a = labels::ReadPredictionCsv(dir.File("darknet.csv"));
  auto b = labels::ReadPredictionCsv(dir.File("replay.csv"));
  ASSERT_TRUE(a.ok() && b.ok());
  ASSERT_EQ(a->size(), 200u);
  ASSERT_EQ(b->size(), a->size());
  int positives = 0;
  for (size_t i = 0; i < a->size(); ++i) {
    const labels::FrameResult& x = (*a)[i];
    const labels::FrameResult& y = (*b)[i];
    EXPECT_EQ(x.frame, y.frame);
    EXPECT_EQ(x.label, y.label) << "frame " << x.frame;
    EXPECT_EQ(x.status, y.status) << "frame " << x.frame;
    if (!std::isnan(x.reference_confidence)) {
      EXPECT_NEAR(x.reference_confidence, y.reference_confidence, 1e-5) << "frame " << x.frame;
    }
    positives += x.label;
  }
  EXPECT_GT(positives, 0) << "the clip has people in its first 200 frames";
}

TEST(SharedDataCliTest, HogLabelsPeopleInVtest) {
  auto vtest = testing::VtestAvi();
  if (!vtest) GTEST_SKIP() << "vtest.avi (Debian package opencv-doc) not installed; skipping";
  ScratchDir dir;
  CommandResult r = Dns("label --video " + *vtest + " --frames 0:10 --model hog --object person" +
                        " --progress off --out " + dir.File("hog.csv"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  auto rows = labels::ReadLabelCsv(dir.File("hog.csv"));
  ASSERT_TRUE(rows.ok()) << rows.status();
  labels::LabelIndex index = labels::LabelIndex::Build(*rows, {"person", 0, std::nullopt}, 10);
  EXPECT_GE(index.CountPositive(), 8) << "vtest.avi shows pedestrians in nearly every frame";
  for (const labels::Detection& d : *rows) {
    EXPECT_GE(d.xmin, 0);
    EXPECT_LE(d.xmax, 768);
    EXPECT_LE(d.ymax, 576);
  }
}

}  // namespace
}  // namespace dnoscope
