#include "labels/evaluation.h"

#include <set>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

namespace dnoscope::labels {
namespace {

using ::testing::HasSubstr;

// Truth index over `num_frames` frames, positive exactly at `positives`.
LabelIndex Truth(const std::set<int64_t>& positives, int64_t num_frames) {
  std::vector<Detection> detections;
  for (int64_t f : positives) detections.push_back({f, "car", 1, 0, 0, 1, 1});
  return LabelIndex::Build(detections, LabelFilter{}, num_frames);
}

// One prediction per frame in [start, end), positive exactly at `positives`.
std::vector<FrameResult> Predictions(const std::set<int64_t>& positives, int64_t start,
                                     int64_t end) {
  std::vector<FrameResult> results;
  for (int64_t f = start; f < end; ++f) results.push_back({f, positives.count(f) > 0});
  return results;
}

TEST(EvaluationTest, CountsAndRatesPerFrameAndWindow) {
  // Frame:  0 1 2 3 4 5 6 7 8 9
  // Truth:  . + + + . . + . . .
  // Pred:   . . + + + . . + . .
  // TP {2,3}, FP {4,7}, FN {1,6}, TN {0,5,8,9}.
  const LabelIndex truth = Truth({1, 2, 3, 6}, 10);
  const auto predictions = Predictions({2, 3, 4, 7}, 0, 10);
  // Windows [0,4) [4,8) [8,10): need 3, 3, ceil(3*2/4) = 2 positives.
  // Truth windows: +, -, -. Predicted: - (2 < 3), - (2 < 3), -.
  auto result = Evaluate(truth, predictions, {.window = 4, .window_min_positive = 3});
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->frames, 10);
  EXPECT_EQ(result->true_positives, 2);
  EXPECT_EQ(result->false_positives, 2);
  EXPECT_EQ(result->true_negatives, 4);
  EXPECT_EQ(result->false_negatives, 2);
  EXPECT_DOUBLE_EQ(result->fp_rate, 2.0 / 6.0);
  EXPECT_DOUBLE_EQ(result->fn_rate, 2.0 / 4.0);
  EXPECT_DOUBLE_EQ(result->accuracy, 0.6);
  EXPECT_EQ(result->windows, 3);
  EXPECT_DOUBLE_EQ(result->window_fp_rate, 0.0);
  EXPECT_DOUBLE_EQ(result->window_fn_rate, 1.0);
  EXPECT_DOUBLE_EQ(result->window_accuracy, 2.0 / 3.0);
}

TEST(EvaluationTest, ShortLastWindowThresholdIsScaledAndRoundedUp) {
  // 14 frames, window 10, 7 needed: last window [10,14) needs ceil(7*4/10) = 3.
  const LabelIndex truth = Truth({10, 11, 12}, 14);       // 3 of 4: positive
  const auto predictions = Predictions({10, 11}, 0, 14);  // 2 of 4: negative
  auto result = Evaluate(truth, predictions, {.window = 10, .window_min_positive = 7});
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->windows, 2);
  EXPECT_DOUBLE_EQ(result->window_fn_rate, 1.0);
  EXPECT_DOUBLE_EQ(result->window_accuracy, 0.5);

  // A single frame left over needs ceil(7*1/10) = 1 positive.
  auto one_left =
      Evaluate(Truth({10}, 11), Predictions({10}, 0, 11), {.window = 10, .window_min_positive = 7});
  ASSERT_TRUE(one_left.ok()) << one_left.status();
  EXPECT_EQ(one_left->windows, 2);
  EXPECT_DOUBLE_EQ(one_left->window_accuracy, 1.0);
  EXPECT_DOUBLE_EQ(one_left->window_fn_rate, 0.0);
}

TEST(EvaluationTest, RangeSelectsFramesAndIgnoresOtherPredictions) {
  const LabelIndex truth = Truth({5, 6}, 20);
  // Predictions cover 0..19, but only [4, 8) is evaluated.
  auto predictions = Predictions({0, 1, 5, 15}, 0, 20);
  EvalOptions options{.range = {.start = 4, .end = 8}, .window = 2, .window_min_positive = 1};
  auto result = Evaluate(truth, predictions, options);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->frames, 4);
  EXPECT_EQ(result->true_positives, 1);   // 5
  EXPECT_EQ(result->false_negatives, 1);  // 6
  EXPECT_EQ(result->true_negatives, 2);   // 4, 7
  EXPECT_EQ(result->windows, 2);          // [4,6) and [6,8)
}

TEST(EvaluationTest, RangeEndDefaultsToLastPredictedFramePlusOne) {
  // Truth extends past the predictions; frames past truth.num_frames() are negative.
  auto result = Evaluate(Truth({1}, 100), Predictions({1}, 0, 7), {.window = 30});
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->frames, 7);
  EXPECT_EQ(result->windows, 1);
  auto past_truth = Evaluate(Truth({1}, 2), Predictions({5}, 0, 7), {.window = 30});
  ASSERT_TRUE(past_truth.ok()) << past_truth.status();
  EXPECT_EQ(past_truth->false_positives, 1);
}

TEST(EvaluationTest, RatesAreZeroWhenDenominatorsAreZero) {
  auto result = Evaluate(Truth({}, 5), Predictions({}, 0, 5), {});
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->fn_rate, 0.0);
  EXPECT_EQ(result->fp_rate, 0.0);
  EXPECT_EQ(result->accuracy, 1.0);
}

TEST(EvaluationTest, MissingFrameIsNamed) {
  auto predictions = Predictions({}, 0, 10);
  predictions.erase(predictions.begin() + 6);
  auto result = Evaluate(Truth({}, 10), predictions, {.range = {.start = 0, .end = 10}});
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(result.status().message()), HasSubstr("no prediction for frame 6"));
}

TEST(EvaluationTest, EndPastTheLastPredictedFrameIsClippedAndSaidSo) {
  // A run over 0:12 of a 10-frame video predicts frames 0..9.
  auto result = Evaluate(Truth({3}, 10), Predictions({3}, 0, 10), {.range = {.start = 0, .end = 12}});
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_TRUE(result->end_clipped);
  EXPECT_EQ(result->end, 10);
  EXPECT_EQ(result->frames, 10);
  // A gap before the last predicted frame is still an error.
  auto gap = Predictions({}, 0, 10);
  gap.erase(gap.begin() + 4);
  EXPECT_THAT(std::string(Evaluate(Truth({}, 10), gap, {.range = {.start = 0, .end = 12}})
                              .status()
                              .message()),
              HasSubstr("no prediction for frame 4"));
  auto exact = Evaluate(Truth({}, 10), Predictions({}, 0, 10), {.range = {.start = 0, .end = 10}});
  ASSERT_TRUE(exact.ok());
  EXPECT_FALSE(exact->end_clipped);
}

TEST(EvaluationTest, RejectsDuplicatesEmptyRangesAndBadWindows) {
  auto predictions = Predictions({}, 0, 4);
  predictions.push_back({2, true});
  EXPECT_THAT(std::string(Evaluate(Truth({}, 4), predictions, {}).status().message()),
              HasSubstr("frame 2 is predicted twice"));
  EXPECT_FALSE(Evaluate(Truth({}, 4), {}, {}).ok());
  const auto good = Predictions({}, 0, 4);
  EXPECT_FALSE(Evaluate(Truth({}, 4), good, {.window = 0}).ok());
  EXPECT_FALSE(Evaluate(Truth({}, 4), good, {.window = 5, .window_min_positive = 6}).ok());
  EXPECT_FALSE(Evaluate(Truth({}, 4), good, {.window = 5, .window_min_positive = 0}).ok());
  EXPECT_FALSE(Evaluate(Truth({}, 4), good, {.range = {.start = 4}}).ok());
}

TEST(EvaluationTest, JsonHasEveryField) {
  EvalResult r{.frames = 10,
               .true_positives = 2,
               .false_positives = 2,
               .true_negatives = 4,
               .false_negatives = 2,
               .fp_rate = 0.25,
               .fn_rate = 0.5,
               .accuracy = 0.6,
               .windows = 3,
               .window_fp_rate = 0,
               .window_fn_rate = 1,
               .window_accuracy = 0.75};
  const auto json = nlohmann::json::parse(EvalResultToJson(r));
  const std::vector<std::string> keys = {"frames",         "true_positives",  "false_positives",
                                         "true_negatives", "false_negatives", "fp_rate",
                                         "fn_rate",        "accuracy",        "windows",
                                         "window_fp_rate", "window_fn_rate",  "window_accuracy"};
  EXPECT_EQ(json.size(), keys.size());
  for (const std::string& key : keys) EXPECT_TRUE(json.contains(key)) << key;
  EXPECT_EQ(json["frames"], 10);
  EXPECT_EQ(json["false_negatives"], 2);
  EXPECT_DOUBLE_EQ(json["fp_rate"].get<double>(), 0.25);
  EXPECT_DOUBLE_EQ(json["window_accuracy"].get<double>(), 0.75);
}

}  // namespace
}  // namespace dnoscope::labels
