#include "train/repository_writer.h"

#include <filesystem>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "models/model_config.h"
#include "models/model_repository.h"
#include "nlohmann/json.hpp"
#include "testing/test_env.h"
#include "train/onnx_export.h"
#include "train/train_fixture.h"
#include "train/training_summary.h"

namespace dnoscope::train {
namespace {

namespace fs = std::filesystem;
using dnoscope::testing::ReadFileOrEmpty;
using dnoscope::testing::ScratchDir;
using dnoscope::testing::WriteFile;
using ::testing::HasSubstr;

std::string TestOnnx() {
  static const std::string onnx = ExportOnnx(testing::RandomModel({2, 8, 16}, 50, 50, 1)).value();
  return onnx;
}

absl::StatusOr<WrittenModel> Write(const std::string& repo, const std::string& name,
                                   const std::string& onnx = TestOnnx()) {
  return WriteModelToRepository({repo, name}, onnx, 50, 50, "{\"test\": true}");
}

TEST(RepositoryWriterTest, WritesConfigOnnxAndSummaryUnderVersionOne) {
  ScratchDir dir;
  const std::string repo = dir.File("repo");  // created by the writer
  absl::StatusOr<WrittenModel> w = Write(repo, "specialized-car");
  ASSERT_TRUE(w.ok()) << w.status();
  EXPECT_EQ(w->version, 1);
  EXPECT_EQ(w->config_path, repo + "/specialized-car/config.json");
  EXPECT_EQ(w->onnx_path, repo + "/specialized-car/1/model.onnx");
  EXPECT_EQ(w->summary_path, repo + "/specialized-car/1/training_summary.json");
  EXPECT_EQ(ReadFileOrEmpty(w->onnx_path), TestOnnx());
  EXPECT_EQ(ReadFileOrEmpty(w->summary_path), "{\"test\": true}");
  absl::StatusOr<models::ModelConfig> config =
      models::ParseModelConfig(ReadFileOrEmpty(w->config_path), "config.json", "x");
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->name, "specialized-car");
  EXPECT_EQ(config->backend, "opencv_dnn");
  EXPECT_EQ(config->kind, "classifier");
  EXPECT_EQ(config->model_file, "model.onnx");
  EXPECT_EQ(config->max_batch_size, 64);
  EXPECT_EQ(config->classifier_width, 50);
  EXPECT_EQ(config->classifier_height, 50);
  // No staging folder is left behind.
  int entries = 0;
  for (const auto& e : fs::directory_iterator(repo + "/specialized-car"))
    entries += !e.path().empty();
  EXPECT_EQ(entries, 2);
}

TEST(RepositoryWriterTest, WrittenModelLoadsAndClassifiesLikeTheExportedGraph) {
  ScratchDir dir;
  ASSERT_TRUE(Write(dir.path(), "spec").ok());
  absl::StatusOr<std::unique_ptr<models::Model>> model =
      models::LoadModel({.model = "spec", .repository = dir.path()});
  ASSERT_TRUE(model.ok()) << model.status();
  const models::ModelMetadata& m = (*model)->metadata();
  EXPECT_EQ(m.kind, models::ModelKind::kClassifier);
  EXPECT_EQ(m.version, 1);
  EXPECT_EQ(m.max_batch_size, 64);
  EXPECT_EQ(m.inputs[0].name, "images");
  EXPECT_EQ(m.outputs[0].name, "confidence");

  const std::vector<uint8_t> pixels = testing::RandomImages(3, 50, 50, 9);
  std::vector<cv::Mat> images;
  for (int i = 0; i < 3; ++i) {
    images.push_back(cv::Mat(50, 50, CV_8UC3, const_cast<uint8_t*>(pixels.data()) + i * 7500));
  }
  absl::StatusOr<std::vector<float>> via_model = models::Classify(**model, images);
  absl::StatusOr<std::vector<float>> direct =
      RunOnnxWithOpenCv(TestOnnx(), pixels.data(), 3, 50, 50);
  ASSERT_TRUE(via_model.ok()) << via_model.status();
  ASSERT_TRUE(direct.ok()) << direct.status();
  for (int i = 0; i < 3; ++i) EXPECT_FLOAT_EQ((*via_model)[i], (*direct)[i]);
}

TEST(RepositoryWriterTest, VersionIsHighestExistingPlusOne) {
  ScratchDir dir;
  ASSERT_EQ(Write(dir.path(), "spec")->version, 1);
  ASSERT_EQ(Write(dir.path(), "spec")->version, 2);
  fs::create_directories(dir.File("spec/7"));
  fs::create_directories(dir.File("spec/notes"));
  absl::StatusOr<WrittenModel> w = Write(dir.path(), "spec");
  ASSERT_TRUE(w.ok()) << w.status();
  EXPECT_EQ(w->version, 8);
  EXPECT_TRUE(fs::exists(dir.File("spec/8/model.onnx")));
}

TEST(RepositoryWriterTest, AnotherKindOfModelUnderTheNameIsRefused) {
  ScratchDir dir;
  fs::create_directories(dir.File("hog/1"));
  WriteFile(dir.File("hog/config.json"), R"({"backend": "hog"})");
  absl::StatusOr<WrittenModel> w = Write(dir.path(), "hog");
  ASSERT_EQ(w.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(w.status().message(), HasSubstr("choose another model name"));
  EXPECT_FALSE(fs::exists(dir.File("hog/2")));
}

TEST(RepositoryWriterTest, AnotherInputSizeUnderTheNameIsRefused) {
  ScratchDir dir;
  ASSERT_TRUE(Write(dir.path(), "spec").ok());
  const std::string onnx = ExportOnnx(testing::RandomModel({2, 8, 16}, 32, 32, 1)).value();
  absl::StatusOr<WrittenModel> w = WriteModelToRepository({dir.path(), "spec"}, onnx, 32, 32, "{}");
  EXPECT_EQ(w.status().code(), absl::StatusCode::kFailedPrecondition);
}

TEST(RepositoryWriterTest, BadNamesAreInvalidArgument) {
  ScratchDir dir;
  for (const char* name : {"", ".hidden", "a/b", "..", "sp ace"}) {
    EXPECT_EQ(Write(dir.path(), name).status().code(), absl::StatusCode::kInvalidArgument)
        << "'" << name << "'";
  }
}

TEST(RepositoryWriterTest, AModelThatDoesNotLoadLeavesNoVersion) {
  ScratchDir dir;
  absl::StatusOr<WrittenModel> w = Write(dir.path(), "broken", "definitely not onnx");
  ASSERT_EQ(w.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(w.status().message(), HasSubstr("does not load"));
  EXPECT_TRUE(fs::is_empty(dir.File("broken")));
}

TEST(TrainingSummaryTest, JsonDescribesDataCandidatesAndChoice) {
  const Dataset& data = testing::ClipDataset();
  const DatasetOptions dataset_options = testing::ClipDatasetOptions();
  const TrainOptions train_options = testing::TinyTrainOptions();
  const TrainResult& result = testing::TinyTrainResult();
  const std::string text = TrainingSummaryJson(
      {"video.avi", "labels.csv", &dataset_options, &data, &train_options, &result});
  const nlohmann::json j = nlohmann::json::parse(text);
  EXPECT_EQ(j["dataset"]["object"], "car");
  EXPECT_EQ(j["dataset"]["all"]["frames"], data.size());
  EXPECT_EQ(j["dataset"]["train"]["positive"], data.Balance(data.train).positives);
  EXPECT_EQ(j["candidates"].size(), result.candidates.size());
  EXPECT_EQ(j["chosen"]["architecture"]["name"], result.model.architecture.Name());
  EXPECT_EQ(j["normalization"]["mean"].size(), 3u);
  EXPECT_THAT(CandidateTable(result), HasSubstr("* " + result.model.architecture.Name()));
}

}  // namespace
}  // namespace dnoscope::train
