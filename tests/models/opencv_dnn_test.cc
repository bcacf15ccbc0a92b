// OpenCV DNN backend: ONNX classifiers built in the test, and Darknet
// detectors from ../shared/data (skipped when absent).
#include "models/backends/opencv_dnn.h"

#include <chrono>
#include <filesystem>
#include <iostream>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "models/backends/onnx_info.h"
#include "models/model_repository.h"
#include "testing/onnx_builder.h"
#include "opencv2/imgcodecs.hpp"
#include "opencv2/videoio.hpp"
#include "testing/test_env.h"

namespace dnoscope::models {
namespace {

using ::dnoscope::testing::ScratchDir;
using ::dnoscope::testing::WriteFile;
using ::testing::ElementsAre;
using ::testing::FloatNear;
using ::testing::HasSubstr;

constexpr char kYoloDir[] = "models/yolo-fastest-1.1/";

ModelSpec ClassifierSpec(const std::string& path) {
  ModelSpec spec;
  spec.model = path;
  spec.kind = "classifier";
  return spec;
}

cv::Mat Grey(int value, int size = 4) {
  return cv::Mat(size, size, CV_8UC3, cv::Scalar::all(value));
}

TEST(OnnxInfoTest, ReadsGraphInputAndOutputNamesTypesAndShapes) {
  auto info = ParseOnnxGraphInfo(testing::MeanIntensityClassifierOnnx(4, 5));
  ASSERT_TRUE(info.ok()) << info.status();
  ASSERT_EQ(info->inputs.size(), 1u);  // the initializer is not an input
  EXPECT_EQ(info->inputs[0].name, "images");
  EXPECT_EQ(info->inputs[0].elem_type, 2);
  EXPECT_THAT(info->inputs[0].dims, ElementsAre(-1, 4, 5, 3));
  ASSERT_EQ(info->outputs.size(), 1u);
  EXPECT_EQ(info->outputs[0].name, "confidence");
  EXPECT_THAT(info->outputs[0].dims, ElementsAre(-1, 1));
}

TEST(OnnxInfoTest, RejectsTruncatedBytes) {
  const std::string bytes = testing::MeanIntensityClassifierOnnx(4, 4);
  auto info = ParseOnnxGraphInfo(std::string_view(bytes).substr(0, bytes.size() / 2));
  EXPECT_EQ(info.status().code(), absl::StatusCode::kInvalidArgument);
}

class OnnxClassifierTest : public ::testing::Test {
 protected:
  std::string WriteModel(int fixed_batch = 0) {
    const std::string path = dir_.File("mean.onnx");
    WriteFile(path, testing::MeanIntensityClassifierOnnx(4, 4, fixed_batch));
    return path;
  }
  ScratchDir dir_;
};

TEST_F(OnnxClassifierTest, TakesNamesAndSizeFromTheGraph) {
  auto model = LoadModel(ClassifierSpec(WriteModel()));
  ASSERT_TRUE(model.ok()) << model.status();
  const ModelMetadata& meta = (*model)->metadata();
  EXPECT_EQ(meta.kind, ModelKind::kClassifier);
  EXPECT_EQ(meta.platform, "onnx");
  EXPECT_EQ(meta.max_batch_size, 64);
  ASSERT_EQ(meta.inputs.size(), 1u);
  EXPECT_EQ(meta.inputs[0].name, "images");
  EXPECT_THAT(meta.inputs[0].shape, ElementsAre(-1, 4, 4, 3));
  ASSERT_EQ(meta.outputs.size(), 1u);
  EXPECT_EQ(meta.outputs[0].name, "confidence");
}

TEST_F(OnnxClassifierTest, ClassifiesBatchesOfOneAndFour) {
  auto model = LoadModel(ClassifierSpec(WriteModel()));
  ASSERT_TRUE(model.ok()) << model.status();
  auto one = Classify(**model, {Grey(255)});
  ASSERT_TRUE(one.ok()) << one.status();
  EXPECT_THAT(*one, ElementsAre(FloatNear(1.0f, 1e-5)));
  std::vector<Tensor> inputs = {
      ImagesToBatchTensor({Grey(0), Grey(51), Grey(102), Grey(255)}, "images")};
  auto outputs = (*model)->Infer(inputs);
  ASSERT_TRUE(outputs.ok()) << outputs.status();
  ASSERT_EQ(outputs->size(), 1u);
  EXPECT_EQ((*outputs)[0].name, "confidence");
  EXPECT_THAT((*outputs)[0].shape, ElementsAre(4, 1));
  EXPECT_THAT((*outputs)[0].Values<float>(),
              ElementsAre(FloatNear(0.0f, 1e-5), FloatNear(0.2f, 1e-5), FloatNear(0.4f, 1e-5),
                          FloatNear(1.0f, 1e-5)));
}

TEST_F(OnnxClassifierTest, RejectsWrongImageSizeAndOversizedBatch) {
  ModelConfig config;
  config.name = "mean";
  config.backend = "opencv_dnn";
  config.kind = "classifier";
  config.model_file = WriteModel();
  config.max_batch_size = 2;
  auto model = CreateModel(config, "", 1);
  ASSERT_TRUE(model.ok()) << model.status();
  std::vector<Tensor> wrong_size = {ImagesToBatchTensor({Grey(0, 5)}, "images")};
  auto bad = (*model)->Infer(wrong_size);
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(bad.status().message()), HasSubstr("'images' UINT8 [-1,4,4,3]"));
  std::vector<Tensor> three = {ImagesToBatchTensor({Grey(0), Grey(0), Grey(0)}, "images")};
  EXPECT_EQ((*model)->Infer(three).status().code(), absl::StatusCode::kInvalidArgument);
  // Classify splits what the model cannot take at once.
  auto confidences = Classify(**model, {Grey(0), Grey(255), Grey(0)});
  ASSERT_TRUE(confidences.ok()) << confidences.status();
  EXPECT_THAT(*confidences,
              ElementsAre(FloatNear(0, 1e-5), FloatNear(1, 1e-5), FloatNear(0, 1e-5)));
}

TEST_F(OnnxClassifierTest, ConfigSizeThatContradictsTheGraphIsInvalidArgument) {
  ModelConfig config;
  config.name = "mean";
  config.backend = "opencv_dnn";
  config.kind = "classifier";
  config.model_file = WriteModel();
  config.max_batch_size = 8;
  config.classifier_width = 50;
  config.classifier_height = 50;
  auto model = CreateModel(config, "", 1);
  EXPECT_EQ(model.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(model.status().message()), HasSubstr("50x50"));
}

// Shared-data tests below use Yolo-Fastest 1.1 xl: the README measured a
// person in 76.5% of one-by-one-person-detection.mp4's frames with it.
ModelSpec YoloSpec(const std::string& cfg) {
  ModelSpec spec;
  spec.model = cfg;
  spec.detector.confidence_threshold = 0.2f;
  spec.detector.nms_threshold = 0.4f;
  return spec;
}

TEST(DarknetDetectorTest, FindsAPersonInMostButNotAllFramesOfTheOneByOneVideo) {
  DNS_REQUIRE_SHARED_DATA(cfg, std::string(kYoloDir) + "yolo-fastest-1.1-xl.cfg");
  DNS_REQUIRE_SHARED_DATA(video, "videos/one-by-one-person-detection.mp4");
  auto model = LoadModel(YoloSpec(cfg));
  ASSERT_TRUE(model.ok()) << model.status();
  EXPECT_EQ((*model)->metadata().platform, "darknet");
  ASSERT_EQ((*model)->metadata().class_names.size(), 80u);
  cv::VideoCapture capture(video);
  ASSERT_TRUE(capture.isOpened());
  int sampled = 0, with_person = 0;
  std::chrono::steady_clock::duration detect_time{};
  cv::Mat frame;
  // Every 2nd frame halves the run time; people stay for many frames, so the
  // share barely changes.
  for (int index = 0; capture.read(frame); ++index) {
    if (index % 2 != 0) continue;
    const auto start = std::chrono::steady_clock::now();
    auto boxes = Detect(**model, frame, index);
    detect_time += std::chrono::steady_clock::now() - start;
    ASSERT_TRUE(boxes.ok()) << boxes.status();
    ++sampled;
    with_person += std::any_of(boxes->begin(), boxes->end(),
                               [](const BoxDetection& b) { return b.class_id == 0; });
  }
  ASSERT_EQ(sampled, 697);
  const double share = 1.0 * with_person / sampled;
  std::cout << "person in " << with_person << "/" << sampled << " sampled frames (" << share * 100
            << "%), " << std::chrono::duration<double, std::milli>(detect_time).count() / sampled
            << " ms per frame (informational)\n";
  EXPECT_GE(share, 0.6);
  EXPECT_LE(share, 0.9);
}

// Frames 100, 300, 500 and 700 of the video.
std::vector<cv::Mat> SomeFrames(const std::string& video) {
  cv::VideoCapture capture(video);
  std::vector<cv::Mat> frames;
  cv::Mat frame;
  for (int index = 0; index <= 700 && capture.read(frame); ++index) {
    if (index % 200 == 100) frames.push_back(frame.clone());
  }
  return frames;
}

TEST(DarknetDetectorTest, RepositoryConfigGivesTheSameDetectionsAsLoadModel) {
  DNS_REQUIRE_SHARED_DATA(cfg, std::string(kYoloDir) + "yolo-fastest-1.1-xl.cfg");
  DNS_REQUIRE_SHARED_DATA(weights, std::string(kYoloDir) + "yolo-fastest-1.1-xl.weights");
  DNS_REQUIRE_SHARED_DATA(names, std::string(kYoloDir) + "coco.names");
  DNS_REQUIRE_SHARED_DATA(video, "videos/one-by-one-person-detection.mp4");
  ScratchDir repo;
  std::filesystem::create_directories(repo.File("yolo/1"));
  // Absolute paths: the shared files are referenced, never copied.
  WriteFile(repo.File("yolo/config.json"),
            R"({"backend": "opencv_dnn", "files": {"model": ")" + cfg + R"(", "weights": ")" +
                weights + R"(", "names": ")" + names +
                R"("}, "detector": {"confidence_threshold": 0.2, "nms_threshold": 0.4}})");
  auto from_repo = LoadModel([&] {
    ModelSpec spec;
    spec.model = "yolo";
    spec.repository = repo.path();
    return spec;
  }());
  ASSERT_TRUE(from_repo.ok()) << from_repo.status();
  auto direct = LoadModel(YoloSpec(cfg));
  ASSERT_TRUE(direct.ok()) << direct.status();
  const std::vector<cv::Mat> frames = SomeFrames(video);
  ASSERT_EQ(frames.size(), 4u);
  int total = 0;
  for (size_t i = 0; i < frames.size(); ++i) {
    auto a = Detect(**from_repo, frames[i], 0);
    auto b = Detect(**direct, frames[i], 0);
    ASSERT_TRUE(a.ok() && b.ok());
    ASSERT_EQ(a->size(), b->size()) << "frame " << i;
    for (size_t k = 0; k < a->size(); ++k) {
      EXPECT_EQ((*a)[k].class_id, (*b)[k].class_id);
      EXPECT_FLOAT_EQ((*a)[k].score, (*b)[k].score);
      EXPECT_FLOAT_EQ((*a)[k].x1, (*b)[k].x1);
      EXPECT_FLOAT_EQ((*a)[k].y1, (*b)[k].y1);
      EXPECT_FLOAT_EQ((*a)[k].x2, (*b)[k].x2);
      EXPECT_FLOAT_EQ((*a)[k].y2, (*b)[k].y2);
    }
    total += static_cast<int>(a->size());
  }
  EXPECT_GT(total, 0);  // the comparison is not vacuous
}

TEST(DarknetDetectorTest, RawOutputsOnRequestAndEncodedImagesGiveTheSameDetections) {
  DNS_REQUIRE_SHARED_DATA(cfg, std::string(kYoloDir) + "yolo-fastest-1.1-xl.cfg");
  DNS_REQUIRE_SHARED_DATA(video, "videos/one-by-one-person-detection.mp4");
  auto model = LoadModel(YoloSpec(cfg));
  ASSERT_TRUE(model.ok()) << model.status();
  const ModelMetadata& meta = (*model)->metadata();
  // "detections" by default; one on-request output per YOLO layer.
  ASSERT_GE(meta.outputs.size(), 3u);
  EXPECT_EQ(meta.outputs[0].name, kDetectionsOutput);
  EXPECT_FALSE(meta.outputs[0].on_request);
  const TensorSpec& raw_spec = meta.outputs[1];
  EXPECT_TRUE(raw_spec.on_request);
  const std::vector<cv::Mat> frames = SomeFrames(video);
  ASSERT_FALSE(frames.empty());
  std::vector<Tensor> inputs = {ImageToTensor(frames[0])};
  auto plain = (*model)->Infer(inputs);
  ASSERT_TRUE(plain.ok()) << plain.status();
  ASSERT_EQ(plain->size(), 1u);
  auto raw = (*model)->InferSelected(inputs, {raw_spec.name, kDetectionsOutput});
  ASSERT_TRUE(raw.ok()) << raw.status();
  ASSERT_EQ(raw->size(), 2u);
  EXPECT_EQ((*raw)[0].name, raw_spec.name);
  EXPECT_EQ((*raw)[0].shape, raw_spec.shape);
  EXPECT_EQ((*raw)[1].data, (*plain)[0].data);
  EXPECT_EQ((*model)->InferSelected(inputs, {"no_such_output"}).status().code(),
            absl::StatusCode::kNotFound);
  // A PNG in a BYTES tensor is decoded on the model side: same boxes.
  std::vector<uint8_t> png;
  ASSERT_TRUE(cv::imencode(".png", frames[0], png));
  Tensor encoded{kImageInput, DataType::kBytes, {1}, {}, {std::string(png.begin(), png.end())}};
  auto from_png = (*model)->Infer({encoded});
  ASSERT_TRUE(from_png.ok()) << from_png.status();
  EXPECT_EQ((*from_png)[0].data, (*plain)[0].data);
  EXPECT_GT((*plain)[0].shape[0], 0);  // the comparison is not vacuous
}

TEST(DarknetDetectorTest, NamesFileThatDoesNotMatchTheNetworkIsInvalidArgument) {
  DNS_REQUIRE_SHARED_DATA(cfg, std::string(kYoloDir) + "yolo-fastest-1.1.cfg");
  ScratchDir dir;
  WriteFile(dir.File("three.names"), "person\ncar\ndog\n");
  ModelSpec spec = YoloSpec(cfg);
  spec.names = dir.File("three.names");
  auto model = LoadModel(spec);
  EXPECT_EQ(model.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(model.status().message()), HasSubstr("3 class names"));
}

TEST(DarknetDetectorTest, ClassThresholdForUnknownClassIsInvalidArgument) {
  DNS_REQUIRE_SHARED_DATA(cfg, std::string(kYoloDir) + "yolo-fastest-1.1.cfg");
  ModelConfig config;
  config.name = "yolo";
  config.backend = "opencv_dnn";
  config.model_file = cfg;
  config.weights_file = std::filesystem::path(cfg).replace_extension(".weights").string();
  config.class_thresholds = {{"unicorn", 0.5f}};
  auto model = CreateModel(config, "", 1);
  EXPECT_EQ(model.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(model.status().message()), HasSubstr("unicorn"));
}

}  // namespace
}  // namespace dnoscope::models
