// End-to-end tests of `dnoscope optimize`: synth -> optimize -> run -> eval
// on a static synthetic scene with a replay reference and an ONNX
// specialized classifier; the unmet-targets contract; --help.
#include <filesystem>
#include <fstream>
#include <set>
#include <string>

#include "gtest/gtest.h"
#include "labels/label_csv.h"
#include "testing/onnx_builder.h"
#include "nlohmann/json.hpp"
#include "testing/test_env.h"

namespace dnoscope {
namespace {

namespace fs = std::filesystem;
using testing::CommandResult;
using testing::ReadFileOrEmpty;
using testing::RunCommand;
using testing::ScratchDir;
using testing::WriteFile;

CommandResult Dns(const std::string& args) {
  return RunCommand(testing::DnoscopeBinary() + " --log-level warn " + args);
}

class OptimizeCliTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new ScratchDir();
    // No noise and no drift: frames without objects are identical.
    CommandResult r = Dns("synth --out " + dir_->File("scene") +
                          " --frames 300 --width 160 --height 120 --seed 5 --object-rate 0.02 "
                          "--noise 0 --drift 0");
    ASSERT_EQ(r.exit_code, 0) << r.output;
    const std::string repo = dir_->File("repo");
    fs::create_directories(repo + "/replay/1");
    WriteFile(repo + "/replay/config.json", R"({"backend": "replay", "files": {"labels": ")" +
                                                dir_->File("scene/labels.csv") + R"("}})");
    fs::create_directories(repo + "/specialized-car/1");
    WriteFile(repo + "/specialized-car/config.json",
              R"({"backend": "opencv_dnn", "kind": "classifier", "files": {"model": "m.onnx"}})");
    WriteFile(repo + "/specialized-car/1/m.onnx",
              models::testing::MeanIntensityClassifierOnnx(50, 50));
  }
  static void TearDownTestSuite() { delete dir_; }

  static std::string Args(const std::string& labels, const std::string& out) {
    return "optimize --video " + dir_->File("scene/video.avi") + " --labels " + labels +
           " --object car --frames 100:250 --model-repository " + dir_->File("repo") +
           " --reference replay --progress off --out " + out;
  }

  static ScratchDir* dir_;
};
ScratchDir* OptimizeCliTest::dir_ = nullptr;

TEST_F(OptimizeCliTest, HelpExplainsEveryOption) {
  CommandResult r = Dns("optimize --help");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  for (const char* option : {"--video",
                             "--labels",
                             "--object",
                             "--frames",
                             "--target-fp",
                             "--target-fn",
                             "--out",
                             "--model-repository",
                             "--specialized",
                             "--reference",
                             "--reference-weights",
                             "--reference-names",
                             "--roi",
                             "--min-confidence",
                             "--diff-metric",
                             "--diff-reference",
                             "--diff-resolution",
                             "--skip-candidates",
                             "--window-targets",
                             "--cost-diff-ms",
                             "--cost-specialized-ms",
                             "--cost-reference-ms",
                             "--progress",
                             "--fail-if-unmet"}) {
    EXPECT_NE(r.output.find(option), std::string::npos) << option;
  }
}

TEST_F(OptimizeCliTest, RunWithTheWrittenConfigHasTheExpectedRates) {
  const std::string config = dir_->File("out/cascade.json");
  CommandResult r = Dns(Args(dir_->File("scene/labels.csv"), config) +
                        " --target-fp 0.05 --target-fn 0.05 --skip-candidates 1,2");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("chosen"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("speedup"), std::string::npos) << r.output;
  const nlohmann::json report = nlohmann::json::parse(ReadFileOrEmpty(config))["optimizer"];
  ASSERT_TRUE(report["met_targets"].get<bool>());

  const std::string predictions = dir_->File("pred.csv");
  r = Dns("run --video " + dir_->File("scene/video.avi") + " --frames 100:250 --config " + config +
          " --progress off --out " + predictions);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  r = Dns("eval --labels " + dir_->File("scene/labels.csv") + " --predictions " + predictions +
          " --object car --frames 100:250 --json");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const nlohmann::json eval = nlohmann::json::parse(r.output);
  EXPECT_DOUBLE_EQ(eval["fp_rate"].get<double>(), report["expected"]["fp_rate"].get<double>());
  EXPECT_DOUBLE_EQ(eval["fn_rate"].get<double>(), report["expected"]["fn_rate"].get<double>());
}

// The label CSV plus a false "car" on an empty frame identical to the one
// before it: the difference detector reuses a label there even at threshold 0.
std::string LabelsWithAnUnreachableRow(const std::string& labels, const std::string& out) {
  auto rows = labels::ReadLabelCsv(labels);
  EXPECT_TRUE(rows.ok());
  std::set<int64_t> busy;
  for (const auto& d : *rows) busy.insert(d.frame);
  int64_t frame = 120;
  while (busy.count(frame) || busy.count(frame - 1) || busy.count(frame - 2)) ++frame;
  rows->push_back({frame, "car", 1, 10, 10, 20, 20});
  EXPECT_TRUE(labels::WriteLabelCsv(out, *rows).ok());
  return out;
}

TEST_F(OptimizeCliTest, UnreachableTargetsWarnAndFailOnlyWhenAsked) {
  const std::string labels =
      LabelsWithAnUnreachableRow(dir_->File("scene/labels.csv"), dir_->File("bad_labels.csv"));
  const std::string config = dir_->File("fallback.json");
  CommandResult r = Dns(Args(labels, config) + " --target-fp 0 --target-fn 0");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("WARNING: no setting meets"), std::string::npos) << r.output;
  const nlohmann::json j = nlohmann::json::parse(ReadFileOrEmpty(config));
  EXPECT_FALSE(j["optimizer"]["met_targets"].get<bool>());
  EXPECT_EQ(j["difference"]["threshold"], 0.0);
  EXPECT_FALSE(j.contains("specialized"));

  fs::remove(config);
  r = Dns(Args(labels, config) + " --target-fp 0 --target-fn 0 --fail-if-unmet");
  EXPECT_NE(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("--fail-if-unmet"), std::string::npos) << r.output;
  EXPECT_TRUE(fs::exists(config)) << "the fallback config is still written";
}

TEST_F(OptimizeCliTest, UnknownSpecializedModelIsOneClearError) {
  CommandResult r = Dns(Args(dir_->File("scene/labels.csv"), dir_->File("x.json")) +
                        " --specialized specialized-bus");
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("dnoscope optimize: error:"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("specialized-bus"), std::string::npos) << r.output;
  EXPECT_FALSE(fs::exists(dir_->File("x.json")));
}

}  // namespace
}  // namespace dnoscope
