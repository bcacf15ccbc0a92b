// `dnoscope export` end to end: a specialized CNN of NoScope's architecture
// (random weights, exported the way `dnoscope train` exports; no libtorch
// training) goes into Triton's layout, and an independent ONNX runtime
// (onnxruntime-node, run by tests/e2e/onnx_check.js) loads the exported
// model.onnx with the names and shapes config.pbtxt declares and computes
// what OpenCV DNN (models::Model) computes on the same file.
//
// The runtime comparison skips when node or onnxruntime-node is missing
// (scripts/setup.sh installs it into build/node-tools; DNS_NODE_PATH
// overrides the node_modules folder).
#include <cstdlib>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "models/model_repository.h"
#include "nlohmann/json.hpp"
#include "testing/test_env.h"
#include "train/onnx_export.h"
#include "train/repository_writer.h"
#include "train/trained_model.h"

namespace dnoscope {
namespace {

using testing::CommandResult;
using ::testing::HasSubstr;
using testing::ReadFileOrEmpty;
using testing::RunCommand;
using testing::ScratchDir;

constexpr int kWidth = 50;
constexpr int kHeight = 50;

CommandResult Dns(const std::string& args) {
  return RunCommand(testing::DnoscopeBinary() + " --log-level warn " + args);
}

std::string NodeModules() {
  const char* env = std::getenv("DNS_NODE_PATH");
  return env != nullptr ? env : testing::SourceDir() + "/build/node-tools/node_modules";
}

// `node onnx_check.js <args>` with onnxruntime-node on NODE_PATH.
CommandResult OnnxCheck(const std::string& args) {
  return RunCommand("NODE_PATH='" + NodeModules() + "' node '" + testing::SourceDir() +
                    "/tests/e2e/onnx_check.js' " + args);
}

std::vector<uint8_t> RandomImages(int count, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> byte(0, 255);
  std::vector<uint8_t> images(static_cast<size_t>(count) * kWidth * kHeight * 3);
  for (uint8_t& b : images) b = static_cast<uint8_t>(byte(rng));
  return images;
}

// Repository "repo" with specialized-car version 1 (conv2x16-dense32) and a
// HOG model, exported to "triton" through the CLI.
class TritonExportTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new ScratchDir();
    absl::StatusOr<std::string> onnx =
        train::ExportOnnx(train::RandomTrainedModel({2, 16, 32}, kWidth, kHeight, /*seed=*/5));
    ASSERT_TRUE(onnx.ok()) << onnx.status();
    absl::StatusOr<train::WrittenModel> written = train::WriteModelToRepository(
        {dir_->File("repo"), "specialized-car", 64}, *onnx, kWidth, kHeight, "{}");
    ASSERT_TRUE(written.ok()) << written.status();
    std::filesystem::create_directories(dir_->File("repo/people/1"));
    testing::WriteFile(dir_->File("repo/people/config.json"), R"({"backend": "hog"})");
    export_ = new CommandResult(Dns("export --model-repository " + dir_->File("repo") +
                                    " --model specialized-car --triton-repository " +
                                    dir_->File("triton")));
  }
  static void TearDownTestSuite() {
    delete export_;
    delete dir_;
  }
  static std::string ModelFile() { return dir_->File("triton/specialized-car/1/model.onnx"); }
  static std::string ConfigText() {
    return ReadFileOrEmpty(dir_->File("triton/specialized-car/config.pbtxt"));
  }

  static ScratchDir* dir_;
  static CommandResult* export_;
};
ScratchDir* TritonExportTest::dir_ = nullptr;
CommandResult* TritonExportTest::export_ = nullptr;

TEST_F(TritonExportTest, CliWritesTritonLayout) {
  ASSERT_EQ(export_->exit_code, 0) << export_->output;
  EXPECT_THAT(export_->output, HasSubstr("wrote Triton model 'specialized-car' version 1"));
  EXPECT_EQ(ReadFileOrEmpty(ModelFile()),
            ReadFileOrEmpty(dir_->File("repo/specialized-car/1/model.onnx")));
  const std::string config = ConfigText();
  EXPECT_THAT(config, HasSubstr("name: \"specialized-car\"\nplatform: \"onnxruntime_onnx\"\n"
                                "backend: \"onnxruntime\"\nmax_batch_size: 64\n"));
  EXPECT_THAT(config, HasSubstr("name: \"images\"\n    data_type: TYPE_UINT8\n"
                                "    dims: [ 50, 50, 3 ]\n"));
  EXPECT_THAT(config, HasSubstr("name: \"confidence\"\n    data_type: TYPE_FP32\n"
                                "    dims: [ 1 ]\n"));
  EXPECT_THAT(config, HasSubstr("dynamic_batching {\n}\n"));
}

TEST_F(TritonExportTest, CliRefusesNonOnnxAndUnknownModels) {
  CommandResult r = Dns("export --model-repository " + dir_->File("repo") +
                        " --model people --triton-repository " + dir_->File("triton"));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.output, HasSubstr("only ONNX models"));
  r = Dns("export --model-repository " + dir_->File("repo") + " --model bus --triton-repository " +
          dir_->File("triton"));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.output, HasSubstr("no model 'bus'"));
  EXPECT_FALSE(std::filesystem::exists(dir_->File("triton/people")));
}

TEST_F(TritonExportTest, HelpExplainsTheLayoutAndServing) {
  CommandResult r = Dns("export --help");
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_THAT(r.output, HasSubstr("config.pbtxt"));
  EXPECT_THAT(r.output, HasSubstr("tritonserver --model-repository"));
  r = Dns("train --help");
  EXPECT_THAT(r.output, HasSubstr("--triton-repository"));
}

// onnxruntime-node vs OpenCV DNN on the exported file, at Triton-sized
// batches; also checks that the runtime sees the tensor names config.pbtxt
// declares.
TEST_F(TritonExportTest, OnnxRuntimeMatchesOpenCvDnn) {
  ASSERT_EQ(export_->exit_code, 0) << export_->output;
  const CommandResult probe = OnnxCheck("--probe");
  if (probe.exit_code == 127) GTEST_SKIP() << "node is not installed (see scripts/setup.sh)";
  if (probe.exit_code != 0) {
    GTEST_SKIP() << "onnxruntime-node not found under " << NodeModules()
                 << " (run scripts/setup.sh): " << probe.output;
  }
  std::printf("independent runtime: %s", probe.output.c_str());

  const std::vector<int> batches = {1, 7, 64};
  nlohmann::json spec = {{"model", ModelFile()}, {"cases", nlohmann::json::array()}};
  std::vector<std::vector<uint8_t>> images;
  for (int batch : batches) {
    images.push_back(RandomImages(batch, static_cast<uint32_t>(batch)));
    const std::string file = dir_->File("batch" + std::to_string(batch) + ".bin");
    testing::WriteFile(file, std::string(images.back().begin(), images.back().end()));
    spec["cases"].push_back({{"inputs",
                              {{{"name", "images"},
                                {"type", "uint8"},
                                {"dims", {batch, kHeight, kWidth, 3}},
                                {"file", file}}}}});
  }
  testing::WriteFile(dir_->File("cases.json"), spec.dump());
  // stdout to a file: the runtime may log warnings on stderr.
  const CommandResult run =
      OnnxCheck("'" + dir_->File("cases.json") + "' > '" + dir_->File("ort.json") + "'");
  ASSERT_EQ(run.exit_code, 0) << run.output;
  const nlohmann::json result = nlohmann::json::parse(ReadFileOrEmpty(dir_->File("ort.json")));
  for (const auto& name : result["input_names"]) {
    EXPECT_THAT(ConfigText(), HasSubstr("name: \"" + name.get<std::string>() + "\""));
  }
  for (const auto& name : result["output_names"]) {
    EXPECT_THAT(ConfigText(), HasSubstr("name: \"" + name.get<std::string>() + "\""));
  }

  models::ModelSpec model_spec;
  model_spec.model = ModelFile();
  model_spec.kind = "classifier";
  absl::StatusOr<std::unique_ptr<models::Model>> model = models::LoadModel(model_spec);
  ASSERT_TRUE(model.ok()) << model.status();
  int total_unsaturated = 0;
  for (size_t i = 0; i < batches.size(); ++i) {
    const int batch = batches[i];
    const nlohmann::json& out = result["cases"][i]["outputs"]["confidence"];
    EXPECT_EQ(out["dims"], nlohmann::json({batch, 1}));
    absl::StatusOr<std::vector<Tensor>> cv = (*model)->Infer(
        {Tensor::Uint8("images", {batch, kHeight, kWidth, 3}, images[i].data(), images[i].size())});
    ASSERT_TRUE(cv.ok()) << cv.status();
    const std::span<const float> expected = cv->at(0).Values<float>();
    ASSERT_EQ(out["data"].size(), expected.size()) << "batch " << batch;
    double max_diff = 0;
    int unsaturated = 0;
    for (size_t j = 0; j < expected.size(); ++j) {
      const double got = out["data"][j].get<double>();
      unsaturated += got > 0.01 && got < 0.99;
      EXPECT_NEAR(got, expected[j], 1e-4) << "item " << j << " of batch " << batch;
      max_diff = std::max(max_diff, std::abs(got - expected[j]));
    }
    std::printf("batch %2d: max |onnxruntime - OpenCV DNN| = %.3g (%d of %d in (0.01, 0.99))\n",
                batch, max_diff, unsaturated, batch);
    total_unsaturated += unsaturated;
  }
  // Confidences pinned at 0 or 1 by the sigmoid would agree whatever the
  // graph computed before it.
  EXPECT_GT(total_unsaturated, 10) << "the comparison needs confidences away from 0 and 1";
}

}  // namespace
}  // namespace dnoscope
