#include "models/triton_export.h"

#include <filesystem>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "testing/onnx_builder.h"
#include "testing/test_env.h"

namespace dnoscope::models {
namespace {

using ::dnoscope::testing::ReadFileOrEmpty;
using ::dnoscope::testing::ScratchDir;
using ::dnoscope::testing::WriteFile;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

namespace fs = std::filesystem;

constexpr int kFloat = 1;
constexpr int kUint8 = 2;

// The graph `dnoscope train` exports: "images" UINT8 [N,50,50,3] ->
// "confidence" FP32 [N,1].
OnnxGraphInfo ClassifierGraph() {
  OnnxGraphInfo g;
  g.inputs = {{"images", kUint8, {-1, 50, 50, 3}}};
  g.outputs = {{"confidence", kFloat, {-1, 1}}};
  return g;
}

TEST(TritonDataTypeTest, MapsOnnxElementTypes) {
  EXPECT_EQ(*TritonDataType(1), "TYPE_FP32");
  EXPECT_EQ(*TritonDataType(2), "TYPE_UINT8");
  EXPECT_EQ(*TritonDataType(6), "TYPE_INT32");
  EXPECT_EQ(*TritonDataType(7), "TYPE_INT64");
  EXPECT_EQ(*TritonDataType(8), "TYPE_STRING");
  EXPECT_EQ(*TritonDataType(10), "TYPE_FP16");
  EXPECT_EQ(*TritonDataType(16), "TYPE_BF16");
  EXPECT_EQ(TritonDataType(0).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(TritonDataType(14).status().code(), absl::StatusCode::kInvalidArgument);  // COMPLEX64
}

TEST(MakeTritonConfigTest, SymbolicFirstDimensionBecomesTheBatchDimension) {
  absl::StatusOr<TritonModelConfig> c = MakeTritonConfig(ClassifierGraph(), "car", 64, {});
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->name, "car");
  EXPECT_EQ(c->max_batch_size, 64);
  ASSERT_EQ(c->inputs.size(), 1u);
  EXPECT_EQ(c->inputs[0].name, "images");
  EXPECT_EQ(c->inputs[0].data_type, "TYPE_UINT8");
  EXPECT_THAT(c->inputs[0].dims, ElementsAre(50, 50, 3));
  ASSERT_EQ(c->outputs.size(), 1u);
  EXPECT_EQ(c->outputs[0].name, "confidence");
  EXPECT_EQ(c->outputs[0].data_type, "TYPE_FP32");
  EXPECT_THAT(c->outputs[0].dims, ElementsAre(1));
  EXPECT_FALSE(c->outputs[0].reshape_to_scalar);
}

TEST(MakeTritonConfigTest, FixedFirstDimensionKeepsFullShapesWithoutBatching) {
  OnnxGraphInfo g = ClassifierGraph();
  g.inputs[0].dims = {1, 50, 50, 3};
  g.outputs[0].dims = {1, 1};
  absl::StatusOr<TritonModelConfig> c = MakeTritonConfig(g, "car", 64, {});
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->max_batch_size, 0);
  EXPECT_THAT(c->inputs[0].dims, ElementsAre(1, 50, 50, 3));
  EXPECT_THAT(c->outputs[0].dims, ElementsAre(1, 1));
  EXPECT_THAT(TritonConfigToPbtxt(*c), ::testing::Not(HasSubstr("dynamic_batching")));
}

TEST(MakeTritonConfigTest, OneFixedTensorDisablesBatching) {
  OnnxGraphInfo g = ClassifierGraph();
  g.outputs[0].dims = {4, 1};
  absl::StatusOr<TritonModelConfig> c = MakeTritonConfig(g, "car", 64, {});
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->max_batch_size, 0);
  EXPECT_THAT(c->inputs[0].dims, ElementsAre(-1, 50, 50, 3));
}

TEST(MakeTritonConfigTest, PerItemScalarIsReshapedFromOneElement) {
  OnnxGraphInfo g = ClassifierGraph();
  g.outputs[0].dims = {-1};
  absl::StatusOr<TritonModelConfig> c = MakeTritonConfig(g, "car", 8, {});
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_THAT(c->outputs[0].dims, ElementsAre(1));
  EXPECT_TRUE(c->outputs[0].reshape_to_scalar);
  EXPECT_THAT(TritonConfigToPbtxt(*c), HasSubstr("dims: [ 1 ]\n    reshape: { shape: [ ] }\n"));
}

TEST(MakeTritonConfigTest, VariableInnerDimensionsStayVariable) {
  OnnxGraphInfo g = ClassifierGraph();
  g.inputs[0].dims = {-1, -1, -1, 3};
  absl::StatusOr<TritonModelConfig> c = MakeTritonConfig(g, "car", 8, {});
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_THAT(c->inputs[0].dims, ElementsAre(-1, -1, 3));
}

TEST(MakeTritonConfigTest, RejectsWhatTritonCannotDescribe) {
  OnnxGraphInfo no_shape = ClassifierGraph();
  no_shape.inputs[0].dims.clear();
  absl::Status s = MakeTritonConfig(no_shape, "car", 8, {}).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("'images' declares no shape"));

  OnnxGraphInfo bad_type = ClassifierGraph();
  bad_type.outputs[0].elem_type = 0;
  s = MakeTritonConfig(bad_type, "car", 8, {}).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("'confidence'"));

  OnnxGraphInfo no_outputs = ClassifierGraph();
  no_outputs.outputs.clear();
  EXPECT_EQ(MakeTritonConfig(no_outputs, "car", 8, {}).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(MakeTritonConfig(ClassifierGraph(), "car", 0, {}).status().code(),
            absl::StatusCode::kInvalidArgument);

  ModelConfig serving;
  serving.preferred_batch_sizes = {4, 16};
  s = MakeTritonConfig(ClassifierGraph(), "car", 8, serving).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("preferred batch size 16"));
}

TEST(TritonConfigToPbtxtTest, WritesTheOnnxRuntimeConfig) {
  ModelConfig serving;
  serving.instance_count = 2;
  serving.max_queue_delay_us = 500;
  serving.preferred_batch_sizes = {8, 16};
  absl::StatusOr<TritonModelConfig> c = MakeTritonConfig(ClassifierGraph(), "car", 32, serving);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(TritonConfigToPbtxt(*c),
            "name: \"car\"\n"
            "platform: \"onnxruntime_onnx\"\n"
            "backend: \"onnxruntime\"\n"
            "max_batch_size: 32\n"
            "input [\n"
            "  {\n"
            "    name: \"images\"\n"
            "    data_type: TYPE_UINT8\n"
            "    dims: [ 50, 50, 3 ]\n"
            "  }\n"
            "]\n"
            "output [\n"
            "  {\n"
            "    name: \"confidence\"\n"
            "    data_type: TYPE_FP32\n"
            "    dims: [ 1 ]\n"
            "  }\n"
            "]\n"
            "instance_group [\n"
            "  {\n"
            "    count: 2\n"
            "  }\n"
            "]\n"
            "dynamic_batching {\n"
            "  preferred_batch_size: [ 8, 16 ]\n"
            "  max_queue_delay_microseconds: 500\n"
            "}\n");
}

TEST(TritonConfigToPbtxtTest, ListsEveryTensorAndEscapesNames) {
  OnnxGraphInfo g = ClassifierGraph();
  g.inputs.push_back({"frame \"index\"\\", 7, {-1}});
  absl::StatusOr<TritonModelConfig> c = MakeTritonConfig(g, "car", 4, {});
  ASSERT_TRUE(c.ok()) << c.status();
  const std::string text = TritonConfigToPbtxt(*c);
  EXPECT_THAT(text, HasSubstr("    dims: [ 50, 50, 3 ]\n  },\n  {\n"
                              "    name: \"frame \\\"index\\\"\\\\\"\n"
                              "    data_type: TYPE_INT64\n"));
  EXPECT_THAT(text, HasSubstr("dynamic_batching {\n}\n"));
}

// A dnoscope repository holding the ONNX classifier of the test builder.
class ExportForTritonTest : public ::testing::Test {
 protected:
  void AddOnnxModel(const std::string& name, int version, const std::string& onnx,
                    const std::string& config = R"({"backend": "opencv_dnn", "kind": "classifier",
                        "files": {"model": "net.onnx"}, "max_batch_size": 16})") {
    fs::create_directories(dir_.File("repo/" + name + "/" + std::to_string(version)));
    WriteFile(dir_.File("repo/" + name + "/config.json"), config);
    WriteFile(dir_.File("repo/" + name + "/" + std::to_string(version) + "/net.onnx"), onnx);
  }
  TritonExportOptions Options(const std::string& model) const {
    TritonExportOptions o;
    o.repository = dir_.File("repo");
    o.model = model;
    o.triton_repository = dir_.File("triton");
    return o;
  }

  ScratchDir dir_;
  const std::string onnx_ = testing::MeanIntensityClassifierOnnx(20, 30);
};

TEST_F(ExportForTritonTest, WritesConfigAndGraphUnderTheSameVersion) {
  AddOnnxModel("car", 3, onnx_);
  absl::StatusOr<TritonExport> e = ExportForTriton(Options("car"));
  ASSERT_TRUE(e.ok()) << e.status();
  EXPECT_EQ(e->version, 3);
  EXPECT_EQ(e->config_path, dir_.File("triton/car/config.pbtxt"));
  EXPECT_EQ(e->onnx_path, dir_.File("triton/car/3/model.onnx"));
  EXPECT_EQ(ReadFileOrEmpty(e->onnx_path), onnx_);
  const std::string pbtxt = ReadFileOrEmpty(e->config_path);
  EXPECT_EQ(pbtxt, TritonConfigToPbtxt(e->config));
  EXPECT_THAT(pbtxt, HasSubstr("name: \"car\"\n"));
  EXPECT_THAT(pbtxt, HasSubstr("max_batch_size: 16\n"));  // config.json's
  EXPECT_THAT(pbtxt, HasSubstr("name: \"images\"\n    data_type: TYPE_UINT8\n"
                               "    dims: [ 20, 30, 3 ]\n"));
  EXPECT_THAT(pbtxt, HasSubstr("name: \"confidence\"\n    data_type: TYPE_FP32\n"
                               "    dims: [ 1 ]\n"));
  // Nothing but the config and the version folder (no staging leftovers).
  std::vector<std::string> entries;
  for (const auto& entry : fs::directory_iterator(dir_.File("triton/car"))) {
    entries.push_back(entry.path().filename().string());
  }
  std::sort(entries.begin(), entries.end());
  EXPECT_THAT(entries, ElementsAre("3", "config.pbtxt"));
}

TEST_F(ExportForTritonTest, OptionsChooseVersionNameAndBatchSize) {
  AddOnnxModel("car", 1, onnx_);
  AddOnnxModel("car", 2, testing::MeanIntensityClassifierOnnx(40, 30));
  TritonExportOptions o = Options("car");
  o.version = 1;
  o.triton_name = "car-triton";
  o.max_batch_size = 8;
  absl::StatusOr<TritonExport> e = ExportForTriton(o);
  ASSERT_TRUE(e.ok()) << e.status();
  EXPECT_EQ(e->onnx_path, dir_.File("triton/car-triton/1/model.onnx"));
  EXPECT_THAT(ReadFileOrEmpty(e->config_path),
              HasSubstr("name: \"car-triton\"\nplatform: \"onnxruntime_onnx\"\n"
                        "backend: \"onnxruntime\"\nmax_batch_size: 8\n"));
  EXPECT_THAT(ReadFileOrEmpty(e->config_path), HasSubstr("dims: [ 20, 30, 3 ]"));
  EXPECT_EQ(ReadFileOrEmpty(e->onnx_path), onnx_);
}

TEST_F(ExportForTritonTest, FixedBatchGraphIsExportedUnbatched) {
  AddOnnxModel("fixed", 1, testing::MeanIntensityClassifierOnnx(20, 30, /*fixed_batch=*/1));
  absl::StatusOr<TritonExport> e = ExportForTriton(Options("fixed"));
  ASSERT_TRUE(e.ok()) << e.status();
  const std::string pbtxt = ReadFileOrEmpty(e->config_path);
  EXPECT_THAT(pbtxt, HasSubstr("max_batch_size: 0\n"));
  EXPECT_THAT(pbtxt, HasSubstr("dims: [ 1, 20, 30, 3 ]"));
  EXPECT_THAT(pbtxt, HasSubstr("dims: [ 1, 1 ]"));
}

TEST_F(ExportForTritonTest, ExportingTwiceIsHarmless) {
  AddOnnxModel("car", 1, onnx_);
  ASSERT_TRUE(ExportForTriton(Options("car")).ok());
  absl::StatusOr<TritonExport> again = ExportForTriton(Options("car"));
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(ReadFileOrEmpty(again->onnx_path), onnx_);
}

TEST_F(ExportForTritonTest, RefusesToReplaceAnotherGraphAtTheSameVersion) {
  AddOnnxModel("car", 1, onnx_);
  fs::create_directories(dir_.File("triton/car/1"));
  WriteFile(dir_.File("triton/car/1/model.onnx"), "another graph");
  absl::Status s = ExportForTriton(Options("car")).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(ReadFileOrEmpty(dir_.File("triton/car/1/model.onnx")), "another graph");
}

TEST_F(ExportForTritonTest, RefusesAConfigChangeOtherVersionsDependOn) {
  AddOnnxModel("car", 1, onnx_);
  ASSERT_TRUE(ExportForTriton(Options("car")).ok());
  const std::string before = ReadFileOrEmpty(dir_.File("triton/car/config.pbtxt"));
  // Version 2 takes another input size: Triton would serve version 1 with it.
  AddOnnxModel("car", 2, testing::MeanIntensityClassifierOnnx(40, 30));
  absl::Status s = ExportForTriton(Options("car")).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(s.message(), HasSubstr("versions 1"));
  EXPECT_EQ(ReadFileOrEmpty(dir_.File("triton/car/config.pbtxt")), before);
  EXPECT_FALSE(fs::exists(dir_.File("triton/car/2")));
}

TEST_F(ExportForTritonTest, NewVersionWithTheSameConfigIsAdded) {
  AddOnnxModel("car", 1, onnx_);
  ASSERT_TRUE(ExportForTriton(Options("car")).ok());
  AddOnnxModel("car", 2, onnx_);
  absl::StatusOr<TritonExport> e = ExportForTriton(Options("car"));
  ASSERT_TRUE(e.ok()) << e.status();
  EXPECT_EQ(e->version, 2);
  EXPECT_TRUE(fs::exists(dir_.File("triton/car/1/model.onnx")));
  EXPECT_TRUE(fs::exists(dir_.File("triton/car/2/model.onnx")));
}

TEST_F(ExportForTritonTest, ClearErrorsForModelsItCannotExport) {
  fs::create_directories(dir_.File("repo/people/1"));
  WriteFile(dir_.File("repo/people/config.json"), R"({"backend": "hog"})");
  absl::Status s = ExportForTriton(Options("people")).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(s.message(), HasSubstr("only ONNX models"));

  AddOnnxModel("car", 1, onnx_);
  s = ExportForTriton(Options("bus")).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(s.message(), HasSubstr("no model 'bus'"));

  TritonExportOptions o = Options("car");
  o.version = 5;
  EXPECT_EQ(ExportForTriton(o).status().code(), absl::StatusCode::kNotFound);
  o = Options("car");
  o.triton_name = "../escape";
  EXPECT_EQ(ExportForTriton(o).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_FALSE(fs::exists(dir_.File("triton")));

  AddOnnxModel("garbage", 1, "not an onnx model");
  s = ExportForTriton(Options("garbage")).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("net.onnx"));
}

}  // namespace
}  // namespace dnoscope::models
