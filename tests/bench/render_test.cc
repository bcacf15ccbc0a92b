// The one renderer: a table with every kind of cell, as text, CSV, JSON and
// markdown; a whole scenario result; the files WriteResult writes.
#include "bench/render.h"

#include <filesystem>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "testing/test_env.h"

namespace dnoscope::bench {
namespace {

using ::dnoscope::testing::ReadFileOrEmpty;
using ::dnoscope::testing::ScratchDir;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

// Texts, counts, measurements with a unit, an empty cell, a CSV-hostile text.
Table Sample() {
  Table t{.name = "runs",
          .title = "one row per run",
          .columns = {{"run"}, {"frames"}, {"wall", "s", 2}, {"rate", "frames/s", 1}},
          .notes = {"wall: decode to last row"}};
  t.AddRow({"one node", int64_t{500}, 79.456, 6.293});
  t.AddRow({"a, \"b\"", int64_t{20}, Cell(), 1234.56});
  return t;
}

TEST(RenderTest, HeadersCarryTheUnit) {
  EXPECT_EQ(HeaderText({"rate", "frames/s"}), "rate frames/s");
  EXPECT_EQ(HeaderKey({"rate", "frames/s"}), "rate_frames_per_s");
  EXPECT_EQ(HeaderKey({"share", "%"}), "share_pct");
  EXPECT_EQ(HeaderKey({"frames"}), "frames");
}

TEST(RenderTest, CellsRoundToTheColumnAndShowEmptyAsDash) {
  EXPECT_EQ(FormatCell(79.456, {"wall", "s", 2}), "79.46");
  EXPECT_EQ(FormatCell(int64_t{7}, {"n"}), "7");
  EXPECT_EQ(FormatCell(Cell(), {"n"}), "-");
  EXPECT_EQ(FormatCell(0.012345, {"x", "", kSignificant}), "0.01235");
  EXPECT_EQ(FormatCell(57400.4, {"x", "", kSignificant}), "57400");
  EXPECT_EQ(FormatCell(3.0, {"x", "", kSignificant}), "3");
}

TEST(RenderTest, TextAlignsNumbersRightAndTextsLeft) {
  EXPECT_EQ(TableText(Sample()),
            "one row per run:\n"
            "run       frames  wall s  rate frames/s\n"
            "one node     500   79.46            6.3\n"
            "a, \"b\"        20       -         1234.6\n"
            "wall: decode to last row\n");
}

TEST(RenderTest, CsvKeepsEveryDigitAndQuotesTexts) {
  EXPECT_EQ(TableCsv(Sample()),
            "run,frames,wall_s,rate_frames_per_s\n"
            "one node,500,79.456,6.293\n"
            "\"a, \"\"b\"\"\",20,,1234.56\n");
}

TEST(RenderTest, JsonHasColumnsWithUnitsAndRowsByKey) {
  const nlohmann::json j = nlohmann::json::parse(TableJson(Sample()));
  EXPECT_EQ(j["name"], "runs");
  EXPECT_EQ(j["columns"][3]["unit"], "frames/s");
  EXPECT_EQ(j["rows"][0]["wall_s"], 79.456);
  EXPECT_EQ(j["rows"][0]["frames"], 500);
  EXPECT_TRUE(j["rows"][1]["wall_s"].is_null());
  EXPECT_EQ(j["notes"][0], "wall: decode to last row");
}

TEST(RenderTest, MarkdownIsATableWithTitleAndNotes) {
  EXPECT_EQ(TableMarkdown(Sample()),
            "*one row per run*\n\n"
            "| run | frames | wall s | rate frames/s |\n"
            "| --- | ---: | ---: | ---: |\n"
            "| one node | 500 | 79.46 | 6.3 |\n"
            "| a, \"b\" | 20 | - | 1234.6 |\n"
            "\nwall: decode to last row\n");
}

TEST(RenderTest, TableLooksUpRowsColumnsAndFigures) {
  Table t = Sample();
  t.AddColumn({"cpu", "s"}, {1.5});
  EXPECT_EQ(t.Number(0, "cpu"), 1.5);
  EXPECT_FALSE(t.Number(1, "cpu").has_value());
  EXPECT_EQ(t.Lookup("one node", "frames"), 500);
  EXPECT_FALSE(t.Lookup("nobody", "frames").has_value());
  Table figures = FigureTable("f", "key figures");
  AddFigure(figures, "ratio", 1.07, "", ">= 0.80", true);
  AddFigure(figures, "wall", 2, "s");
  EXPECT_EQ(figures.Lookup("ratio", "value"), 1.07);
  EXPECT_EQ(std::get<std::string>(figures.At(0, "met")), "yes");
  EXPECT_TRUE(std::holds_alternative<std::monostate>(figures.At(1, "met")));
}

ScenarioResult SampleResult() {
  return {.scenario = "demo",
          .title = "A demo",
          .setup = {"what ran"},
          .tables = {Sample(), FigureTable("demo_figures", "figures")},
          .notes = {"a finding"},
          .checks = {"rows out of order"}};
}

TEST(RenderTest, ResultTextHasEveryPart) {
  const std::string text = ResultText(SampleResult());
  EXPECT_THAT(text, HasSubstr("A demo\nwhat ran\n\none row per run:\n"));
  EXPECT_THAT(text, HasSubstr("note: a finding\n"));
  EXPECT_THAT(text, HasSubstr("CHECK FAILED: rows out of order\n"));
  const nlohmann::json j = nlohmann::json::parse(ResultJson(SampleResult()));
  EXPECT_EQ(j["scenario"], "demo");
  EXPECT_EQ(j["tables"].size(), 2u);
  EXPECT_EQ(j["checks"][0], "rows out of order");
}

TEST(RenderTest, WriteResultWritesACsvPerTableTheJsonAndTheSection) {
  ScratchDir dir;
  absl::StatusOr<WrittenResult> written = WriteResult(SampleResult(), dir.path());
  ASSERT_TRUE(written.ok()) << written.status();
  EXPECT_THAT(written->files, ElementsAre(dir.File("runs.csv"), dir.File("demo_figures.csv"),
                                          dir.File("demo.json")));
  EXPECT_EQ(ReadFileOrEmpty(dir.File("runs.csv")), TableCsv(Sample()));
  EXPECT_EQ(ReadFileOrEmpty(dir.File("demo.json")), ResultJson(SampleResult()));
  EXPECT_EQ(written->markdown, ResultMarkdown(SampleResult(), {}));
  EXPECT_THAT(written->markdown, HasSubstr("- **CHECK FAILED**: rows out of order"));
}

}  // namespace
}  // namespace dnoscope::bench
