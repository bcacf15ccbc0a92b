#include "labels/prediction_csv.h"

#include <cmath>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "testing/test_env.h"

namespace dnoscope::labels {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();

// Equal with NaN == NaN (a stage that did not run).
bool SameScore(float a, float b) { return (std::isnan(a) && std::isnan(b)) || a == b; }

void ExpectSameResult(const FrameResult& a, const FrameResult& b) {
  EXPECT_EQ(a.frame, b.frame);
  EXPECT_EQ(a.label, b.label) << a.frame;
  EXPECT_EQ(a.status, b.status) << a.frame;
  EXPECT_TRUE(SameScore(a.diff_score, b.diff_score)) << a.frame;
  EXPECT_TRUE(SameScore(a.specialized_confidence, b.specialized_confidence)) << a.frame;
  EXPECT_TRUE(SameScore(a.reference_confidence, b.reference_confidence)) << a.frame;
}

TEST(PredictionCsvTest, RoundTripsThroughFileIncludingNaNFields) {
  const std::vector<FrameResult> results = {
      {0, true, FrameStatus::kReference, kNaN, 0.5f, 0.97f},
      {1, true, FrameStatus::kDiffReused, 3.25f, kNaN, kNaN},
      {2, false, FrameStatus::kSpecialized, 123.456f, 0.0123f, kNaN},
      {3, false, FrameStatus::kSkipped, kNaN, kNaN, kNaN},
      {4, false, FrameStatus::kCorrupt, kNaN, kNaN, kNaN},
  };
  testing::ScratchDir dir;
  const std::string path = dir.File("pred.csv");
  auto writer = PredictionCsvWriter::Open(path);
  ASSERT_TRUE(writer.ok()) << writer.status();
  for (const FrameResult& r : results) ASSERT_TRUE((*writer)->Write(r).ok());
  ASSERT_TRUE((*writer)->Close().ok());
  EXPECT_THAT(testing::ReadFileOrEmpty(path),
              StartsWith(std::string(kPredictionCsvHeader) + "\n0,1,reference,,0.5,0.97\n"));

  auto read = ReadPredictionCsv(path);
  ASSERT_TRUE(read.ok()) << read.status();
  ASSERT_EQ(read->size(), results.size());
  for (size_t i = 0; i < results.size(); ++i) ExpectSameResult((*read)[i], results[i]);
}

TEST(PredictionCsvTest, TheAuditColumnFollowsTheNoScopeColumnsAndReadsBack) {
  FrameResult audited{5, true, FrameStatus::kSpecialized, kNaN, 0.99f, kNaN};
  audited.audited = true;
  testing::ScratchDir dir;
  const std::string path = dir.File("audit.csv");
  auto writer = PredictionCsvWriter::Open(path, /*audit_column=*/true);
  ASSERT_TRUE(writer.ok()) << writer.status();
  ASSERT_TRUE((*writer)->Write(audited).ok());
  ASSERT_TRUE((*writer)->Write({6, false, FrameStatus::kReference, kNaN, kNaN, 0.0f}).ok());
  ASSERT_TRUE((*writer)->Close().ok());
  EXPECT_EQ(testing::ReadFileOrEmpty(path), std::string(kPredictionCsvHeader) +
                                                ",audited\n5,1,specialized,,0.99,,1\n"
                                                "6,0,reference,,,0,0\n");
  auto read = ReadPredictionCsv(path);
  ASSERT_TRUE(read.ok()) << read.status();
  ASSERT_EQ(read->size(), 2u);
  EXPECT_TRUE((*read)[0].audited);
  EXPECT_FALSE((*read)[1].audited);
  auto bad = ParsePredictionCsv("5,1,specialized,,0.99,,yes\n", "x.csv");
  EXPECT_THAT(bad.status().message(), HasSubstr("x.csv:1: field 'audited' is not 0 or 1"));
}

TEST(PredictionCsvTest, FormatsEmptyFieldsForStagesThatDidNotRun) {
  EXPECT_EQ(FormatPredictionRow({12, false, FrameStatus::kDiffReused, 0.25f, kNaN, kNaN}),
            "12,0,diff_reused,0.25,,");
}

TEST(PredictionCsvTest, StatusNamesRoundTrip) {
  for (int i = 0; i < kNumFrameStatuses; ++i) {
    const auto status = static_cast<FrameStatus>(i);
    auto parsed = ParseFrameStatus(FrameStatusName(status));
    ASSERT_TRUE(parsed.ok()) << FrameStatusName(status);
    EXPECT_EQ(*parsed, status);
  }
  EXPECT_EQ(FrameStatusName(FrameStatus::kDiffReused), "diff_reused");
}

TEST(PredictionCsvTest, BadStatusNamesFileLineAndStatus) {
  auto parsed = ParsePredictionCsv("0,1,reference,,,0.9\n1,0,bogus,,,\n", "p.csv");
  ASSERT_FALSE(parsed.ok());
  EXPECT_EQ(parsed.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(parsed.status().message()),
              StartsWith("p.csv:2: field 'status': unknown frame status 'bogus'"));
}

TEST(PredictionCsvTest, MalformedRowsAreRejected) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"0,2,reference,,,", "p.csv:1: field 'label' is not 0 or 1: '2'"},
      {"0,1,reference,,", "p.csv:1: expected 6 fields (7 with 'audited'), got 5"},
      {"-1,1,reference,,,", "p.csv:1: negative frame number: -1"},
      {"0,1,reference,x,,", "p.csv:1: field 'diff_score' is not a number: 'x'"},
  };
  for (const auto& [row, message] : cases) {
    auto parsed = ParsePredictionCsv(row, "p.csv");
    ASSERT_FALSE(parsed.ok()) << row;
    EXPECT_EQ(std::string(parsed.status().message()), message);
  }
}

TEST(PredictionCsvTest, HeaderOptionalAndCarriageReturnsTolerated) {
  auto parsed = ParsePredictionCsv(
      std::string(kPredictionCsvHeader) + "\r\n\r\n7,1,specialized,,0.9,\r\n", "p.csv");
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  ASSERT_EQ(parsed->size(), 1u);
  ExpectSameResult((*parsed)[0], {7, true, FrameStatus::kSpecialized, kNaN, 0.9f, kNaN});
}

TEST(PredictionCsvTest, MissingFileIsNotFound) {
  testing::ScratchDir dir;
  EXPECT_EQ(ReadPredictionCsv(dir.File("none.csv")).status().code(), absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace dnoscope::labels
