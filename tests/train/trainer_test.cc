#include "train/trainer.h"

#include <algorithm>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "train/train_fixture.h"

namespace dnoscope::train {
namespace {

using testing::ClipDataset;
using ::testing::HasSubstr;
using testing::TinyTrainOptions;

bool SameWeights(const TrainedModel& a, const TrainedModel& b) {
  if (a.conv.size() != b.conv.size()) return false;
  for (size_t i = 0; i < a.conv.size(); ++i) {
    if (a.conv[i].weight != b.conv[i].weight || a.conv[i].bias != b.conv[i].bias) return false;
  }
  return a.dense.weight == b.dense.weight && a.dense.bias == b.dense.bias &&
         a.output.weight == b.output.weight && a.output.bias == b.output.bias;
}

TEST(TrainerTest, SameSeedGivesIdenticalWeightsAndLosses) {
  TrainOptions o = TinyTrainOptions();
  o.max_epochs = 2;
  absl::StatusOr<TrainResult> a = TrainGrid(ClipDataset(), o);
  absl::StatusOr<TrainResult> b = TrainGrid(ClipDataset(), o);
  ASSERT_TRUE(a.ok()) << a.status();
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_TRUE(SameWeights(a->model, b->model));
  EXPECT_EQ(a->candidates[0].validation_loss, b->candidates[0].validation_loss);
  EXPECT_EQ(a->candidates[0].train_loss, b->candidates[0].train_loss);

  o.seed = 2;
  absl::StatusOr<TrainResult> c = TrainGrid(ClipDataset(), o);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_FALSE(SameWeights(a->model, c->model));
}

TEST(TrainerTest, LearnsTheSyntheticSceneWellAboveTheMajorityRate) {
  const Dataset& data = ClipDataset();
  const ClassBalance v = data.Balance(data.validation);
  const double majority =
      static_cast<double>(std::max(v.positives, v.negatives)) / static_cast<double>(v.total());
  const CandidateResult& c = testing::TinyTrainResult().candidates.at(0);
  EXPECT_GE(c.validation_accuracy, std::max(0.9, majority + 0.15))
      << "majority rate " << majority << ", validation loss " << c.validation_loss;
  EXPECT_GE(c.validation_balanced_accuracy, 0.85);
  EXPECT_LT(c.validation_loss, 0.4);
}

TEST(TrainerTest, ReportsEpochsNormalizationAndClassWeight) {
  const TrainResult& r = testing::TinyTrainResult();
  const Dataset& data = ClipDataset();
  ASSERT_EQ(r.candidates.size(), 1u);
  const CandidateResult& c = r.candidates[0];
  EXPECT_GE(c.best_epoch, 1);
  EXPECT_LE(c.best_epoch, c.epochs);
  EXPECT_LE(c.epochs, TinyTrainOptions().max_epochs);
  EXPECT_EQ(c.multiply_adds, c.architecture.MultiplyAdds(50, 50));
  const ClassBalance t = data.Balance(data.train);
  EXPECT_DOUBLE_EQ(r.positive_weight,
                   static_cast<double>(t.negatives) / static_cast<double>(t.positives));
  const Normalization expected = ComputeNormalization(data, data.train);
  EXPECT_EQ(r.model.normalization.mean, expected.mean);
  EXPECT_EQ(r.model.normalization.std, expected.std);
  EXPECT_TRUE(ValidateTrainedModel(r.model).ok());
}

TEST(TrainerTest, ProgressIsReportedAfterEveryEpoch) {
  TrainOptions o = TinyTrainOptions();
  o.max_epochs = 2;
  o.filters = {4, 8};
  std::vector<TrainProgress> seen;
  absl::StatusOr<TrainResult> r =
      TrainGrid(ClipDataset(), o, [&](const TrainProgress& p) { seen.push_back(p); });
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(seen.size(), 4u);
  EXPECT_EQ(seen[0].candidate, 0);
  EXPECT_EQ(seen[0].epoch, 1);
  EXPECT_FALSE(seen[0].finished);
  EXPECT_TRUE(seen[1].finished);
  EXPECT_EQ(seen[3].candidate, 1);
  EXPECT_EQ(seen[3].candidates, 2);
  EXPECT_EQ(seen[3].architecture.filters, 8);
}

TEST(TrainerTest, ChoosesTheLowestValidationLossAndTimesEveryCandidate) {
  TrainOptions o = TinyTrainOptions();
  o.max_epochs = 3;
  o.filters = {4, 8};
  o.loss_tie_tolerance = 0;
  o.measure_cost = true;
  o.cost_batch_size = 8;
  o.cost_repetitions = 2;
  absl::StatusOr<TrainResult> r = TrainGrid(ClipDataset(), o);
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->candidates.size(), 2u);
  const auto best = std::min_element(
      r->candidates.begin(), r->candidates.end(),
      [](const auto& a, const auto& b) { return a.validation_loss < b.validation_loss; });
  EXPECT_EQ(r->chosen, best - r->candidates.begin());
  EXPECT_EQ(r->model.architecture, best->architecture);
  for (const CandidateResult& c : r->candidates) EXPECT_GT(c.inference_ms_per_frame, 0);
}

TEST(TrainerTest, TiedLossesPickTheCheaperModel) {
  TrainOptions o = TinyTrainOptions();
  o.max_epochs = 2;
  o.filters = {8, 4};  // the cheaper one second in grid order
  o.loss_tie_tolerance = 1e9;
  absl::StatusOr<TrainResult> r = TrainGrid(ClipDataset(), o);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->chosen, 1);
  EXPECT_EQ(r->model.architecture.filters, 4);
}

TEST(TrainerTest, RmsPropAndUnweightedLossTrain) {
  TrainOptions o = TinyTrainOptions();
  o.max_epochs = 2;
  o.optimizer = OptimizerKind::kRmsProp;
  o.class_weighting = false;
  absl::StatusOr<TrainResult> r = TrainGrid(ClipDataset(), o);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->positive_weight, 1.0);
  EXPECT_TRUE(std::isfinite(r->candidates[0].validation_loss));
}

TEST(TrainerTest, ExpandGridKeepsOrderAndDropsDuplicates) {
  TrainOptions o;
  o.conv_layers = {2, 4};
  o.filters = {16, 16};
  o.dense_units = {32};
  absl::StatusOr<std::vector<Architecture>> grid = ExpandGrid(o, 50, 50);
  ASSERT_TRUE(grid.ok()) << grid.status();
  ASSERT_EQ(grid->size(), 2u);
  EXPECT_EQ((*grid)[0].Name(), "conv2x16-dense32");
  EXPECT_EQ((*grid)[1].Name(), "conv4x16-dense32");
}

TEST(TrainerTest, BadOptionsAreInvalidArgument) {
  struct Case {
    const char* name;
    void (*edit)(TrainOptions*);
  };
  const Case cases[] = {
      {"empty grid", [](TrainOptions* o) { o->filters.clear(); }},
      {"zero epochs", [](TrainOptions* o) { o->max_epochs = 0; }},
      {"zero patience", [](TrainOptions* o) { o->patience = 0; }},
      {"zero batch", [](TrainOptions* o) { o->batch_size = 0; }},
      {"negative learning rate", [](TrainOptions* o) { o->learning_rate = -1; }},
      {"5 conv layers", [](TrainOptions* o) { o->conv_layers = {5}; }},
      {"zero dense units", [](TrainOptions* o) { o->dense_units = {0}; }},
  };
  for (const Case& c : cases) {
    TrainOptions o = TinyTrainOptions();
    c.edit(&o);
    EXPECT_EQ(TrainGrid(ClipDataset(), o).status().code(), absl::StatusCode::kInvalidArgument)
        << c.name;
  }
}

TEST(TrainerTest, InputPooledAwayIsInvalidArgument) {
  TrainOptions o;
  o.conv_layers = {4};
  absl::StatusOr<std::vector<Architecture>> grid = ExpandGrid(o, 12, 12);
  EXPECT_EQ(grid.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(grid.status().message(), HasSubstr("pooled away"));
}

TEST(TrainerTest, DatasetWithoutValidationIsRefused) {
  Dataset data = ClipDataset();
  data.train.insert(data.train.end(), data.validation.begin(), data.validation.end());
  data.validation.clear();
  EXPECT_EQ(TrainGrid(data, TinyTrainOptions()).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(TrainerTest, NormalizationIsPerChannelMeanAndStdOfUnitPixels) {
  Dataset data;
  data.width = 2;
  data.height = 1;
  // Two images: B channel 0 and 255 (mean 0.5, std 0.5); G constant 51; R 0/255/255/0.
  data.pixels = {0, 51, 0, 255, 51, 255, 0, 51, 255, 255, 51, 0};
  data.labels = {0, 1};
  const std::vector<int64_t> all = {0, 1};
  const Normalization n = ComputeNormalization(data, all);
  EXPECT_NEAR(n.mean[0], 0.5, 1e-6);
  EXPECT_NEAR(n.std[0], 0.5, 1e-6);
  EXPECT_NEAR(n.mean[1], 0.2, 1e-6);
  EXPECT_EQ(n.std[1], kMinStd);
  EXPECT_NEAR(n.mean[2], 0.5, 1e-6);
}

TEST(TrainerTest, OptimizerNamesParse) {
  EXPECT_EQ(ParseOptimizerKind("adam").value(), OptimizerKind::kAdam);
  EXPECT_EQ(ParseOptimizerKind("rmsprop").value(), OptimizerKind::kRmsProp);
  EXPECT_EQ(ParseOptimizerKind("sgd").status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(TrainerTest, RunTorchModelRejectsAnInvalidModel) {
  TrainedModel m = testing::TinyTrainResult().model;
  m.dense.weight.pop_back();
  const std::vector<uint8_t> image(50 * 50 * 3, 0);
  EXPECT_EQ(RunTorchModel(m, image.data(), 1).status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace dnoscope::train
