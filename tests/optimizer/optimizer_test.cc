// Optimize on files: a synthetic video, its label CSV, a model repository
// with a replay reference and an ONNX specialized classifier. The written
// config must load unchanged and make the real cascade do what was expected.
#include "optimizer/optimizer.h"

#include <filesystem>

#include "cascade/cascade.h"
#include "common/status_macros.h"
#include "gtest/gtest.h"
#include "models/local_stage.h"
#include "labels/evaluation.h"
#include "models/model_repository.h"
#include "testing/onnx_builder.h"
#include "nlohmann/json.hpp"
#include "optimizer/report.h"
#include "optimizer/test_scenes.h"
#include "testing/fakes.h"
#include "testing/test_env.h"
#include "video/synthetic.h"

namespace dnoscope::optimizer {
namespace {

namespace fs = std::filesystem;
using dnoscope::testing::ScratchDir;
using dnoscope::testing::WriteFile;

class OptimizeTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new ScratchDir();
    video::SynthOptions o{.width = 160, .height = 120, .frames = 300, .seed = 11};
    o.object_rate = 0.03;
    ASSERT_TRUE(video::WriteSyntheticScene(o, dir_->File("scene")).ok());
    const std::string repo = dir_->File("repo");
    fs::create_directories(repo + "/replay/1");
    WriteFile(repo + "/replay/config.json",
              R"({"backend": "replay", "files": {"labels": ")" + Labels() + R"("}})");
    fs::create_directories(repo + "/mean/1");
    WriteFile(repo + "/mean/config.json",
              R"({"backend": "opencv_dnn", "kind": "classifier", "files": {"model": "m.onnx"}})");
    WriteFile(repo + "/mean/1/m.onnx", models::testing::MeanIntensityClassifierOnnx(50, 50));
  }
  static void TearDownTestSuite() { delete dir_; }
  static std::string Labels() { return dir_->File("scene/labels.csv"); }

  static OptimizeOptions Options() {
    OptimizeOptions o;
    o.base.object = "car";
    o.base.model_repository = dir_->File("repo");
    o.base.specialized.model = "mean";
    o.base.reference.model = "replay";
    o.video = dir_->File("scene/video.avi");
    o.range = {100, 260};
    o.labels_path = Labels();
    o.targets = {.max_fp_rate = 0.05, .max_fn_rate = 0.05};
    o.skip_candidates = {1, 2};
    return o;
  }

  static ScratchDir* dir_;
};
ScratchDir* OptimizeTest::dir_ = nullptr;

absl::StatusOr<std::vector<labels::FrameResult>> RunConfig(const cascade::CascadeConfig& config,
                                                           const std::string& video,
                                                           const FrameRange& range) {
  auto load = [&](models::ModelSpec spec) {
    spec.repository = config.model_repository;
    return models::LoadModel(spec);
  };
  std::unique_ptr<models::ModelStage> specialized;
  if (config.specialized_enabled()) {
    DNS_ASSIGN_OR_RETURN(std::unique_ptr<models::Model> model, load(config.specialized));
    specialized = models::MakeLocalStage(std::move(model));
  }
  DNS_ASSIGN_OR_RETURN(std::unique_ptr<models::Model> model, load(config.reference));
  std::unique_ptr<models::ModelStage> reference = models::MakeLocalStage(std::move(model));
  DNS_ASSIGN_OR_RETURN(auto cascade, cascade::Cascade::Create(
                                         config, {}, {specialized.get(), reference.get()}));
  DNS_ASSIGN_OR_RETURN(auto source,
                       video::OpenFrameSource({.uri = video, .range = range, .skip = config.skip}));
  std::vector<labels::FrameResult> rows;
  DNS_RETURN_IF_ERROR(cascade
                          ->Run(*source,
                                [&](const labels::FrameResult& r) {
                                  rows.push_back(r);
                                  return absl::OkStatus();
                                })
                          .status());
  return rows;
}

TEST_F(OptimizeTest, WrittenConfigMakesTheCascadeDoWhatWasExpected) {
  const OptimizeOptions options = Options();
  absl::StatusOr<OptimizeResult> r = Optimize(options, Clock::Real());
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_TRUE(r->search.met_targets) << FormatReport(*r, options);
  EXPECT_EQ(r->frames, 160);
  EXPECT_EQ(r->config.specialized_width, 50);  // from the model's input shape
  EXPECT_EQ(r->reference_agreed, r->reference_checked);

  const std::string path = dir_->File("out/sub/cascade.json");
  ASSERT_TRUE(WriteOptimizedConfig(path, *r, options).ok());
  absl::StatusOr<cascade::CascadeConfig> loaded = cascade::ReadCascadeConfig(path);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ(fs::weakly_canonical(loaded->model_repository),
            fs::weakly_canonical(dir_->File("repo")));
  EXPECT_EQ(loaded->skip, r->config.skip);
  EXPECT_EQ(loaded->diff.threshold, r->config.diff.threshold);
  EXPECT_EQ(loaded->specialized.model, r->config.specialized.model);
  EXPECT_EQ(loaded->c_low, r->config.c_low);
  EXPECT_EQ(loaded->c_high, r->config.c_high);

  absl::StatusOr<std::vector<labels::FrameResult>> rows =
      RunConfig(*loaded, options.video, options.range);
  ASSERT_TRUE(rows.ok()) << rows.status();
  const FrameShares& expected = r->search.chosen.shares;
  std::array<int64_t, labels::kNumFrameStatuses> counts{};
  for (const auto& row : *rows) ++counts[static_cast<int>(row.status)];
  EXPECT_EQ(counts[static_cast<int>(labels::FrameStatus::kSkipped)], expected.skipped);
  EXPECT_EQ(counts[static_cast<int>(labels::FrameStatus::kDiffReused)], expected.diff_reused);
  EXPECT_EQ(counts[static_cast<int>(labels::FrameStatus::kSpecialized)], expected.specialized);
  EXPECT_EQ(counts[static_cast<int>(labels::FrameStatus::kReference)], expected.reference);
  auto truth_rows = labels::ReadLabelCsv(Labels());
  ASSERT_TRUE(truth_rows.ok());
  labels::EvalOptions eo;
  eo.range = options.range;
  auto eval =
      labels::Evaluate(labels::LabelIndex::Build(*truth_rows, {"car", 0, std::nullopt}), *rows, eo);
  ASSERT_TRUE(eval.ok()) << eval.status();
  EXPECT_EQ(eval->false_positives, r->search.chosen.accuracy.frames.fp);
  EXPECT_EQ(eval->false_negatives, r->search.chosen.accuracy.frames.fn);
}

TEST_F(OptimizeTest, ConfigRoundTripsThroughParseCascadeConfig) {
  const OptimizeOptions options = Options();
  absl::StatusOr<OptimizeResult> r = Optimize(options, Clock::Real());
  ASSERT_TRUE(r.ok()) << r.status();
  const std::string out_dir = dir_->File("roundtrip");
  absl::StatusOr<std::string> json = OptimizedConfigJson(*r, options, out_dir);
  ASSERT_TRUE(json.ok()) << json.status();
  const std::string& text = *json;
  absl::StatusOr<cascade::CascadeConfig> parsed = cascade::ParseCascadeConfig(text, "t", out_dir);
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  const cascade::CascadeConfig& c = r->config;
  EXPECT_EQ(parsed->object, c.object);
  EXPECT_EQ(parsed->skip, c.skip);
  EXPECT_EQ(parsed->diff.threshold, c.diff.threshold);
  EXPECT_EQ(parsed->diff.reference, c.diff.reference);
  EXPECT_EQ(parsed->reference.model, "replay");
  EXPECT_EQ(parsed->specialized_enabled(), c.specialized_enabled());
  EXPECT_EQ(parsed->c_low, c.c_low);
  EXPECT_EQ(parsed->c_high, c.c_high);
  EXPECT_EQ(fs::path(parsed->model_repository).lexically_normal(),
            fs::path(dir_->File("repo")).lexically_normal());
  const nlohmann::json report = nlohmann::json::parse(text)["optimizer"];
  for (const char* key : {"fitting_range", "targets", "met_targets", "chosen", "expected",
                          "stage_costs_ms", "stage_cost_sources", "search", "warnings"}) {
    EXPECT_TRUE(report.contains(key)) << key;
  }
  EXPECT_EQ(report["fitting_range"]["frames"], 160);
  EXPECT_EQ(report["chosen"]["skip"], c.skip);
  for (const char* key : {"diff_reused", "specialized", "reference", "skipped"}) {
    EXPECT_TRUE(report["expected"]["shares"].contains(key)) << key;
  }
  EXPECT_GT(report["expected"]["speedup_over_reference"].get<double>(), 0);
}

TEST_F(OptimizeTest, GivenCostsAreUsedAndNotMeasured) {
  OptimizeOptions options = Options();
  options.cost_reference_ms = 250;
  options.reference_timing_frames = 0;
  absl::StatusOr<OptimizeResult> r = Optimize(options, Clock::Real());
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_TRUE(r->given.reference);
  EXPECT_FALSE(r->given.difference);
  EXPECT_EQ(r->costs.reference_ms, 250);
  EXPECT_EQ(r->samples.reference, 0);
  EXPECT_GT(r->speedup, 1);
}

TEST_F(OptimizeTest, LabelsThatDoNotReachTheRangeAreRejected) {
  OptimizeOptions options = Options();
  options.labels_path = dir_->File("short.csv");
  WriteFile(options.labels_path,
            "frame,object_name,confidence,xmin,ymin,xmax,ymax\n"
            "5,car,1,0,0,10,10\n50,car,1,0,0,10,10\n");
  absl::Status s = Optimize(options, Clock::Real()).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("does not cover"), std::string::npos) << s;
}

TEST_F(OptimizeTest, ObjectTheLabelsNeverNameIsRejected) {
  OptimizeOptions options = Options();
  options.base.object = "persn";
  absl::Status s = Optimize(options, Clock::Real()).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("never names object 'persn'"), std::string::npos) << s;
}

TEST_F(OptimizeTest, UnknownSpecializedModelIsNotFound) {
  OptimizeOptions options = Options();
  options.base.specialized.model = "specialized-car";
  EXPECT_EQ(Optimize(options, Clock::Real()).status().code(), absl::StatusCode::kNotFound);
}

TEST_F(OptimizeTest, BadTargetsAndRangesAreRejectedBeforeReading) {
  OptimizeOptions options = Options();
  options.targets.max_fn_rate = -0.1;
  EXPECT_EQ(Optimize(options, Clock::Real()).status().code(), absl::StatusCode::kInvalidArgument);
  options = Options();
  options.range = {100, 100};
  EXPECT_EQ(Optimize(options, Clock::Real()).status().code(), absl::StatusCode::kInvalidArgument);
  options = Options();
  options.skip_candidates = {};
  EXPECT_EQ(Optimize(options, Clock::Real()).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(OptimizeWithModelsTest, UnreachableTargetsGiveTheFlaggedFallbackConfig) {
  // Truth that flips on repeated (identical) frames: even t_diff 0 reuses wrongly.
  const testing::Scene scene = testing::MakeScene({.frames = 120, .repeat_probability = 0.8});
  std::vector<labels::Detection> rows;
  for (int64_t f = 0; f < 120; f += 3) rows.push_back({f, "person", 1, 1, 1, 2, 2});
  const labels::LabelIndex truth =
      labels::LabelIndex::Build(rows, {"person", 0, std::nullopt}, 120);
  dnoscope::testing::FakeFrameSource source(scene.frames, testing::kSceneWidth,
                                            testing::kSceneHeight);
  testing::MeanRedClassifier classifier;
  dnoscope::testing::FakeDetector detector(scene.boxes, {"person"});
  OptimizeOptions options;
  options.base.specialized.model = "mean_red";
  options.base.diff.width = 16;
  options.base.diff.height = 12;
  options.targets = {.max_fp_rate = 0, .max_fn_rate = 0};
  absl::StatusOr<OptimizeResult> r =
      OptimizeWithModels(source, {&classifier, &detector}, truth, options, Clock::Real());
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_FALSE(r->search.met_targets);
  EXPECT_EQ(r->config.skip, 1);
  EXPECT_EQ(r->config.diff.threshold, 0);
  EXPECT_FALSE(r->config.specialized_enabled());
  ASSERT_FALSE(r->warnings.empty());
  EXPECT_NE(r->warnings[0].find("no setting meets"), std::string::npos);
  absl::StatusOr<std::string> text = OptimizedConfigJson(*r, options, ".");
  ASSERT_TRUE(text.ok()) << text.status();
  const nlohmann::json j = nlohmann::json::parse(*text);
  EXPECT_EQ(j["optimizer"]["met_targets"], false);
  EXPECT_EQ(j["optimizer"]["fallback"], true);
  EXPECT_FALSE(j.contains("specialized"));
  EXPECT_NE(FormatReport(*r, options).find("WARNING: no setting meets"), std::string::npos);
}

TEST(OptimizeWithModelsTest, EmptyRangeIsRejected) {
  dnoscope::testing::FakeFrameSource empty({}, testing::kSceneWidth, testing::kSceneHeight);
  OptimizeOptions options;
  options.cost_reference_ms = 1;
  absl::Status s =
      OptimizeWithModels(empty, {}, labels::LabelIndex::Build({}, {}, 0), options, Clock::Real())
          .status();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("no frames"), std::string::npos) << s;
}

}  // namespace
}  // namespace dnoscope::optimizer
