// config.json's "version_policy" and the versions each policy serves.
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "models/model_config.h"

namespace dnoscope::models {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

absl::StatusOr<VersionPolicy> PolicyOf(const std::string& policy_json) {
  absl::StatusOr<ModelConfig> config = ParseModelConfig(
      R"({"backend": "identity", "version_policy": )" + policy_json + "}", "m/config.json", "m");
  if (!config.ok()) return config.status();
  return config->version_policy;
}

TEST(VersionPolicyTest, DefaultIsTheLatestVersionAsTriton) {
  auto config = ParseModelConfig(R"({"backend": "identity"})", "m/config.json", "m");
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->version_policy.kind, VersionPolicy::Kind::kLatest);
  EXPECT_EQ(config->version_policy.num_versions, 1);
  EXPECT_THAT(SelectVersions(config->version_policy, {1, 2, 5}), ElementsAre(5));
}

TEST(VersionPolicyTest, LatestKeepsTheHighestN) {
  auto policy = PolicyOf(R"({"latest": {"num_versions": 2}})");
  ASSERT_TRUE(policy.ok()) << policy.status();
  EXPECT_EQ(policy->kind, VersionPolicy::Kind::kLatest);
  EXPECT_THAT(SelectVersions(*policy, {1, 2, 5}), ElementsAre(2, 5));
  EXPECT_THAT(SelectVersions(*policy, {3}), ElementsAre(3));
  EXPECT_THAT(SelectVersions(*policy, {}), IsEmpty());
}

TEST(VersionPolicyTest, AllServesEveryVersion) {
  auto policy = PolicyOf(R"({"all": {}})");
  ASSERT_TRUE(policy.ok()) << policy.status();
  EXPECT_THAT(SelectVersions(*policy, {1, 2, 5}), ElementsAre(1, 2, 5));
}

TEST(VersionPolicyTest, SpecificServesTheListedVersionsThatExist) {
  auto policy = PolicyOf(R"({"specific": {"versions": [5, 1, 9, 1]}})");
  ASSERT_TRUE(policy.ok()) << policy.status();
  EXPECT_THAT(policy->versions, ElementsAre(1, 5, 9));
  EXPECT_THAT(SelectVersions(*policy, {1, 2, 5}), ElementsAre(1, 5));
  EXPECT_THAT(SelectVersions(*policy, {2, 3}), IsEmpty());
}

TEST(VersionPolicyTest, RoundTripsThroughConfigJson) {
  for (const char* json : {R"({"latest": {"num_versions": 3}})", R"({"all": {}})",
                           R"({"specific": {"versions": [2, 4]}})"}) {
    auto config = ParseModelConfig(
        std::string(R"({"backend": "identity", "version_policy": )") + json + "}", "c", "m");
    ASSERT_TRUE(config.ok()) << config.status();
    auto again = ParseModelConfig(ModelConfigToJson(*config), "again", "m");
    ASSERT_TRUE(again.ok()) << again.status();
    EXPECT_EQ(again->version_policy.kind, config->version_policy.kind) << json;
    EXPECT_EQ(again->version_policy.num_versions, config->version_policy.num_versions) << json;
    EXPECT_EQ(again->version_policy.versions, config->version_policy.versions) << json;
  }
}

TEST(VersionPolicyTest, RejectsMalformedPoliciesNamingTheProblem) {
  struct Case {
    const char* json;
    const char* message;
  };
  for (const Case& c : {
           Case{R"({})", "exactly one of"},
           Case{R"({"all": {}, "latest": {"num_versions": 1}})", "exactly one of"},
           Case{R"({"latest": {}})", "num_versions"},
           Case{R"({"latest": {"num_versions": 0}})", "num_versions"},
           Case{R"({"specific": {"versions": []}})", "non-empty array"},
           Case{R"({"specific": {"versions": [0]}})", "versions[]"},
           Case{R"({"newest": {}})", "unknown key 'version_policy.newest'"},
           Case{R"({"all": {"x": 1}})", "unknown key 'version_policy.all.x'"},
           Case{R"("latest")", "must be an object"},
       }) {
    auto policy = PolicyOf(c.json);
    ASSERT_FALSE(policy.ok()) << c.json;
    EXPECT_EQ(policy.status().code(), absl::StatusCode::kInvalidArgument) << c.json;
    EXPECT_THAT(policy.status().message(), HasSubstr(c.message)) << c.json;
  }
}

}  // namespace
}  // namespace dnoscope::models
