#include "labels/label_csv.h"

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "testing/test_env.h"

namespace dnoscope::labels {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

Detection Det(int64_t frame, std::string name, float confidence, float xmin = 0, float ymin = 0,
              float xmax = 10, float ymax = 10) {
  return Detection{frame, std::move(name), confidence, xmin, ymin, xmax, ymax};
}

TEST(LabelCsvTest, RoundTripsThroughFileIncludingQuotedNames) {
  testing::ScratchDir dir;
  const std::vector<Detection> detections = {
      Det(0, "car", 0.5f, 1.25f, 2.5f, 100.75f, 200),
      Det(0, "person", 0.987654f, 0, 0, 767, 575),
      Det(7, "traffic light, red", 0.1f, 3.14159f, 1e-3f, 12345.5f, 0.3f),
      Det(9, "say \"hi\"", 1, -4.5f, 2, 3, 4),
  };
  const std::string path = dir.File("labels.csv");
  ASSERT_TRUE(WriteLabelCsv(path, detections).ok());
  EXPECT_THAT(testing::ReadFileOrEmpty(path), StartsWith(std::string(kLabelCsvHeader) + "\n"));
  auto read = ReadLabelCsv(path);
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(*read, detections);
}

TEST(LabelCsvTest, FormatsFloatsCompactly) {
  EXPECT_EQ(FormatLabelRow(Det(3, "car", 0.5f, 10, 20, 30.5f, 40)), "3,car,0.5,10,20,30.5,40");
  EXPECT_EQ(FormatLabelRow(Det(1, "a,b", 0.1f, 0, 0, 1, 1)), "1,\"a,b\",0.1,0,0,1,1");
}

TEST(LabelCsvTest, HeaderIsOptional) {
  const std::string rows = "0,car,0.9,1,2,3,4\n2,bus,0.4,5,6,7,8\n";
  auto with_header = ParseLabelCsv(std::string(kLabelCsvHeader) + "\n" + rows, "a.csv");
  auto without_header = ParseLabelCsv(rows, "b.csv");
  ASSERT_TRUE(with_header.ok()) << with_header.status();
  ASSERT_TRUE(without_header.ok()) << without_header.status();
  ASSERT_EQ(without_header->size(), 2u);
  EXPECT_EQ(*with_header, *without_header);
  EXPECT_EQ((*without_header)[1], Det(2, "bus", 0.4f, 5, 6, 7, 8));
}

TEST(LabelCsvTest, ToleratesBlankLinesCarriageReturnsAndQuotedNames) {
  const std::string text =
      "frame,object_name,confidence,xmin,ymin,xmax,ymax\r\n\r\n"
      "4,\"car\",0.75,1,2,3,4\r\n   \n5, person ,0.5,1,2,3,4\r\n";
  auto parsed = ParseLabelCsv(text, "crlf.csv");
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  ASSERT_EQ(parsed->size(), 2u);
  EXPECT_EQ((*parsed)[0], Det(4, "car", 0.75f, 1, 2, 3, 4));
  EXPECT_EQ((*parsed)[1].object_name, "person");
}

struct MalformedCase {
  std::string row;
  std::string what;
};

TEST(LabelCsvTest, MalformedRowsNameFileLineAndProblem) {
  const std::vector<MalformedCase> cases = {
      {"1,car,0.9,1,2,3", "expected 7 fields, got 6"},
      {"1,car,0.9,1,2,3,4,5", "expected 7 fields, got 8"},
      {"1,car,abc,1,2,3,4", "field 'confidence' is not a number: 'abc'"},
      {"x,car,0.9,1,2,3,4", "field 'frame' is not an integer: 'x'"},
      {"1.5,car,0.9,1,2,3,4", "field 'frame' is not an integer: '1.5'"},
      {"-2,car,0.9,1,2,3,4", "negative frame number: -2"},
      {"9223372036854775807,car,0.9,1,2,3,4",
       "frame number 9223372036854775807 is larger than 1000000000"},
      {"1,,0.9,1,2,3,4", "empty object_name"},
      {"1,car,0.9,1,2,inf,4", "field 'xmax' is not a finite number: 'inf'"},
      {"1,car,0.9,1,,3,4", "field 'ymin' is not a number: ''"},
      {"1,\"car,0.9,1,2,3,4", "unterminated quoted field"},
      {"1,\"car\"x,0.9,1,2,3,4", "unexpected text after a closing quote"},
  };
  for (const MalformedCase& c : cases) {
    // Header on line 1, a good row on 2, a blank line on 3: the bad row is line 4.
    const std::string text = std::string(kLabelCsvHeader) + "\n0,car,0.5,1,2,3,4\n\n" + c.row;
    auto parsed = ParseLabelCsv(text, "in.csv");
    ASSERT_FALSE(parsed.ok()) << c.row;
    EXPECT_EQ(parsed.status().code(), absl::StatusCode::kInvalidArgument) << c.row;
    EXPECT_EQ(std::string(parsed.status().message()), "in.csv:4: " + c.what) << c.row;
  }
}

TEST(LabelCsvTest, HeaderWithWrongColumnCountIsRejected) {
  auto parsed = ParseLabelCsv("frame,label,status\n", "pred.csv");
  ASSERT_FALSE(parsed.ok());
  EXPECT_EQ(std::string(parsed.status().message()), "pred.csv:1: expected 7 fields, got 3");
}

TEST(LabelCsvTest, ReadErrorsNameThePath) {
  testing::ScratchDir dir;
  const std::string path = dir.File("bad.csv");
  testing::WriteFile(path, "0,car,0.5,1,2,3,4\n0,car,0.5\n");
  auto read = ReadLabelCsv(path);
  ASSERT_FALSE(read.ok());
  EXPECT_THAT(std::string(read.status().message()), StartsWith(path + ":2: expected 7 fields"));
}

TEST(LabelCsvTest, MissingFileIsNotFound) {
  testing::ScratchDir dir;
  auto read = ReadLabelCsv(dir.File("absent.csv"));
  EXPECT_EQ(read.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(read.status().message()), HasSubstr("absent.csv"));
}

TEST(LabelCsvTest, EmptyTextHasNoDetections) {
  auto parsed = ParseLabelCsv("", "empty.csv");
  ASSERT_TRUE(parsed.ok());
  EXPECT_TRUE(parsed->empty());
}

TEST(LabelCsvWriterTest, OpenInMissingDirectoryFails) {
  testing::ScratchDir dir;
  auto writer = LabelCsvWriter::Open(dir.File("no/such/dir.csv"));
  EXPECT_EQ(writer.status().code(), absl::StatusCode::kNotFound);
}

TEST(LabelCsvWriterTest, RejectsLineBreakInNameAndWritesAfterClose) {
  testing::ScratchDir dir;
  auto writer = LabelCsvWriter::Open(dir.File("w.csv"));
  ASSERT_TRUE(writer.ok()) << writer.status();
  EXPECT_EQ((*writer)->Write(Det(0, "two\nlines", 1)).code(), absl::StatusCode::kInvalidArgument);
  ASSERT_TRUE((*writer)->Close().ok());
  EXPECT_EQ((*writer)->Write(Det(0, "car", 1)).code(), absl::StatusCode::kFailedPrecondition);
}

TEST(LabelFilterTest, MatchesNameExactlyAndEmptyNameMatchesAll) {
  LabelFilter filter{.object_name = "car"};
  EXPECT_TRUE(filter.Matches(Det(0, "car", 0.1f)));
  EXPECT_FALSE(filter.Matches(Det(0, "cars", 0.9f)));
  EXPECT_FALSE(filter.Matches(Det(0, "Car", 0.9f)));
  EXPECT_TRUE(LabelFilter{}.Matches(Det(0, "anything", 0)));
}

TEST(LabelFilterTest, MinConfidenceIsInclusive) {
  LabelFilter filter{.min_confidence = 0.5f};
  EXPECT_TRUE(filter.Matches(Det(0, "car", 0.5f)));
  EXPECT_FALSE(filter.Matches(Det(0, "car", 0.49f)));
}

TEST(LabelFilterTest, RoiNeedsTheBoxCentreInside) {
  LabelFilter filter{.roi = Roi{0, 100, 200, 200}};
  EXPECT_TRUE(filter.Matches(Det(0, "car", 1, 0, 50, 20, 170)));       // centre (10, 110)
  EXPECT_FALSE(filter.Matches(Det(0, "car", 1, 0, 0, 20, 150)));       // centre (10, 75)
  EXPECT_FALSE(filter.Matches(Det(0, "car", 1, 190, 150, 230, 160)));  // centre (210, 155)
}

TEST(LabelIndexTest, DenseIndexCoversFramesWithoutRows) {
  const std::vector<Detection> detections = {
      Det(1, "car", 0.6f),    Det(1, "car", 0.9f), Det(1, "person", 0.99f),
      Det(4, "person", 0.8f), Det(5, "car", 0.2f),
  };
  LabelIndex index =
      LabelIndex::Build(detections, LabelFilter{.object_name = "car", .min_confidence = 0.3f});
  ASSERT_EQ(index.num_frames(), 6);  // max frame of all detections + 1
  const std::vector<bool> expected = {false, true, false, false, false, false};
  for (int64_t f = 0; f < 6; ++f) EXPECT_EQ(index.Positive(f), expected[f]) << f;
  EXPECT_FLOAT_EQ(index.MaxConfidence(1), 0.9f);
  EXPECT_EQ(index.MaxConfidence(4), 0.0f);
  EXPECT_EQ(index.CountPositive(), 1);
  EXPECT_FALSE(index.Positive(-1));
  EXPECT_FALSE(index.Positive(6));
  EXPECT_EQ(index.MaxConfidence(100), 0.0f);
}

TEST(LabelIndexTest, ExplicitFrameCountExtendsOrTruncates) {
  const std::vector<Detection> detections = {Det(2, "car", 1), Det(8, "car", 1)};
  LabelIndex longer = LabelIndex::Build(detections, LabelFilter{}, 20);
  EXPECT_EQ(longer.num_frames(), 20);
  EXPECT_EQ(longer.CountPositive(), 2);
  LabelIndex shorter = LabelIndex::Build(detections, LabelFilter{}, 5);
  EXPECT_EQ(shorter.num_frames(), 5);
  EXPECT_EQ(shorter.CountPositive(), 1);
  EXPECT_FALSE(shorter.Positive(8));
  EXPECT_EQ(LabelIndex::Build({}, LabelFilter{}).num_frames(), 0);
}

}  // namespace
}  // namespace dnoscope::labels
