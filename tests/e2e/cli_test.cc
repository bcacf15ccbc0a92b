// End-to-end tests of the dnoscope binary: synth -> run -> eval on synthetic
// scenes with a replay reference, the bad-input contract, --help.
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "labels/label_csv.h"
#include "labels/prediction_csv.h"
#include "nlohmann/json.hpp"
#include "testing/test_env.h"

namespace dnoscope {
namespace {

using testing::CommandResult;
using testing::DnoscopeBinary;
using testing::RunCommand;
using testing::ScratchDir;
using ::testing::HasSubstr;

CommandResult Dns(const std::string& args) {
  return RunCommand(DnoscopeBinary() + " --log-level warn " + args);
}

// Writes a repository with one replay model answering from `labels_csv`.
std::string MakeReplayRepository(const ScratchDir& dir, const std::string& labels_csv) {
  const std::string repo = dir.File("repo");
  std::filesystem::create_directories(repo + "/replay/1");
  testing::WriteFile(repo + "/replay/config.json",
                     R"({"backend": "replay", "files": {"labels": ")" + labels_csv + R"("}})");
  return repo;
}

class SyntheticSceneTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new ScratchDir();
    CommandResult r = Dns("synth --out " + dir_->File("scene") +
                          " --frames 240 --width 320 --height 240 --seed 7 --object-rate 0.04");
    ASSERT_EQ(r.exit_code, 0) << r.output;
    repo_ = new std::string(MakeReplayRepository(*dir_, dir_->File("scene/labels.csv")));
  }
  static void TearDownTestSuite() {
    delete repo_;
    delete dir_;
  }
  static std::string Video() { return dir_->File("scene/video.avi"); }
  static std::string Truth() { return dir_->File("scene/labels.csv"); }
  static std::string RunArgs(const std::string& video = Video()) {
    return "run --video " + video + " --reference replay --model-repository " + *repo_ +
           " --object car --progress off";
  }

  static ScratchDir* dir_;
  static std::string* repo_;
};
ScratchDir* SyntheticSceneTest::dir_ = nullptr;
std::string* SyntheticSceneTest::repo_ = nullptr;

TEST_F(SyntheticSceneTest, ZeroThresholdReproducesTheTruthExactly) {
  const std::string out = dir_->File("zero.csv");
  CommandResult r = Dns(RunArgs() + " --diff-threshold 0 --out " + out);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  auto predictions = labels::ReadPredictionCsv(out);
  ASSERT_TRUE(predictions.ok()) << predictions.status();
  auto truth_rows = labels::ReadLabelCsv(Truth());
  ASSERT_TRUE(truth_rows.ok());
  labels::LabelIndex truth = labels::LabelIndex::Build(*truth_rows, {"car", 0, std::nullopt}, 240);
  ASSERT_EQ(predictions->size(), 240u);
  ASSERT_GT(truth.CountPositive(), 0) << "the scene should contain objects";
  ASSERT_LT(truth.CountPositive(), 240) << "the scene should have empty frames";
  for (const labels::FrameResult& p : *predictions) {
    EXPECT_EQ(p.label, truth.Positive(p.frame)) << "frame " << p.frame;
  }
  CommandResult eval =
      Dns("eval --labels " + Truth() + " --predictions " + out + " --object car --json");
  ASSERT_EQ(eval.exit_code, 0) << eval.output;
  auto j = nlohmann::json::parse(eval.output);
  EXPECT_EQ(j["frames"], 240);
  EXPECT_DOUBLE_EQ(j["accuracy"].get<double>(), 1.0);
  EXPECT_DOUBLE_EQ(j["fp_rate"].get<double>(), 0.0);
  EXPECT_DOUBLE_EQ(j["fn_rate"].get<double>(), 0.0);
}

TEST_F(SyntheticSceneTest, DiffReusedShareGrowsWithTheThreshold) {
  std::vector<int64_t> reused;
  for (const char* threshold : {"0", "3", "30", "300"}) {
    const std::string summary = dir_->File(std::string("summary_") + threshold + ".json");
    CommandResult r =
        Dns(RunArgs() + " --diff-threshold " + threshold + " --summary-json " + summary);
    ASSERT_EQ(r.exit_code, 0) << r.output;
    auto j = nlohmann::json::parse(testing::ReadFileOrEmpty(summary));
    EXPECT_EQ(j["frames"], 240);
    for (const char* key :
         {"wall_seconds", "frames_per_second", "status_counts", "stage_seconds"}) {
      EXPECT_TRUE(j.contains(key)) << key;
    }
    reused.push_back(j["status_counts"]["diff_reused"].get<int64_t>());
  }
  EXPECT_EQ(reused.front(), 0);
  for (size_t i = 1; i < reused.size(); ++i) EXPECT_GE(reused[i], reused[i - 1]);
  EXPECT_GT(reused.back(), 120) << "a high threshold should reuse most labels";
}

TEST_F(SyntheticSceneTest, RangeAndSkipGiveOneRowPerFrameInOrder) {
  const std::string out = dir_->File("skip.csv");
  CommandResult r = Dns(RunArgs() + " --frames 10:50 --skip 3 --out " + out);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  auto rows = labels::ReadPredictionCsv(out);
  ASSERT_TRUE(rows.ok());
  ASSERT_EQ(rows->size(), 40u);
  for (size_t i = 0; i < rows->size(); ++i) {
    const labels::FrameResult& row = (*rows)[i];
    EXPECT_EQ(row.frame, static_cast<int64_t>(10 + i));
    EXPECT_EQ(row.status == labels::FrameStatus::kSkipped, i % 3 != 0) << row.frame;
    if (i % 3 != 0) {
      EXPECT_EQ(row.label, (*rows)[i - i % 3].label);
    }
  }
}

TEST_F(SyntheticSceneTest, RangeEndPastTheVideoIsClippedByRunAndEvalAlike) {
  const std::string out = dir_->File("past_end.csv");
  CommandResult run = Dns(RunArgs() + " --frames 200:260 --out " + out);
  ASSERT_EQ(run.exit_code, 0) << run.output;
  EXPECT_THAT(run.output, HasSubstr("ends at frame 240: frames 200:260 asked for, 200:240"));
  auto rows = labels::ReadPredictionCsv(out);
  ASSERT_TRUE(rows.ok()) << rows.status();
  ASSERT_EQ(rows->size(), 40u);
  CommandResult eval = Dns("eval --labels " + Truth() + " --predictions " + out +
                           " --object car --frames 200:260");
  ASSERT_EQ(eval.exit_code, 0) << eval.output;
  EXPECT_THAT(eval.output, HasSubstr("evaluating frames 200:240"));
  EXPECT_THAT(eval.output, HasSubstr("frames      40 "));
}

TEST_F(SyntheticSceneTest, ResizedReferencePayloadGivesTheSameRowsAsFullFrames) {
  // A replay reference told the labelled frame size answers in pixels of
  // the image it is sent, as a real detector does; the client scales the
  // boxes back, so the ROI test sees frame pixels either way.
  const std::string repo = dir_->File("sized_repo");
  std::filesystem::create_directories(repo + "/replay/1");
  testing::WriteFile(repo + "/replay/config.json",
                     R"({"backend": "replay", "files": {"labels": ")" + Truth() +
                         R"("}, "replay": {"frame_width": 320, "frame_height": 240}})");
  const std::string base = "run --video " + Video() + " --reference replay --model-repository " +
                           repo + " --object car --progress off --roi 0,0,160,240";
  ASSERT_EQ(Dns(base + " --out " + dir_->File("full.csv")).exit_code, 0);
  CommandResult resized =
      Dns(base + " --reference-resize 80x60 --out " + dir_->File("resized.csv"));
  ASSERT_EQ(resized.exit_code, 0) << resized.output;
  const std::string full = testing::ReadFileOrEmpty(dir_->File("full.csv"));
  ASSERT_THAT(full, HasSubstr(",1,reference,"));
  EXPECT_EQ(testing::ReadFileOrEmpty(dir_->File("resized.csv")), full);
}

TEST_F(SyntheticSceneTest, CompareDecodeReportsTheDecodeOnlyRate) {
  const std::string summary = dir_->File("compare.json");
  CommandResult r =
      Dns(RunArgs() + " --diff-threshold 5 --compare-decode --summary-json " + summary);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  auto j = nlohmann::json::parse(testing::ReadFileOrEmpty(summary));
  ASSERT_TRUE(j.contains("decode_only_frames_per_second"));
  EXPECT_GT(j["decode_only_frames_per_second"].get<double>(), 0);
  EXPECT_NE(r.output.find("decode only"), std::string::npos) << r.output;
}

// The audit on a run whose difference detector reuses labels wrongly: the
// CSV marks the audited frames, eval reads it, and the summary's interval
// holds the run's true per-frame rates (from eval against the truth).
TEST_F(SyntheticSceneTest, AuditMarksFramesAndItsIntervalsHoldTheTrueRates) {
  const std::string out = dir_->File("audit.csv");
  const std::string summary = dir_->File("audit.json");
  CommandResult r = Dns(RunArgs() + " --diff-threshold 30 --audit-rate 0.5 --audit-seed 3 --out " +
                        out + " --summary-json " + summary);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const std::string csv = testing::ReadFileOrEmpty(out);
  EXPECT_THAT(csv, ::testing::StartsWith(std::string(labels::kPredictionCsvHeader) + ",audited\n"));
  auto rows = labels::ReadPredictionCsv(out);
  ASSERT_TRUE(rows.ok()) << rows.status();
  int64_t audited = 0;
  for (const labels::FrameResult& p : *rows) audited += p.audited ? 1 : 0;
  auto j = nlohmann::json::parse(testing::ReadFileOrEmpty(summary));
  ASSERT_TRUE(j.contains("audit")) << j.dump();
  EXPECT_EQ(j["audit"]["audited"].get<int64_t>() + j["audit"]["failures"].get<int64_t>(), audited);
  EXPECT_GT(audited, 0);
  EXPECT_NE(r.output.find("FN rate"), std::string::npos) << r.output;

  CommandResult eval =
      Dns("eval --labels " + Truth() + " --predictions " + out + " --object car --json");
  ASSERT_EQ(eval.exit_code, 0) << eval.output;
  auto e = nlohmann::json::parse(eval.output);
  const double fp = e["fp_rate"].get<double>(), fn = e["fn_rate"].get<double>();
  ASSERT_GT(fp + fn, 0) << "the threshold should make the cascade err";
  EXPECT_LE(j["audit"]["fp_interval"][0].get<double>(), fp);
  EXPECT_GE(j["audit"]["fp_interval"][1].get<double>(), fp);
  EXPECT_LE(j["audit"]["fn_interval"][0].get<double>(), fn);
  EXPECT_GE(j["audit"]["fn_interval"][1].get<double>(), fn);
}

TEST_F(SyntheticSceneTest, InfoPrintsVideoProperties) {
  CommandResult r = Dns("info --video " + Video());
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("320x240"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("240"), std::string::npos) << r.output;
}

TEST_F(SyntheticSceneTest, InfoPrintsModelInputsAndOutputs) {
  CommandResult r = Dns("info --model hog");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("image"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("detections"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("person"), std::string::npos) << r.output;
}

TEST_F(SyntheticSceneTest, LabelWithReplayWritesTheTruthBack) {
  const std::string out = dir_->File("relabel.csv");
  CommandResult r = Dns("label --video " + Video() + " --model replay --model-repository " +
                        *repo_ + " --progress off --out " + out);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  auto written = labels::ReadLabelCsv(out);
  auto truth = labels::ReadLabelCsv(Truth());
  ASSERT_TRUE(written.ok() && truth.ok());
  labels::LabelIndex a = labels::LabelIndex::Build(*written, {"car", 0, std::nullopt}, 240);
  labels::LabelIndex b = labels::LabelIndex::Build(*truth, {"car", 0, std::nullopt}, 240);
  for (int64_t f = 0; f < 240; ++f) EXPECT_EQ(a.Positive(f), b.Positive(f)) << f;
}

// Each bad input gives a non-zero exit and one clear error line.
struct BadInput {
  const char* name;
  std::string args;
  const char* expected;
};

TEST_F(SyntheticSceneTest, BadInputsFailWithAClearMessage) {
  const std::string text_file = dir_->File("notes.mp4");
  testing::WriteFile(text_file, "this is not a video\n");
  const std::string bad_csv = dir_->File("bad.csv");
  testing::WriteFile(
      bad_csv,
      "frame,object_name,confidence,xmin,ymin,xmax,ymax\n0,car,1,1,2,3,4\n1,car,x,1,2,3,4\n");
  const std::string bad_config = dir_->File("bad.json");
  testing::WriteFile(bad_config, R"({"skip": "two"})");
  const std::string truncated = dir_->File("truncated.avi");
  {
    const std::string full = testing::ReadFileOrEmpty(Video());
    testing::WriteFile(truncated, full.substr(0, full.size() * 4 / 10));
  }
  const std::vector<BadInput> cases = {
      {"missing video", RunArgs("/nonexistent/video.mp4"), "does not exist"},
      {"not a video", "run --video " + text_file + " --progress off", "notes.mp4"},
      {"truncated video", RunArgs(truncated) + " --no-diff", "truncated"},
      {"malformed csv", "eval --labels " + bad_csv + " --predictions " + bad_csv, "bad.csv:3"},
      {"unknown model",
       "run --video " + Video() + " --reference nosuchmodel --model-repository " + *repo_,
       "nosuchmodel"},
      {"wrong config type", "run --video " + Video() + " --config " + bad_config,
       "'skip' must be an integer"},
      {"bad roi", RunArgs() + " --roi 10,10,5,5", "ROI"},
      {"roi outside frame", RunArgs() + " --roi 0,0,400,240", "exceeds"},
      {"bad frame range", RunArgs() + " --frames 50:10", "frame range"},
  };
  for (const BadInput& c : cases) {
    CommandResult r = Dns(c.args);
    EXPECT_NE(r.exit_code, 0) << c.name << ": " << r.output;
    EXPECT_NE(r.output.find(c.expected), std::string::npos) << c.name << ": " << r.output;
    EXPECT_NE(r.output.find("error"), std::string::npos) << c.name << ": " << r.output;
    EXPECT_EQ(r.output.find("terminate called"), std::string::npos) << c.name;
    EXPECT_EQ(r.output.find("Segmentation"), std::string::npos) << c.name;
  }
}

TEST(CliHelpTest, HelpExplainsEveryOptionWithDefaults) {
  CommandResult top = Dns("--help");
  EXPECT_EQ(top.exit_code, 0);
  for (const char* sub : {"synth", "label", "run", "eval", "info"}) {
    EXPECT_NE(top.output.find(sub), std::string::npos) << sub;
  }
  CommandResult run = Dns("run --help");
  EXPECT_EQ(run.exit_code, 0);
  for (const char* opt : {"--video", "--config", "--frames", "--skip", "--roi", "--diff-threshold",
                          "--reference", "--specialized", "--summary-json", "--compare-decode"}) {
    EXPECT_NE(run.output.find(opt), std::string::npos) << opt;
  }
  EXPECT_NE(run.output.find("default"), std::string::npos);
}

TEST(CliHelpTest, MissingSubcommandIsAnError) {
  EXPECT_NE(Dns("").exit_code, 0);
  EXPECT_NE(Dns("frobnicate").exit_code, 0);
}

}  // namespace
}  // namespace dnoscope
