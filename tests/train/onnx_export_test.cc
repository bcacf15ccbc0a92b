#include "train/onnx_export.h"

#include <cmath>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "models/backends/onnx_info.h"
#include "train/train_fixture.h"
#include "train/trainer.h"

namespace dnoscope::train {
namespace {

using testing::RandomImages;
using testing::RandomModel;

// OpenCV DNN on the exported graph vs libtorch on the same frames.
void ExpectOpenCvMatchesTorch(const TrainedModel& model, const std::vector<uint8_t>& images,
                              int64_t count) {
  absl::StatusOr<std::string> onnx = ExportOnnx(model);
  ASSERT_TRUE(onnx.ok()) << onnx.status();
  absl::StatusOr<std::vector<float>> torch = RunTorchModel(model, images.data(), count);
  ASSERT_TRUE(torch.ok()) << torch.status();
  absl::StatusOr<std::vector<float>> cv =
      RunOnnxWithOpenCv(*onnx, images.data(), count, model.width, model.height);
  ASSERT_TRUE(cv.ok()) << cv.status();
  ASSERT_EQ(cv->size(), static_cast<size_t>(count));
  ASSERT_EQ(torch->size(), static_cast<size_t>(count));
  for (int64_t i = 0; i < count; ++i) {
    EXPECT_NEAR((*cv)[i], (*torch)[i], 1e-4) << "image " << i << " of a batch of " << count;
  }
}

class OnnxBatchTest : public ::testing::TestWithParam<int> {};

TEST_P(OnnxBatchTest, OpenCvMatchesTorchOnTheTrainedModel) {
  const Dataset& data = testing::ClipDataset();
  const int count = GetParam();
  std::vector<uint8_t> images;
  for (int i = 0; i < count; ++i) {
    const uint8_t* image = data.image(data.validation[i % data.validation.size()]);
    images.insert(images.end(), image, image + data.image_bytes());
  }
  ExpectOpenCvMatchesTorch(testing::TinyTrainResult().model, images, count);
}

TEST_P(OnnxBatchTest, OpenCvMatchesTorchOnAFourLayerModel) {
  const TrainedModel model = RandomModel({4, 16, 32}, 50, 50, 3);
  ExpectOpenCvMatchesTorch(model, RandomImages(GetParam(), 50, 50, 11), GetParam());
}

INSTANTIATE_TEST_SUITE_P(BatchSizes, OnnxBatchTest, ::testing::Values(1, 4, 17));

TEST(OnnxExportTest, NonSquareInputMatchesTorch) {
  const TrainedModel model = RandomModel({2, 8, 16}, 64, 36, 5);
  ExpectOpenCvMatchesTorch(model, RandomImages(5, 64, 36, 12), 5);
}

TEST(OnnxExportTest, GraphDeclaresUint8ImagesAndFp32Confidence) {
  absl::StatusOr<std::string> onnx = ExportOnnx(RandomModel({2, 16, 32}, 50, 50, 1));
  ASSERT_TRUE(onnx.ok()) << onnx.status();
  absl::StatusOr<models::OnnxGraphInfo> info = models::ParseOnnxGraphInfo(*onnx);
  ASSERT_TRUE(info.ok()) << info.status();
  ASSERT_EQ(info->inputs.size(), 1u);
  EXPECT_EQ(info->inputs[0].name, "images");
  EXPECT_EQ(info->inputs[0].elem_type, 2);  // UINT8
  EXPECT_EQ(info->inputs[0].dims, (std::vector<int64_t>{-1, 50, 50, 3}));
  ASSERT_EQ(info->outputs.size(), 1u);
  EXPECT_EQ(info->outputs[0].name, "confidence");
  EXPECT_EQ(info->outputs[0].elem_type, 1);  // FLOAT
  EXPECT_EQ(info->outputs[0].dims, (std::vector<int64_t>{-1, 1}));
}

TEST(OnnxExportTest, ConfidencesAreProbabilities) {
  const TrainedModel model = RandomModel({2, 16, 32}, 50, 50, 2);
  absl::StatusOr<std::string> onnx = ExportOnnx(model);
  ASSERT_TRUE(onnx.ok()) << onnx.status();
  const std::vector<uint8_t> images = RandomImages(8, 50, 50, 4);
  absl::StatusOr<std::vector<float>> c = RunOnnxWithOpenCv(*onnx, images.data(), 8, 50, 50);
  ASSERT_TRUE(c.ok()) << c.status();
  for (float v : *c) {
    EXPECT_GE(v, 0.0f);
    EXPECT_LE(v, 1.0f);
  }
}

TEST(OnnxExportTest, InvalidModelsAreRejected) {
  TrainedModel wrong_dense = RandomModel({2, 16, 32}, 50, 50, 1);
  wrong_dense.dense.weight.resize(10);
  TrainedModel missing_conv = RandomModel({2, 16, 32}, 50, 50, 1);
  missing_conv.conv.pop_back();
  TrainedModel not_finite = RandomModel({2, 16, 32}, 50, 50, 1);
  not_finite.output.bias[0] = std::nanf("");
  TrainedModel zero_std = RandomModel({2, 16, 32}, 50, 50, 1);
  zero_std.normalization.std[1] = 0;
  for (const TrainedModel* m : {&wrong_dense, &missing_conv, &not_finite, &zero_std}) {
    EXPECT_EQ(ExportOnnx(*m).status().code(), absl::StatusCode::kInvalidArgument);
  }
}

TEST(OnnxExportTest, OpenCvRejectsBytesThatAreNotOnnx) {
  const std::vector<uint8_t> images = RandomImages(1, 50, 50, 4);
  absl::StatusOr<std::vector<float>> c =
      RunOnnxWithOpenCv("not an onnx file", images.data(), 1, 50, 50);
  EXPECT_EQ(c.status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(OnnxExportTest, CostMeasurementIsPositive) {
  absl::StatusOr<std::string> onnx = ExportOnnx(RandomModel({2, 16, 32}, 50, 50, 1));
  ASSERT_TRUE(onnx.ok()) << onnx.status();
  const std::vector<uint8_t> images = RandomImages(16, 50, 50, 4);
  absl::StatusOr<double> ms =
      MeasureOpenCvMsPerFrame(*onnx, images.data(), 16, 50, 50, 3, Clock::Real());
  ASSERT_TRUE(ms.ok()) << ms.status();
  EXPECT_GT(*ms, 0);
}

}  // namespace
}  // namespace dnoscope::train
