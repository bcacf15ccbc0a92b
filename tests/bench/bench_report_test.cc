#include "bench/bench_report.h"

#include <filesystem>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "testing/test_env.h"

namespace dnoscope::bench {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using testing::ReadFileOrEmpty;
using testing::RunCommand;
using testing::ScratchDir;
namespace fs = std::filesystem;

PlotSpec Curve() {
  return {.name = "speedup",
          .title = "Speedup \"measured\"",
          .xlabel = "servers",
          .ylabel = "x",
          .log_x = true,
          .series = {{"dnoscope", {{1, 1}, {2, 1.9}}}, {"ideal", {{1, 1}, {2, 2}}}}};
}

TEST(BenchReportTest, GnuplotScriptPlotsEverySeriesToSvgAndPng) {
  const std::string gp = GnuplotScript(Curve(), "/d/speedup.dat", "/d/speedup");
  EXPECT_THAT(gp, HasSubstr("set logscale x 2"));
  EXPECT_THAT(gp, HasSubstr("index 0 using 1:2 with linespoints title \"dnoscope\""));
  EXPECT_THAT(gp, HasSubstr("index 1 using 1:2 with linespoints title \"ideal\""));
  EXPECT_THAT(gp, HasSubstr("set output \"/d/speedup.svg\""));
  EXPECT_THAT(gp, HasSubstr("set output \"/d/speedup.png\""));
  EXPECT_THAT(gp, HasSubstr("set title \"Speedup \\\"measured\\\"\""));
}

TEST(BenchReportTest, HistogramScriptNamesCategoriesFromTheFirstColumn) {
  PlotSpec bars{.name = "lat", .style = "histogram", .categories = {"p50", "p99"},
                .series = {{"random", {{0, 1}, {1, 9}}}, {"p2c", {{0, 1}, {1, 3}}}}};
  const std::string gp = GnuplotScript(bars, "lat.dat", "lat");
  EXPECT_THAT(gp, HasSubstr("using 2:xtic(1) title \"random\""));
  EXPECT_THAT(gp, HasSubstr("using 3 title \"p2c\""));
}

TEST(BenchReportTest, RenderPlotWritesDataScriptAndImagesWhenGnuplotExists) {
  ScratchDir dir;
  absl::StatusOr<std::string> svg = RenderPlot(Curve(), dir.path());
  EXPECT_THAT(ReadFileOrEmpty(dir.File("speedup.dat")), HasSubstr("# dnoscope\n1 1\n2 1.9\n"));
  EXPECT_TRUE(fs::exists(dir.File("speedup.gp")));
  if (RunCommand("command -v gnuplot").exit_code != 0) {
    EXPECT_EQ(svg.status().code(), absl::StatusCode::kFailedPrecondition);
    GTEST_SKIP() << "gnuplot not installed: rendering not checked";
  }
  ASSERT_TRUE(svg.ok()) << svg.status();
  EXPECT_EQ(*svg, "speedup.svg");
  EXPECT_THAT(ReadFileOrEmpty(dir.File("speedup.svg")), HasSubstr("<svg"));
  EXPECT_GT(fs::file_size(dir.File("speedup.png")), 0u);
}

TEST(BenchReportTest, RenderPlotRejectsBadNamesAndEmptyPlots) {
  ScratchDir dir;
  PlotSpec bad = Curve();
  bad.name = "../x";
  EXPECT_EQ(RenderPlot(bad, dir.path()).status().code(), absl::StatusCode::kInvalidArgument);
  PlotSpec empty = Curve();
  empty.series.clear();
  EXPECT_EQ(RenderPlot(empty, dir.path()).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(BenchReportTest, ReportShowsMachineCommandSectionsAndWarnsOnDebugBuilds) {
  const std::vector<std::string> argv = {"dnoscope", "bench", "scaling", "--out", "my dir"};
  MachineInfo m = DescribeMachine("Release", argv);
  EXPECT_GT(m.cores, 0u);
  EXPECT_EQ(m.command, "dnoscope bench scaling --out 'my dir'");
  ReportBuilder report("dnoscope bench", m);
  report.AddSection("Scaling", "text");
  const std::string md = report.Markdown();
  EXPECT_THAT(md, HasSubstr("# dnoscope bench"));
  EXPECT_THAT(md, HasSubstr("| command | `dnoscope bench scaling --out 'my dir'` |"));
  EXPECT_THAT(md, HasSubstr("## Scaling\n\ntext"));
  EXPECT_THAT(md, Not(HasSubstr("not an optimised build")));
  EXPECT_THAT(ReportBuilder("r", DescribeMachine("Debug", argv)).Markdown(),
              HasSubstr("not an optimised build"));
  EXPECT_FALSE(CurrentCommandLine().empty());
  ScratchDir dir;
  ASSERT_TRUE(report.Write(dir.path()).ok());
  EXPECT_EQ(ReadFileOrEmpty(dir.File("REPORT.md")), md);
}

}  // namespace
}  // namespace dnoscope::bench
