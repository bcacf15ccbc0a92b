// One rule for which tensors play the classifier's and the detector's roles,
// from metadata alone (what a server reports works like a loaded model).
#include "models/signature.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace dnoscope::models {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

ModelMetadata Classifier(std::vector<TensorSpec> inputs, std::vector<TensorSpec> outputs) {
  ModelMetadata m;
  m.name = "spec";
  m.inputs = std::move(inputs);
  m.outputs = std::move(outputs);
  return m;
}

TEST(ClassifierSignatureTest, SingleInputAndOutputWhateverTheirNames) {
  auto sig = ClassifierSignatureOf(Classifier({{"input_1", DataType::kUint8, {-1, 50, 50, 3}}},
                                              {{"dense_2", DataType::kFp32, {-1, 1}}}));
  ASSERT_TRUE(sig.ok()) << sig.status();
  EXPECT_EQ(sig->image_input, "input_1");
  EXPECT_EQ(sig->confidence_output, "dense_2");
  EXPECT_FALSE(sig->takes_frame_index);
}

TEST(ClassifierSignatureTest, FrameIndexIsNotTheImageAndIsSentWhenDeclared) {
  auto sig = ClassifierSignatureOf(Classifier({{kFrameIndexInput, DataType::kInt64, {-1}},
                                               {"image", DataType::kUint8, {-1, 50, 50, 3}}},
                                              {{"confidence", DataType::kFp32, {-1, 1}}}));
  ASSERT_TRUE(sig.ok()) << sig.status();
  EXPECT_EQ(sig->image_input, "image");
  EXPECT_TRUE(sig->takes_frame_index);
}

TEST(ClassifierSignatureTest, AmongSeveralOutputsConfidenceByNameThenTheOnlyFp32) {
  auto named = ClassifierSignatureOf(Classifier({{"x", DataType::kUint8, {-1, 50, 50, 3}}},
                                                {{"logits", DataType::kFp32, {-1, 2}},
                                                 {"confidence", DataType::kFp32, {-1, 1}}}));
  ASSERT_TRUE(named.ok()) << named.status();
  EXPECT_EQ(named->confidence_output, "confidence");
  auto typed = ClassifierSignatureOf(Classifier({{"x", DataType::kUint8, {-1, 50, 50, 3}}},
                                                {{"argmax", DataType::kInt64, {-1}},
                                                 {"prob", DataType::kFp32, {-1, 1}}}));
  ASSERT_TRUE(typed.ok()) << typed.status();
  EXPECT_EQ(typed->confidence_output, "prob");
  // Outputs produced only on request do not count.
  auto on_request = ClassifierSignatureOf(
      Classifier({{"x", DataType::kUint8, {-1, 50, 50, 3}}},
                 {{"raw", DataType::kFp32, {-1, 9}, false, false, true},
                  {"p", DataType::kFp32, {-1, 1}}}));
  ASSERT_TRUE(on_request.ok()) << on_request.status();
  EXPECT_EQ(on_request->confidence_output, "p");
}

TEST(ClassifierSignatureTest, AmbiguousOrMissingRolesAreInvalidArgumentNamingTheTensors) {
  auto two_images = ClassifierSignatureOf(Classifier(
      {{"a", DataType::kUint8, {-1, 50, 50, 3}}, {"b", DataType::kUint8, {-1, 50, 50, 3}}},
      {{"p", DataType::kFp32, {-1, 1}}}));
  EXPECT_EQ(two_images.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(two_images.status().message()), HasSubstr("a, b"));
  auto two_outputs = ClassifierSignatureOf(
      Classifier({{"a", DataType::kUint8, {-1, 50, 50, 3}}},
                 {{"p", DataType::kFp32, {-1, 1}}, {"q", DataType::kFp32, {-1, 1}}}));
  EXPECT_EQ(two_outputs.status().code(), absl::StatusCode::kInvalidArgument);
  auto detector = ClassifierSignatureOf(Classifier({{"image", DataType::kUint8, {-1, -1, 3}}},
                                                   {{kDetectionsOutput, DataType::kFp32, {-1, 6}}}));
  EXPECT_THAT(std::string(detector.status().message()), HasSubstr("is a detector"));
}

TEST(DetectorSignatureTest, ImageByNameElseTheOnlyUint8Input) {
  ModelMetadata m;
  m.name = "yolo";
  m.inputs = {{"data", DataType::kUint8, {-1, -1, 3}}, {kFrameIndexInput, DataType::kInt64, {1}}};
  m.outputs = {{kDetectionsOutput, DataType::kFp32, {-1, 6}}};
  auto sig = DetectorSignatureOf(m);
  ASSERT_TRUE(sig.ok()) << sig.status();
  EXPECT_EQ(sig->image_input, "data");
  EXPECT_TRUE(sig->takes_frame_index);
  m.inputs.push_back({kImageInput, DataType::kBytes, {1}});
  EXPECT_EQ(DetectorSignatureOf(m)->image_input, kImageInput);
}

TEST(DetectorSignatureTest, WithoutDetectionsOutputIsNotADetector) {
  ModelMetadata m;
  m.name = "spec";
  m.inputs = {{"image", DataType::kUint8, {-1, 50, 50, 3}}};
  m.outputs = {{"confidence", DataType::kFp32, {-1, 1}}};
  auto sig = DetectorSignatureOf(m);
  EXPECT_EQ(sig.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(sig.status().message()), HasSubstr("needs a detector"));
}

TEST(SignatureInputsTest, ClassifierBatchUsesTheImageInputAndFrameIndexWhenTaken) {
  std::vector<cv::Mat> crops = {cv::Mat(4, 4, CV_8UC3, cv::Scalar::all(1)),
                                cv::Mat(4, 4, CV_8UC3, cv::Scalar::all(2))};
  const std::vector<int64_t> frames = {3, 9};
  std::vector<Tensor> in = ClassifierInputs({"images", false, "p"}, crops, frames);
  ASSERT_EQ(in.size(), 1u);
  EXPECT_EQ(in[0].name, "images");
  EXPECT_EQ(in[0].shape, (std::vector<int64_t>{2, 4, 4, 3}));
  in = ClassifierInputs({"image", true, "p"}, crops, frames);
  ASSERT_EQ(in.size(), 2u);
  EXPECT_EQ(in[1].name, kFrameIndexInput);
  EXPECT_EQ(in[1].shape, (std::vector<int64_t>{2}));
  EXPECT_EQ(in[1].Values<int64_t>()[1], 9);
}

TEST(SignatureOutputsTest, ConfidencesAndDetectionsAreReadByName) {
  ClassifierSignature c{"x", false, "p"};
  std::vector<Tensor> outputs = {Tensor::Fp32("other", {2, 1}, std::vector<float>{9, 9}),
                                 Tensor::Fp32("p", {2, 1}, std::vector<float>{0.25f, 0.75f})};
  EXPECT_THAT(*ConfidencesFromOutputs(c, outputs, 2, "m"), ElementsAre(0.25f, 0.75f));
  EXPECT_EQ(ConfidencesFromOutputs(c, outputs, 3, "m").status().code(),
            absl::StatusCode::kInternal);
  DetectorSignature d;
  EXPECT_EQ(DetectionsFromOutputs(d, outputs, "m").status().code(), absl::StatusCode::kInternal);
  outputs.push_back(DetectionsToTensor({{1, 0.5f, 1, 2, 3, 4}}));
  auto boxes = DetectionsFromOutputs(d, outputs, "m");
  ASSERT_TRUE(boxes.ok()) << boxes.status();
  ASSERT_EQ(boxes->size(), 1u);
  EXPECT_EQ((*boxes)[0].class_id, 1);
}

}  // namespace
}  // namespace dnoscope::models
