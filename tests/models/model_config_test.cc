#include "models/model_config.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace dnoscope::models {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Pair;
using ::testing::StartsWith;

constexpr char kFullDetector[] = R"({
  "name": "yolo",
  "backend": "opencv_dnn",
  "kind": "detector",
  "files": {"model": "yolo.cfg", "weights": "yolo.weights", "names": "coco.names"},
  "max_batch_size": 0,
  "instance_count": 2,
  "dynamic_batching": {"max_queue_delay_us": 500, "preferred_batch_sizes": [4, 8]},
  "detector": {"format": "yolov5", "input_width": 640, "input_height": 384,
               "letterbox": true, "confidence_threshold": 0.3, "nms_threshold": 0.5,
               "class_thresholds": {"person": 0.2, "car": 0.6},
               "class_agnostic_nms": true, "swap_rb": false, "scale": 1.0}
})";

TEST(ParseModelConfigTest, ParsesEveryDetectorField) {
  auto config = ParseModelConfig(kFullDetector, "yolo/config.json", "folder");
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->name, "yolo");
  EXPECT_EQ(config->backend, "opencv_dnn");
  EXPECT_EQ(config->kind, "detector");
  EXPECT_EQ(config->model_file, "yolo.cfg");
  EXPECT_EQ(config->weights_file, "yolo.weights");
  EXPECT_EQ(config->names_file, "coco.names");
  EXPECT_EQ(config->instance_count, 2);
  EXPECT_EQ(config->max_queue_delay_us, 500);
  EXPECT_THAT(config->preferred_batch_sizes, ElementsAre(4, 8));
  const DetectorHeadOptions& d = config->detector;
  EXPECT_EQ(d.format, HeadFormat::kYoloV5);
  EXPECT_EQ(d.input_width, 640);
  EXPECT_EQ(d.input_height, 384);
  EXPECT_TRUE(d.letterbox);
  EXPECT_FLOAT_EQ(d.confidence_threshold, 0.3f);
  EXPECT_FLOAT_EQ(d.nms_threshold, 0.5f);
  EXPECT_TRUE(d.class_agnostic_nms);
  EXPECT_FALSE(d.swap_rb);
  EXPECT_DOUBLE_EQ(d.scale, 1.0);
  EXPECT_THAT(config->class_thresholds, ElementsAre(Pair("car", 0.6f), Pair("person", 0.2f)));
}

TEST(ParseModelConfigTest, ParsesHogReplayAndClassifierSections) {
  auto hog = ParseModelConfig(
      R"({"backend": "hog", "hog": {"hit_threshold": 0.5, "win_stride": 4, "padding": 16,
          "scale": 1.1, "max_width": 640}})",
      "hog", "people");
  ASSERT_TRUE(hog.ok()) << hog.status();
  EXPECT_DOUBLE_EQ(hog->hog.hit_threshold, 0.5);
  EXPECT_EQ(hog->hog.win_stride, 4);
  EXPECT_EQ(hog->hog.padding, 16);
  EXPECT_DOUBLE_EQ(hog->hog.scale, 1.1);
  EXPECT_EQ(hog->hog.max_width, 640);
  auto replay = ParseModelConfig(
      R"({"backend": "replay", "files": {"labels": "l.csv"},
          "replay": {"service_time_ms": 4260, "object_name": "person"}})",
      "replay", "ref");
  ASSERT_TRUE(replay.ok()) << replay.status();
  EXPECT_EQ(replay->labels_file, "l.csv");
  EXPECT_DOUBLE_EQ(replay->replay.service_time_ms, 4260);
  EXPECT_EQ(replay->replay.object_name, "person");
  auto classifier = ParseModelConfig(
      R"({"backend": "opencv_dnn", "kind": "classifier", "files": {"model": "c.onnx"},
          "classifier": {"input_width": 50, "input_height": 40}})",
      "c", "c");
  ASSERT_TRUE(classifier.ok()) << classifier.status();
  EXPECT_EQ(classifier->classifier_width, 50);
  EXPECT_EQ(classifier->classifier_height, 40);
}

TEST(ParseModelConfigTest, AppliesDefaultsForOmittedKeys) {
  auto config = ParseModelConfig(R"({"backend": "hog"})", "people/config.json", "people");
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->name, "people");  // the folder name
  EXPECT_EQ(config->kind, "detector");
  EXPECT_EQ(config->max_batch_size, 0);
  EXPECT_EQ(config->instance_count, 1);
  EXPECT_EQ(config->max_queue_delay_us, 0);
  EXPECT_TRUE(config->preferred_batch_sizes.empty());
  EXPECT_EQ(config->hog.win_stride, 8);
  EXPECT_DOUBLE_EQ(config->hog.scale, 1.05);
  EXPECT_EQ(config->detector.input_width, 0);  // 0: from the model
}

TEST(ParseModelConfigTest, ClassifiersDefaultToBatchesOf64) {
  auto config = ParseModelConfig(
      R"({"backend": "opencv_dnn", "kind": "classifier", "files": {"model": "c.onnx"}})", "c", "c");
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->max_batch_size, 64);
  EXPECT_EQ(config->classifier_width, 0);  // 0: from the graph
}

struct BadConfigCase {
  std::string json;
  // Every fragment must appear in the error message.
  std::vector<std::string> message_parts;
};

class ParseModelConfigErrorTest : public ::testing::TestWithParam<BadConfigCase> {};

TEST_P(ParseModelConfigErrorTest, RejectsWithInvalidArgumentNamingTheKey) {
  auto config = ParseModelConfig(GetParam().json, "m/config.json", "m");
  ASSERT_FALSE(config.ok()) << GetParam().json;
  EXPECT_EQ(config.status().code(), absl::StatusCode::kInvalidArgument);
  const std::string message(config.status().message());
  EXPECT_THAT(message, StartsWith("m/config.json: "));
  for (const std::string& part : GetParam().message_parts) {
    EXPECT_THAT(message, HasSubstr(part));
  }
}

INSTANTIATE_TEST_SUITE_P(
    BadConfigs, ParseModelConfigErrorTest,
    ::testing::Values(
        BadConfigCase{R"({"backend": 3})", {"'backend'", "a string", "number"}},
        BadConfigCase{R"({"backend": "hog", "max_batch_size": "8"})",
                      {"'max_batch_size'", "an integer", "string"}},
        BadConfigCase{R"({"backend": "hog", "max_batch_size": 1.5})",
                      {"'max_batch_size'", "an integer"}},
        BadConfigCase{R"({"backend": "opencv_dnn", "files": {"model": "m.cfg"},
                          "detector": {"confidence_threshold": "high"}})",
                      {"'detector.confidence_threshold'", "a number"}},
        BadConfigCase{R"({"backend": "opencv_dnn", "files": {"model": "m.cfg"},
                          "detector": {"letterbox": 1}})",
                      {"'detector.letterbox'", "a boolean"}},
        BadConfigCase{R"({"backend": "opencv_dnn", "files": {"model": "m.cfg"},
                          "detector": {"confidence_threshold": 1.5}})",
                      {"'detector.confidence_threshold'", "[0, 1]"}},
        BadConfigCase{R"({"backend": "opencv_dnn", "files": {"model": "m.cfg"},
                          "detector": {"format": "yolov9"}})",
                      {"'detector.format'", "yolov9"}},
        BadConfigCase{R"({"backend": "opencv_dnn", "files": {"model": "m.cfg"},
                          "detector": {"class_thresholds": {"person": "low"}}})",
                      {"'detector.class_thresholds.person'", "a number"}},
        BadConfigCase{R"({"backend": "hog", "instances": 2})",
                      {"unknown key 'instances'", "instance_count"}},
        BadConfigCase{R"({"backend": "hog", "hog": {"win_strde": 4}})",
                      {"unknown key 'hog.win_strde'", "win_stride"}},
        BadConfigCase{R"({"backend": "hog", "files": {"modle": "x"}})",
                      {"unknown key 'files.modle'"}},
        BadConfigCase{R"({"backend": "hog", "dynamic_batching": {"preferred_batch_sizes": [0]}})",
                      {"'dynamic_batching.preferred_batch_sizes[]'", "a positive integer"}},
        BadConfigCase{R"({"backend": "opencv_dnn", "files": {"model": "m.onnx"},
                          "hog": {"win_stride": 4}})",
                      {"'hog'", "opencv_dnn"}},
        BadConfigCase{R"({"backend": "hog", "kind": "classifier"})", {"classifier", "opencv_dnn"}},
        BadConfigCase{R"({"name": "m"})", {"missing required key 'backend'"}},
        BadConfigCase{R"({"backend": "tensorflow"})", {"'backend'", "tensorflow"}},
        BadConfigCase{R"({"backend": "opencv_dnn"})", {"'files.model'"}},
        BadConfigCase{R"({"backend": "replay"})", {"'files.labels'"}},
        BadConfigCase{R"({"backend": "hog",)", {"invalid JSON"}},
        BadConfigCase{R"(["hog"])", {"JSON object", "array"}}));

TEST(ModelConfigToJsonTest, RoundTripsThroughParse) {
  auto original = ParseModelConfig(kFullDetector, "yolo/config.json", "yolo");
  ASSERT_TRUE(original.ok()) << original.status();
  const std::string json = ModelConfigToJson(*original);
  EXPECT_THAT(json, HasSubstr("\"confidence_threshold\": 0.3,"));  // not 0.30000001192...
  auto parsed = ParseModelConfig(json, "round trip", "other");
  ASSERT_TRUE(parsed.ok()) << parsed.status() << "\n" << json;
  EXPECT_EQ(ModelConfigToJson(*parsed), json);
  EXPECT_EQ(parsed->name, "yolo");
  EXPECT_EQ(parsed->detector.format, HeadFormat::kYoloV5);
  EXPECT_FLOAT_EQ(parsed->detector.confidence_threshold, 0.3f);
  EXPECT_EQ(parsed->class_thresholds, original->class_thresholds);
  EXPECT_EQ(parsed->preferred_batch_sizes, original->preferred_batch_sizes);
}

TEST(ModelConfigToJsonTest, WritesOnlyTheBackendsOwnSection) {
  ModelConfig config;
  config.name = "people";
  config.backend = "hog";
  config.hog.max_width = 320;
  const std::string json = ModelConfigToJson(config);
  EXPECT_THAT(json, HasSubstr("\"hog\""));
  EXPECT_THAT(json, Not(HasSubstr("\"detector\": {")));
  auto parsed = ParseModelConfig(json, "hog", "people");
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(parsed->hog.max_width, 320);
}

}  // namespace
}  // namespace dnoscope::models
