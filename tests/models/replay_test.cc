// The replay classifier (config "kind": "classifier" with backend "replay"):
// loaded through a model repository, checked against the CSV it replays.
#include "models/backends/replay.h"

#include <chrono>
#include <filesystem>
#include <numeric>
#include <thread>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "models/model_config.h"
#include "models/model_repository.h"
#include "testing/fake_clock.h"
#include "testing/test_env.h"

namespace dnoscope::models {
namespace {

using ::dnoscope::testing::FakeClock;
using ::dnoscope::testing::ScratchDir;
using ::dnoscope::testing::WriteFile;
using ::testing::ElementsAre;
using ::testing::FloatEq;
using ::testing::HasSubstr;

namespace fs = std::filesystem;

// Frame 0: people 0.6 and 0.9, a car 0.8; frame 1: nothing; frame 2: a
// person 0.7; frame 3: cars 0.55 and 0.95.
constexpr char kLabels[] =
    "frame,object_name,confidence,xmin,ymin,xmax,ymax\n"
    "0,person,0.6,10,20,30,40\n"
    "0,car,0.8,100,100,200,150\n"
    "0,person,0.9,50,20,70,40\n"
    "2,person,0.7,50,60,70,80\n"
    "3,car,0.55,1,1,5,5\n"
    "3,car,0.95,10,10,50,50\n";

void AddReplayModel(const ScratchDir& dir, const std::string& name, const std::string& config) {
  fs::create_directories(dir.File(name + "/1"));
  WriteFile(dir.File(name + "/config.json"), config);
  WriteFile(dir.File(name + "/1/labels.csv"), kLabels);
}

// `frames.size()` blank 8x8 images and their frame numbers.
std::vector<Tensor> Request(const std::vector<int64_t>& frames) {
  const int64_t n = static_cast<int64_t>(frames.size());
  const std::vector<uint8_t> pixels(static_cast<size_t>(n) * 8 * 8 * 3, 0);
  std::vector<Tensor> inputs;
  inputs.push_back(Tensor::Uint8(kImageInput, {n, 8, 8, 3}, pixels.data(), pixels.size()));
  inputs.push_back(Tensor::Int64(kFrameIndexInput, {n}, frames));
  return inputs;
}

// spec (every object, batch 4), cars (object_name "car"), nobatch
// (max_batch_size 0), default (max_batch_size left out).
class ReplayClassifierTest : public ::testing::Test {
 protected:
  void SetUp() override {
    AddReplayModel(dir_, "spec",
                   R"({"backend": "replay", "kind": "classifier", "max_batch_size": 4,
                       "files": {"labels": "labels.csv"}})");
    AddReplayModel(dir_, "cars",
                   R"({"backend": "replay", "kind": "classifier", "max_batch_size": 4,
                       "files": {"labels": "labels.csv"}, "replay": {"object_name": "car"}})");
    AddReplayModel(dir_, "nobatch",
                   R"({"backend": "replay", "kind": "classifier", "max_batch_size": 0,
                       "files": {"labels": "labels.csv"}})");
    AddReplayModel(dir_, "default",
                   R"({"backend": "replay", "kind": "classifier",
                       "files": {"labels": "labels.csv"}})");
    auto repository = ModelRepository::Open(dir_.path());
    ASSERT_TRUE(repository.ok()) << repository.status();
    repository_ = std::move(*repository);
  }

  std::unique_ptr<Model> Load(const std::string& name) {
    auto model = repository_->Load(name);
    EXPECT_TRUE(model.ok()) << model.status();
    return model.ok() ? std::move(*model) : nullptr;
  }

  // The confidences `model` returns for `frames`, checking the output shape.
  static std::vector<float> Confidences(Model& model, const std::vector<int64_t>& frames) {
    auto outputs = model.Infer(Request(frames));
    EXPECT_TRUE(outputs.ok()) << outputs.status();
    if (!outputs.ok()) return {};
    const Tensor* out = FindTensor(*outputs, kReplayConfidenceOutput);
    EXPECT_NE(out, nullptr);
    if (out == nullptr) return {};
    EXPECT_EQ(out->dtype, DataType::kFp32);
    EXPECT_EQ(out->shape, (std::vector<int64_t>{static_cast<int64_t>(frames.size()), 1}));
    std::span<const float> values = out->Values<float>();
    return {values.begin(), values.end()};
  }

  ScratchDir dir_;
  std::unique_ptr<ModelRepository> repository_;
};

TEST_F(ReplayClassifierTest, MetadataFollowsTheClassifierContractWithAFrameIndexInput) {
  std::unique_ptr<Model> model = Load("spec");
  ASSERT_NE(model, nullptr);
  const ModelMetadata& m = model->metadata();
  EXPECT_EQ(m.kind, ModelKind::kClassifier);
  EXPECT_EQ(m.backend, "replay");
  EXPECT_EQ(m.max_batch_size, 4);
  ASSERT_EQ(m.inputs.size(), 2u);
  EXPECT_EQ(m.inputs[0].name, "image");
  EXPECT_EQ(m.inputs[0].dtype, DataType::kUint8);
  EXPECT_EQ(m.inputs[0].shape, (std::vector<int64_t>{-1, -1, -1, 3}));
  EXPECT_FALSE(m.inputs[0].optional);
  EXPECT_EQ(m.inputs[1].name, "frame_index");
  EXPECT_EQ(m.inputs[1].dtype, DataType::kInt64);
  EXPECT_EQ(m.inputs[1].shape, (std::vector<int64_t>{-1}));
  EXPECT_FALSE(m.inputs[1].optional);
  ASSERT_EQ(m.outputs.size(), 1u);
  EXPECT_EQ(m.outputs[0].name, "confidence");
  EXPECT_EQ(m.outputs[0].dtype, DataType::kFp32);
  EXPECT_EQ(m.outputs[0].shape, (std::vector<int64_t>{-1, 1}));
}

TEST_F(ReplayClassifierTest, AnswersEachRowWithItsFramesHighestConfidenceAndZeroWithoutRows) {
  std::unique_ptr<Model> model = Load("spec");
  ASSERT_NE(model, nullptr);
  EXPECT_THAT(Confidences(*model, {2, 0, 1}), ElementsAre(FloatEq(0.7f), FloatEq(0.9f), 0.0f));
  EXPECT_THAT(Confidences(*model, {3}), ElementsAre(FloatEq(0.95f)));
  EXPECT_THAT(Confidences(*model, {99, 0, 0, 3}),
              ElementsAre(0.0f, FloatEq(0.9f), FloatEq(0.9f), FloatEq(0.95f)));
}

TEST_F(ReplayClassifierTest, ObjectNameKeepsOnlyThatObjectsRows) {
  std::unique_ptr<Model> model = Load("cars");
  ASSERT_NE(model, nullptr);
  EXPECT_THAT(Confidences(*model, {0, 2, 3}), ElementsAre(FloatEq(0.8f), 0.0f, FloatEq(0.95f)));
}

TEST_F(ReplayClassifierTest, MaxBatchSizePassesThroughFromTheConfig) {
  std::unique_ptr<Model> unbatched = Load("nobatch");
  ASSERT_NE(unbatched, nullptr);
  EXPECT_EQ(unbatched->metadata().max_batch_size, 0);
  // No batch limit: any number of rows per call.
  std::vector<int64_t> frames(10);
  std::iota(frames.begin(), frames.end(), 0);
  EXPECT_EQ(Confidences(*unbatched, frames).size(), 10u);
  std::unique_ptr<Model> by_default = Load("default");
  ASSERT_NE(by_default, nullptr);
  EXPECT_EQ(by_default->metadata().max_batch_size, 64);  // classifiers' config default
}

struct BadInputCase {
  std::string name;
  std::vector<Tensor> inputs;
  // Every one must appear in the error message.
  std::vector<std::string> message_parts;
};

class ReplayClassifierBadInputTest : public ReplayClassifierTest,
                                     public ::testing::WithParamInterface<BadInputCase> {};

TEST_P(ReplayClassifierBadInputTest, IsInvalidArgumentNamingTheTensor) {
  std::unique_ptr<Model> model = Load("spec");
  ASSERT_NE(model, nullptr);
  auto outputs = model->Infer(GetParam().inputs);
  EXPECT_EQ(outputs.status().code(), absl::StatusCode::kInvalidArgument) << outputs.status();
  for (const std::string& part : GetParam().message_parts) {
    EXPECT_THAT(std::string(outputs.status().message()), HasSubstr(part));
  }
}

std::vector<Tensor> WithoutInput(std::vector<Tensor> inputs, const std::string& name) {
  std::erase_if(inputs, [&](const Tensor& t) { return t.name == name; });
  return inputs;
}

std::vector<Tensor> WithFrameIndex(std::vector<Tensor> inputs, Tensor frame_index) {
  inputs = WithoutInput(std::move(inputs), kFrameIndexInput);
  inputs.push_back(std::move(frame_index));
  return inputs;
}

std::vector<BadInputCase> BadInputCases() {
  const std::vector<int64_t> three = {0, 1, 2};
  const std::vector<float> float_frames = {0, 1, 2};
  const std::vector<uint8_t> hw3(8 * 8 * 3, 0);
  return {
      {"MissingFrameIndex",
       WithoutInput(Request(three), kFrameIndexInput),
       {"'frame_index'", "INT64 [N]", "no such input"}},
      {"MissingImage", WithoutInput(Request(three), kImageInput), {"'image'", "UINT8 [N,H,W,3]"}},
      {"FewerFrameNumbersThanImages",
       WithFrameIndex(Request(three), Tensor::Int64(kFrameIndexInput, {2}, {three.data(), 2})),
       {"'frame_index' holds 2", "'image' 3"}},
      {"MoreFrameNumbersThanImages",
       WithFrameIndex(Request({0, 1}), Tensor::Int64(kFrameIndexInput, {3}, three)),
       {"'frame_index' holds 3", "'image' 2"}},
      {"FloatFrameNumbers",
       WithFrameIndex(Request(three), Tensor::Fp32(kFrameIndexInput, {3}, float_frames)),
       {"'frame_index'", "FP32 [3]"}},
      {"FrameIndexOfRankTwo",
       WithFrameIndex(Request(three), Tensor::Int64(kFrameIndexInput, {3, 1}, three)),
       {"'frame_index'", "INT64 [3,1]"}},
      {"ImageWithoutBatchDimension",
       {Tensor::Uint8(kImageInput, {8, 8, 3}, hw3.data(), hw3.size()),
        Tensor::Int64(kFrameIndexInput, {1}, {three.data(), 1})},
       {"'image'", "UINT8 [8,8,3]"}},
      {"BatchAboveMaxBatchSize", Request({0, 1, 2, 3, 4}), {"batch of 5", "max_batch_size 4"}},
  };
}

INSTANTIATE_TEST_SUITE_P(Cases, ReplayClassifierBadInputTest, ::testing::ValuesIn(BadInputCases()),
                         [](const auto& info) { return info.param.name; });

TEST_F(ReplayClassifierTest, SleepsTheServiceTimeOncePerBatchOnTheInjectedClock) {
  ModelConfig config;
  config.name = "slow";
  config.backend = "replay";
  config.kind = "classifier";
  config.max_batch_size = 4;
  config.labels_file = "labels.csv";
  config.replay.service_time_ms = 40;
  FakeClock clock;
  const Clock::TimePoint start = clock.Now();
  auto model = CreateModel(config, dir_.File("spec/1"), 1, &clock);
  ASSERT_TRUE(model.ok()) << model.status();
  std::vector<float> first, second;
  std::thread caller([&] {
    first = Confidences(**model, {0, 1, 2});
    second = Confidences(**model, {3});
  });
  // Each batch sleeps its service time once, on the fake clock.
  ASSERT_TRUE(clock.BlockUntilWaiters(1));
  EXPECT_EQ(clock.NextDeadline(), start + std::chrono::milliseconds(40));
  clock.Advance(std::chrono::milliseconds(40));
  ASSERT_TRUE(clock.BlockUntilWaiters(1));
  EXPECT_EQ(clock.NextDeadline(), start + std::chrono::milliseconds(80));
  clock.Advance(std::chrono::milliseconds(40));
  caller.join();
  EXPECT_THAT(first, ElementsAre(FloatEq(0.9f), 0.0f, FloatEq(0.7f)));
  EXPECT_THAT(second, ElementsAre(FloatEq(0.95f)));
  // A refused request costs nothing: it returns without waiting on the clock.
  EXPECT_FALSE((*model)->Infer(WithoutInput(Request({0}), kFrameIndexInput)).ok());
  EXPECT_EQ(clock.Now() - start, std::chrono::milliseconds(80));
}

TEST(ReplayClassifierConfigTest, ClassifierKindIsAcceptedForReplayOnly) {
  auto replay = ParseModelConfig(
      R"({"backend": "replay", "kind": "classifier", "files": {"labels": "l.csv"},
          "replay": {"service_time_ms": 2, "object_name": "car"}})",
      "c", "spec");
  ASSERT_TRUE(replay.ok()) << replay.status();
  EXPECT_EQ(replay->kind, "classifier");
  EXPECT_EQ(replay->max_batch_size, 64);
  EXPECT_DOUBLE_EQ(replay->replay.service_time_ms, 2);
  auto reparsed = ParseModelConfig(ModelConfigToJson(*replay), "c", "spec");
  ASSERT_TRUE(reparsed.ok()) << reparsed.status();
  EXPECT_EQ(reparsed->kind, "classifier");
  auto identity = ParseModelConfig(R"({"backend": "identity", "kind": "classifier"})", "c", "i");
  EXPECT_EQ(identity.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(identity.status().message()), HasSubstr("\"opencv_dnn\" or \"replay\""));
}

}  // namespace
}  // namespace dnoscope::models
