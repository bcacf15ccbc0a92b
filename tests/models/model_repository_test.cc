#include "models/model_repository.h"

#include <chrono>
#include <filesystem>
#include <thread>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "models/backends/replay.h"
#include "opencv2/imgcodecs.hpp"
#include "testing/fake_clock.h"
#include "testing/test_env.h"

namespace dnoscope::models {
namespace {

using ::dnoscope::testing::ScratchDir;
using ::dnoscope::testing::WriteFile;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

namespace fs = std::filesystem;

constexpr char kLabels[] =
    "frame,object_name,confidence,xmin,ymin,xmax,ymax\n"
    "0,person,0.9,10,20,30,40\n"
    "0,car,0.8,100,100,200,150\n"
    "2,person,0.7,50,60,70,80\n";

ModelSpec Spec(const std::string& model, const std::string& repository = "") {
  ModelSpec spec;
  spec.model = model;
  spec.repository = repository;
  return spec;
}

void AddModel(const ScratchDir& dir, const std::string& name, const std::string& config,
              std::vector<int> versions) {
  fs::create_directories(dir.File(name));
  WriteFile(dir.File(name + "/config.json"), config);
  for (int v : versions) fs::create_directories(dir.File(name + "/" + std::to_string(v)));
}

// people (hog, versions 1-3), ref (replay), broken (bad JSON), noversion.
class ModelRepositoryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    AddModel(dir_, "people", R"({"backend": "hog"})", {3, 1, 2});
    AddModel(dir_, "ref",
             R"({"backend": "replay", "files": {"labels": "labels.csv"},
                 "replay": {"service_time_ms": 0}})",
             {1});
    WriteFile(dir_.File("ref/1/labels.csv"), kLabels);
    AddModel(dir_, "broken", R"({"backend": "hog",)", {1});
    AddModel(dir_, "noversion", R"({"backend": "hog"})", {});
    fs::create_directories(dir_.File(".hidden"));
    WriteFile(dir_.File("README.md"), "not a model");
    auto repository = ModelRepository::Open(dir_.path());
    ASSERT_TRUE(repository.ok()) << repository.status();
    repository_ = std::move(*repository);
  }

  ScratchDir dir_;
  std::unique_ptr<ModelRepository> repository_;
};

TEST_F(ModelRepositoryTest, ListsEveryModelFolderSorted) {
  EXPECT_THAT(repository_->ModelNames(), ElementsAre("broken", "noversion", "people", "ref"));
}

TEST_F(ModelRepositoryTest, LoadsHighestVersionByDefaultAndNamedVersionOnRequest) {
  auto entry = repository_->Find("people");
  ASSERT_TRUE(entry.ok()) << entry.status();
  EXPECT_THAT((*entry)->versions, ElementsAre(1, 2, 3));
  auto latest = repository_->Load("people");
  ASSERT_TRUE(latest.ok()) << latest.status();
  EXPECT_EQ((*latest)->metadata().version, 3);
  EXPECT_EQ((*latest)->metadata().name, "people");
  EXPECT_EQ((*latest)->metadata().backend, "hog");
  auto second = repository_->Load("people", 2);
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ((*second)->metadata().version, 2);
}

TEST_F(ModelRepositoryTest, UnknownVersionIsNotFoundListingVersions) {
  auto missing = repository_->Load("people", 7);
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(missing.status().message()), HasSubstr("available: 1, 2, 3"));
}

TEST_F(ModelRepositoryTest, BrokenModelIsReportedWithReasonWhileOthersLoad) {
  auto broken = repository_->Find("broken");
  ASSERT_TRUE(broken.ok()) << broken.status();
  EXPECT_EQ((*broken)->status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string((*broken)->status.message()), HasSubstr("invalid JSON"));
  auto load = repository_->Load("broken");
  EXPECT_EQ(load.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(load.status().message()), HasSubstr("'broken' is unavailable"));
  EXPECT_TRUE(repository_->Load("ref").ok());
  EXPECT_TRUE(repository_->Load("people").ok());
}

TEST_F(ModelRepositoryTest, ModelWithoutVersionFolderIsUnavailable) {
  auto entry = repository_->Find("noversion");
  ASSERT_TRUE(entry.ok()) << entry.status();
  EXPECT_THAT((*entry)->versions, IsEmpty());
  EXPECT_EQ((*entry)->status.code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string((*entry)->status.message()), HasSubstr("no version folder"));
}

TEST_F(ModelRepositoryTest, UnknownModelIsNotFoundListingAvailableModels) {
  auto missing = repository_->Load("yolo");
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(missing.status().message()),
              HasSubstr("available: broken, noversion, people, ref"));
}

TEST_F(ModelRepositoryTest, ReplayAnswersTheRowsOfTheRequestedFrame) {
  auto model = repository_->Load("ref");
  ASSERT_TRUE(model.ok()) << model.status();
  EXPECT_THAT((*model)->metadata().class_names, ElementsAre("car", "person"));
  const cv::Mat image(36, 64, CV_8UC3, cv::Scalar::all(0));  // size is ignored
  auto frame0 = Detect(**model, image, 0);
  ASSERT_TRUE(frame0.ok()) << frame0.status();
  ASSERT_EQ(frame0->size(), 2u);
  EXPECT_EQ((*frame0)[0].class_id, 1);  // person
  EXPECT_FLOAT_EQ((*frame0)[0].score, 0.9f);
  EXPECT_FLOAT_EQ((*frame0)[0].x1, 10);
  EXPECT_FLOAT_EQ((*frame0)[0].y2, 40);
  EXPECT_EQ((*frame0)[1].class_id, 0);  // car
  EXPECT_FLOAT_EQ((*frame0)[1].x2, 200);
  auto frame1 = Detect(**model, image, 1);
  ASSERT_TRUE(frame1.ok()) << frame1.status();
  EXPECT_THAT(*frame1, IsEmpty());
  auto frame2 = Detect(**model, image, 2);
  ASSERT_TRUE(frame2.ok()) << frame2.status();
  ASSERT_EQ(frame2->size(), 1u);
  EXPECT_FLOAT_EQ((*frame2)[0].x1, 50);
}

TEST_F(ModelRepositoryTest, ReplayWithObjectNameAnswersOnlyThatObject) {
  ReplayOptions options;
  options.object_name = "car";
  auto model = CreateReplayModel(dir_.File("ref/1/labels.csv"), options, "cars", 1);
  ASSERT_TRUE(model.ok()) << model.status();
  EXPECT_THAT((*model)->metadata().class_names, ElementsAre("car"));
  auto frame0 = Detect(**model, cv::Mat(8, 8, CV_8UC3), 0);
  ASSERT_TRUE(frame0.ok()) << frame0.status();
  ASSERT_EQ(frame0->size(), 1u);
  EXPECT_EQ((*frame0)[0].class_id, 0);
  EXPECT_FLOAT_EQ((*frame0)[0].x1, 100);
  auto frame2 = Detect(**model, cv::Mat(8, 8, CV_8UC3), 2);
  ASSERT_TRUE(frame2.ok());
  EXPECT_THAT(*frame2, IsEmpty());
}

TEST_F(ModelRepositoryTest, ReplayWithTheFrameSizeAnswersInPixelsOfTheImageSent) {
  ReplayOptions options;
  options.frame_width = 400;
  options.frame_height = 200;
  auto model = CreateReplayModel(dir_.File("ref/1/labels.csv"), options, "scaled", 1);
  ASSERT_TRUE(model.ok()) << model.status();
  // Half the labelled frame's size: boxes at half their CSV coordinates.
  auto half = Detect(**model, cv::Mat(100, 200, CV_8UC3, cv::Scalar::all(0)), 2);
  ASSERT_TRUE(half.ok()) << half.status();
  ASSERT_EQ(half->size(), 1u);
  EXPECT_FLOAT_EQ((*half)[0].x1, 25);
  EXPECT_FLOAT_EQ((*half)[0].y1, 30);
  EXPECT_FLOAT_EQ((*half)[0].x2, 35);
  EXPECT_FLOAT_EQ((*half)[0].y2, 40);
  // The full frame, and a JPEG of half the size, alike.
  auto full = Detect(**model, cv::Mat(200, 400, CV_8UC3, cv::Scalar::all(0)), 2);
  ASSERT_TRUE(full.ok());
  EXPECT_FLOAT_EQ((*full)[0].x1, 50);
  std::vector<uint8_t> jpeg;
  ASSERT_TRUE(cv::imencode(".jpg", cv::Mat(100, 200, CV_8UC3, cv::Scalar::all(0)), jpeg));
  Tensor encoded;
  encoded.name = kImageInput;
  encoded.dtype = DataType::kBytes;
  encoded.shape = {1};
  encoded.bytes.emplace_back(jpeg.begin(), jpeg.end());
  const int64_t frame[] = {2};
  auto outputs = (*model)->Infer({encoded, Tensor::Int64(kFrameIndexInput, {1}, frame)});
  ASSERT_TRUE(outputs.ok()) << outputs.status();
  auto boxes = DetectionsFromTensor((*outputs)[0]);
  ASSERT_TRUE(boxes.ok());
  EXPECT_FLOAT_EQ((*boxes)[0].x1, 25);
}

TEST_F(ModelRepositoryTest, ReplayWithoutFrameIndexIsInvalidArgument) {
  auto model = repository_->Load("ref");
  ASSERT_TRUE(model.ok()) << model.status();
  std::vector<Tensor> inputs;
  inputs.push_back(ImageToTensor(cv::Mat(8, 8, CV_8UC3, cv::Scalar::all(0))));
  auto outputs = (*model)->Infer(inputs);
  EXPECT_EQ(outputs.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(outputs.status().message()), HasSubstr("frame_index"));
}

TEST_F(ModelRepositoryTest, ReplaySleepsItsServiceTimeOnTheInjectedClock) {
  ModelConfig config;
  config.name = "slow";
  config.backend = "replay";
  config.labels_file = "labels.csv";
  config.replay.service_time_ms = 250;
  testing::FakeClock clock;
  const Clock::TimePoint start = clock.Now();
  auto model = CreateModel(config, dir_.File("ref/1"), 1, &clock);
  ASSERT_TRUE(model.ok()) << model.status();
  const int64_t frame[] = {2};
  std::vector<Tensor> inputs = {Tensor::Int64(kFrameIndexInput, {1}, frame)};
  std::thread caller([&] {
    EXPECT_TRUE((*model)->Infer(inputs).ok());
    EXPECT_TRUE((*model)->Infer(inputs).ok());
  });
  for (int call = 1; call <= 2; ++call) {
    ASSERT_TRUE(clock.BlockUntilWaiters(1));
    EXPECT_EQ(clock.NextDeadline(), start + call * std::chrono::milliseconds(250));
    clock.Advance(std::chrono::milliseconds(250));
  }
  caller.join();
}

TEST(ModelRepositoryOpenTest, MissingRootIsNotFound) {
  auto repository = ModelRepository::Open("/nonexistent/models");
  EXPECT_EQ(repository.status().code(), absl::StatusCode::kNotFound);
}

TEST(LoadModelTest, HogFindsNobodyInABlankImage) {
  auto model = LoadModel(Spec("hog"));
  ASSERT_TRUE(model.ok()) << model.status();
  EXPECT_THAT((*model)->metadata().class_names, ElementsAre("person"));
  std::vector<Tensor> inputs;
  inputs.push_back(ImageToTensor(cv::Mat(240, 320, CV_8UC3, cv::Scalar::all(128))));
  auto outputs = (*model)->Infer(inputs);
  ASSERT_TRUE(outputs.ok()) << outputs.status();
  ASSERT_EQ(outputs->size(), 1u);
  EXPECT_EQ((*outputs)[0].name, kDetectionsOutput);
  EXPECT_EQ((*outputs)[0].dtype, DataType::kFp32);
  EXPECT_THAT((*outputs)[0].shape, ElementsAre(0, 6));
}

TEST(LoadModelTest, HogWithoutImageInputIsInvalidArgument) {
  auto model = LoadModel(Spec("hog"));
  ASSERT_TRUE(model.ok()) << model.status();
  auto outputs = (*model)->Infer({});
  EXPECT_EQ(outputs.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(outputs.status().message()), HasSubstr("'image'"));
}

TEST(LoadModelTest, RepositoryNameLoadsFromTheRepository) {
  ScratchDir dir;
  AddModel(dir, "people", R"({"backend": "hog", "hog": {"max_width": 320}})", {1});
  auto model = LoadModel(Spec("people", dir.path()));
  ASSERT_TRUE(model.ok()) << model.status();
  EXPECT_EQ(model.value()->metadata().name, "people");
  auto missing = LoadModel(Spec("cars", dir.path()));
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(missing.status().message()), HasSubstr("available: people"));
}

TEST(LoadModelTest, ReportsMissingAndUnsupportedFiles) {
  ScratchDir dir;
  auto unknown = LoadModel(Spec("yolo9000"));
  EXPECT_EQ(unknown.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(unknown.status().message()), HasSubstr("yolo9000"));
  auto missing_cfg = LoadModel(Spec(dir.File("yolo.cfg")));
  EXPECT_EQ(missing_cfg.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(missing_cfg.status().message()), HasSubstr("yolo.cfg"));
  WriteFile(dir.File("yolo.cfg"), "[net]\nwidth=32\nheight=32\n");
  auto missing_weights = LoadModel(Spec(dir.File("yolo.cfg")));
  EXPECT_EQ(missing_weights.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(missing_weights.status().message()), HasSubstr("yolo.weights"));
  WriteFile(dir.File("model.pb"), "x");
  auto unsupported = LoadModel(Spec(dir.File("model.pb")));
  EXPECT_EQ(unsupported.status().code(), absl::StatusCode::kInvalidArgument);
  WriteFile(dir.File("bad.onnx"), "not protobuf at all");
  auto corrupt = LoadModel(Spec(dir.File("bad.onnx")));
  EXPECT_EQ(corrupt.status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(LoadModelTest, HogDecodesAnEncodedImageAndRejectsGarbageBytes) {
  auto model = LoadModel(Spec("hog"));
  ASSERT_TRUE(model.ok()) << model.status();
  cv::Mat blank(128, 96, CV_8UC3, cv::Scalar(40, 80, 120));
  std::vector<uint8_t> jpeg;
  ASSERT_TRUE(cv::imencode(".jpg", blank, jpeg));
  Tensor encoded{kImageInput, DataType::kBytes, {1}, {}, {std::string(jpeg.begin(), jpeg.end())}};
  auto ok = (*model)->Infer({encoded});
  ASSERT_TRUE(ok.ok()) << ok.status();
  EXPECT_EQ((*ok)[0].shape, (std::vector<int64_t>{0, 6}));
  encoded.bytes[0] = "definitely not an image";
  auto bad = (*model)->Infer({encoded});
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(bad.status().message(), HasSubstr("not a JPEG/PNG image"));
  Tensor two{kImageInput, DataType::kBytes, {2}, {}, {"a", "b"}};
  EXPECT_EQ((*model)->Infer({two}).status().code(), absl::StatusCode::kInvalidArgument);
}

// Rewrites the width/height an encoded image declares, leaving the pixel data alone.
std::string WithDeclaredSize(std::vector<uint8_t> bytes, uint32_t width, uint32_t height) {
  std::string s(bytes.begin(), bytes.end());
  auto put = [&](size_t at, uint32_t v, int n) {
    for (int i = n - 1; i >= 0; --i, v >>= 8) s[at + i] = static_cast<char>(v & 0xff);
  };
  if (s.compare(1, 3, "PNG") == 0) {
    put(16, width, 4);
    put(20, height, 4);
    return s;
  }
  for (size_t i = 2; i + 9 < s.size(); ++i) {  // first SOF0 marker
    if (static_cast<uint8_t>(s[i]) == 0xFF && static_cast<uint8_t>(s[i + 1]) == 0xC0) {
      put(i + 5, height, 2);
      put(i + 7, width, 2);
      break;
    }
  }
  return s;
}

TEST(LoadModelTest, EncodedImagesDeclaringTooManyPixelsAreRefusedBeforeDecoding) {
  auto model = LoadModel(Spec("hog"));
  ASSERT_TRUE(model.ok()) << model.status();
  const cv::Mat small(140, 70, CV_8UC3, cv::Scalar(5, 6, 7));
  for (const char* ext : {".png", ".jpg"}) {
    std::vector<uint8_t> bytes;
    ASSERT_TRUE(cv::imencode(ext, small, bytes));
    Tensor ok{kImageInput, DataType::kBytes, {1}, {}, {WithDeclaredSize(bytes, 70, 140)}};
    EXPECT_TRUE((*model)->Infer({ok}).ok()) << ext;
    Tensor bomb{kImageInput, DataType::kBytes, {1}, {}, {WithDeclaredSize(bytes, 60000, 60000)}};
    auto refused = (*model)->Infer({bomb});
    EXPECT_EQ(refused.status().code(), absl::StatusCode::kInvalidArgument) << ext;
    EXPECT_THAT(refused.status().message(), HasSubstr("60000x60000")) << ext;
  }
}

TEST(LoadModelTest, HogFindsNobodyInImagesSmallerThanItsWindow) {
  auto model = LoadModel(Spec("hog"));
  ASSERT_TRUE(model.ok()) << model.status();
  for (cv::Size size : {cv::Size(64, 96), cv::Size(10, 200), cv::Size(1, 1)}) {
    auto boxes = Detect(**model, cv::Mat(size, CV_8UC3, cv::Scalar::all(128)), 0);
    ASSERT_TRUE(boxes.ok()) << boxes.status();
    EXPECT_TRUE(boxes->empty());
  }
}

TEST(IdentityModelTest, ReturnsItsInputAsOutput0AndChecksTypeAndBatch) {
  ScratchDir dir;
  AddModel(dir, "echo",
           R"({"backend": "identity", "max_batch_size": 8, "identity": {"datatype": "INT32"}})",
           {1});
  auto model = LoadModel(Spec("echo", dir.path()));
  ASSERT_TRUE(model.ok()) << model.status();
  EXPECT_EQ((*model)->metadata().kind, ModelKind::kOther);
  EXPECT_EQ((*model)->metadata().inputs[0].dtype, DataType::kInt32);
  Tensor in{"INPUT0", DataType::kInt32, {2, 2}, std::vector<uint8_t>(16, 7), {}};
  auto out = (*model)->Infer({in});
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ((*out)[0].name, "OUTPUT0");
  EXPECT_EQ((*out)[0].shape, in.shape);
  EXPECT_EQ((*out)[0].data, in.data);
  Tensor too_big{"INPUT0", DataType::kInt32, {9, 1}, std::vector<uint8_t>(36, 0), {}};
  EXPECT_EQ((*model)->Infer({too_big}).status().code(), absl::StatusCode::kInvalidArgument);
  Tensor wrong_type{"INPUT0", DataType::kFp32, {1, 1}, std::vector<uint8_t>(4, 0), {}};
  EXPECT_EQ((*model)->Infer({wrong_type}).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(IdentityModelTest, UnknownDatatypeIsRejectedWhenTheRepositoryOpens) {
  ScratchDir dir;
  AddModel(dir, "echo", R"({"backend": "identity", "identity": {"datatype": "FP64"}})", {1});
  auto repository = ModelRepository::Open(dir.path());
  ASSERT_TRUE(repository.ok());
  auto entry = (*repository)->Find("echo");
  ASSERT_TRUE(entry.ok());
  EXPECT_EQ((*entry)->status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT((*entry)->status.message(), HasSubstr("identity.datatype"));
}

TEST(CocoClassNamesTest, HasEightyDarknetNames) {
  const std::vector<std::string>& names = CocoClassNames();
  ASSERT_EQ(names.size(), 80u);
  EXPECT_EQ(names[0], "person");
  EXPECT_EQ(names[2], "car");
  EXPECT_EQ(names[79], "toothbrush");
}

TEST(CocoClassNamesTest, MatchesTheSharedCocoNamesFile) {
  DNS_REQUIRE_SHARED_DATA(path, "models/yolo-fastest-1.1/coco.names");
  std::string text = ::dnoscope::testing::ReadFileOrEmpty(path);
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (!line.empty()) lines.push_back(line);
  }
  EXPECT_EQ(lines, CocoClassNames());
}

}  // namespace
}  // namespace dnoscope::models
