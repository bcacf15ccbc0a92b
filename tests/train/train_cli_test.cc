// `dnoscope train` end to end on the synthetic clip with a tiny grid:
// output, repository layout, a second run adding version 2, bad input.
#include <filesystem>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "models/model_repository.h"
#include "testing/test_env.h"
#include "train/train_fixture.h"

namespace dnoscope::train {
namespace {

namespace fs = std::filesystem;
using dnoscope::testing::CommandResult;
using dnoscope::testing::RunCommand;
using dnoscope::testing::ScratchDir;
using ::testing::HasSubstr;

class TrainCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!fs::exists(dnoscope::testing::DnoscopeBinary())) {
      GTEST_SKIP() << "dnoscope binary not built: " << dnoscope::testing::DnoscopeBinary();
    }
  }

  CommandResult Train(const std::string& extra) {
    const testing::Clip& clip = testing::SyntheticClip();
    return RunCommand(dnoscope::testing::DnoscopeBinary() +
                      " --log-level warn train --progress off --video " + clip.video_path +
                      " --labels " + clip.labels_path + " --object car --out " + dir_.File("repo") +
                      " --filters 4 --dense 16 --epochs 2 " + extra);
  }

  ScratchDir dir_;
};

TEST_F(TrainCliTest, TrainsWritesAndReportsTheModel) {
  CommandResult r = Train("--frames 0:120");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr("data set: 120 frames of 0:120 (50x50)"));
  EXPECT_THAT(r.output, HasSubstr("* conv2x4-dense16"));
  EXPECT_THAT(r.output, HasSubstr("chosen conv2x4-dense16: validation loss"));
  EXPECT_THAT(r.output, HasSubstr("wrote model 'specialized-car' version 1"));
  EXPECT_TRUE(fs::exists(dir_.File("repo/specialized-car/1/training_summary.json")));
  absl::StatusOr<std::unique_ptr<models::Model>> model =
      models::LoadModel({.model = "specialized-car", .repository = dir_.File("repo")});
  ASSERT_TRUE(model.ok()) << model.status();

  r = Train("--frames 0:120 --name specialized-car --triton-repository " + dir_.File("triton"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr("version 2"));
  // The same version, also in Triton's layout.
  EXPECT_THAT(r.output, HasSubstr("wrote Triton model 'specialized-car' version 2"));
  EXPECT_EQ(dnoscope::testing::ReadFileOrEmpty(dir_.File("triton/specialized-car/2/model.onnx")),
            dnoscope::testing::ReadFileOrEmpty(dir_.File("repo/specialized-car/2/model.onnx")));
  EXPECT_THAT(dnoscope::testing::ReadFileOrEmpty(dir_.File("triton/specialized-car/config.pbtxt")),
              HasSubstr("max_batch_size: 64\n"));
}

TEST_F(TrainCliTest, LabelsThatDoNotCoverTheRangeFailClearly) {
  const std::string labels = dir_.File("early.csv");
  dnoscope::testing::WriteFile(labels,
                               "frame,object_name,confidence,xmin,ymin,xmax,ymax\n"
                               "3,car,0.9,1,1,20,20\n");
  const testing::Clip& clip = testing::SyntheticClip();
  CommandResult r = RunCommand(
      dnoscope::testing::DnoscopeBinary() + " train --progress off --video " + clip.video_path +
      " --labels " + labels + " --object car --frames 100:150 --out " + dir_.File("repo"));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.output, HasSubstr("dnoscope train: error: early.csv has no rows at or after "
                                  "frame 100 (its last row is frame 3): it does not cover "
                                  "100:150"));
}

TEST_F(TrainCliTest, HelpExplainsEveryOptionWithDefaults) {
  CommandResult r = RunCommand(dnoscope::testing::DnoscopeBinary() + " train --help");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  for (const char* option : {"--video",
                             "--labels",
                             "--object",
                             "--frames",
                             "--out",
                             "--name",
                             "--roi",
                             "--skip",
                             "--min-confidence",
                             "--smooth-window",
                             "--smooth-min",
                             "--width",
                             "--height",
                             "--conv-layers",
                             "--filters",
                             "--dense",
                             "--epochs",
                             "--patience",
                             "--batch-size",
                             "--optimizer",
                             "--learning-rate",
                             "--validation-fraction",
                             "--seed",
                             "--triton-repository"}) {
    EXPECT_THAT(r.output, HasSubstr(option));
  }
  EXPECT_THAT(r.output, HasSubstr("=adam"));
  EXPECT_THAT(r.output, HasSubstr("=0.2"));
}

}  // namespace
}  // namespace dnoscope::train
