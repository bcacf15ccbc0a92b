#include "cascade/cascade_config.h"

#include "gtest/gtest.h"

namespace dnoscope::cascade {
namespace {

constexpr char kFull[] = R"({
  "object": "car", "min_confidence": 0.3, "roi": [0, 100, 640, 360], "skip": 2,
  "model_repository": "repo",
  "difference": {"metric": "blocked", "width": 80, "height": 60, "threshold": 12.5,
                 "reference": "delta:3", "grid": [2, 5], "reduce": "sum"},
  "specialized": {"model": "spec", "c_low": 0.1, "c_high": 0.9, "width": 32, "height": 32},
  "reference": {"model": "yolo/yolo.cfg", "weights": "yolo/yolo.weights", "version": 2}
})";

TEST(CascadeConfigTest, ParsesEveryField) {
  auto c = ParseCascadeConfig(kFull, "cfg.json", "/base");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->object, "car");
  EXPECT_FLOAT_EQ(c->min_confidence, 0.3f);
  EXPECT_EQ(*c->roi, (Roi{0, 100, 640, 360}));
  EXPECT_EQ(c->skip, 2);
  EXPECT_EQ(c->model_repository, "/base/repo");
  EXPECT_EQ(c->diff.metric, detect::DiffMetric::kBlockedMse);
  EXPECT_EQ(c->diff.width, 80);
  EXPECT_DOUBLE_EQ(c->diff.threshold, 12.5);
  EXPECT_EQ(c->diff.reference, detect::ReferenceMode::kDelta);
  EXPECT_EQ(c->diff.delta, 3);
  EXPECT_EQ(c->diff.grid_rows, 2);
  EXPECT_EQ(c->diff.grid_cols, 5);
  EXPECT_EQ(c->diff.reduce, detect::BlockReduce::kWeightedSum);
  EXPECT_TRUE(c->specialized_enabled());
  EXPECT_EQ(c->specialized.model, "spec");  // a repository name stays a name
  EXPECT_EQ(c->specialized_width, 32);
  EXPECT_EQ(c->reference.model, "/base/yolo/yolo.cfg");  // a file resolves against the base
  EXPECT_EQ(c->reference.weights, "/base/yolo/yolo.weights");
  EXPECT_EQ(c->reference.version, 2);
}

TEST(CascadeConfigTest, DefaultsWhenEmpty) {
  auto c = ParseCascadeConfig("{}", "cfg.json", "");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->object, "person");
  EXPECT_EQ(c->reference.model, "hog");
  EXPECT_FALSE(c->specialized_enabled());
  EXPECT_TRUE(c->diff_enabled);
  EXPECT_EQ(c->diff.reference, detect::ReferenceMode::kAnchor);
  EXPECT_EQ(c->diff.width, 100);
}

TEST(CascadeConfigTest, RoundTripsThroughJson) {
  auto c = ParseCascadeConfig(kFull, "cfg.json", "/base");
  ASSERT_TRUE(c.ok());
  auto again = ParseCascadeConfig(CascadeConfigToJson(*c), "again.json", "");
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(CascadeConfigToJson(*again), CascadeConfigToJson(*c));
}

struct BadCase {
  const char* json;
  const char* expected_in_message;
};

class CascadeConfigErrorTest : public ::testing::TestWithParam<BadCase> {};

TEST_P(CascadeConfigErrorTest, NamesTheProblem) {
  auto c = ParseCascadeConfig(GetParam().json, "cfg.json", "");
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), absl::StatusCode::kInvalidArgument);
  const std::string message(c.status().message());
  EXPECT_NE(message.find(GetParam().expected_in_message), std::string::npos) << message;
  EXPECT_NE(message.find("cfg.json"), std::string::npos) << message;
}

INSTANTIATE_TEST_SUITE_P(
    Cases, CascadeConfigErrorTest,
    ::testing::Values(
        BadCase{"{not json", "not valid JSON"},
        BadCase{R"({"skip": "two"})", "'skip' must be an integer"},
        BadCase{R"({"object": 3})", "'object' must be a string"},
        BadCase{R"({"roi": [1, 2, 3]})", "'roi' must be an array of four"},
        BadCase{R"({"difference": {"threshold": "high"}})",
                "'difference.threshold' must be a number"},
        BadCase{R"({"difference": {"enabled": 1}})", "'difference.enabled' must be a boolean"},
        BadCase{R"({"specialized": {"c_low": []}})", "'specialized.c_low' must be a number"},
        BadCase{R"({"reference": {"model": 5}})", "'reference.model' must be a string"},
        BadCase{R"({"treshold": 3})", "unknown key 'treshold'"},
        BadCase{R"({"difference": {"metrc": "global"}})", "unknown key 'difference.metrc'"},
        BadCase{R"([1, 2])", "must be an object"},
        // Out-of-range integers are errors, never silently truncated.
        BadCase{R"({"skip": 4294967297})", "'skip' must be an integer from"},
        BadCase{R"({"difference": {"width": -3000000000}})", "'difference.width' must be an integer"},
        BadCase{R"({"roi": [0, 0, 4294967306, 10]})", "'roi' must be an array of four"},
        BadCase{R"({"difference": {"grid": [2, 8589934594]}})", "'difference.grid' must be"},
        BadCase{R"({"specialized": {"version": 18446744073709551615}})",
                "'specialized.version' must be an integer"}));

TEST(CascadeConfigTest, ValidationRejectsInconsistentValues) {
  EXPECT_FALSE(ParseCascadeConfig(R"({"skip": 0})", "c", "").ok());
  EXPECT_FALSE(
      ParseCascadeConfig(R"({"specialized": {"model": "m", "c_low": 0.9, "c_high": 0.1}})", "c", "")
          .ok());
  EXPECT_FALSE(ParseCascadeConfig(R"({"difference": {"reference": "background"}})", "c", "").ok());
  EXPECT_FALSE(ParseCascadeConfig(R"({"difference": {"threshold": -1}})", "c", "").ok());
}

TEST(CascadeConfigTest, MissingFileIsNotFound) {
  EXPECT_EQ(ReadCascadeConfig("/nonexistent/cascade.json").status().code(),
            absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace dnoscope::cascade
