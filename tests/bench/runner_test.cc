// The runner: a scenario runs in its scratch directory (removed after), its
// text is printed, its files and REPORT.md written; a failing scenario is
// reported while the others still run.
#include "bench/runner.h"

#include <filesystem>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "testing/test_env.h"

namespace dnoscope::bench {
namespace {

using ::dnoscope::testing::ReadFileOrEmpty;
using ::dnoscope::testing::ScratchDir;
using ::testing::HasSubstr;
using ::testing::Not;
namespace fs = std::filesystem;

// A scenario that records its scratch directory and returns one table.
Scenario Demo(const std::string& name, std::string* scratch_seen) {
  return {name, [name, scratch_seen](const ScenarioEnv& env) -> absl::StatusOr<ScenarioResult> {
            *scratch_seen = env.scratch_dir;
            if (!fs::is_directory(env.scratch_dir)) return absl::InternalError("no scratch");
            env.Progress(name + " halfway");
            Table t = FigureTable(name, "figures");
            AddFigure(t, "ratio", 1.5, "");
            return ScenarioResult{.scenario = name, .title = "Demo " + name, .tables = {t}};
          }};
}

Scenario Failing(const std::string& name) {
  return {name, [](const ScenarioEnv&) -> absl::StatusOr<ScenarioResult> {
            return absl::NotFoundError("no such data");
          }};
}

struct Harness {
  ScratchDir dir;
  std::string printed;
  std::vector<std::string> progress;
  RunOptions options;

  Harness() {
    options.out_dir = dir.File("out");
    options.scratch_dir = dir.File("scratch");
    options.print = [this](const std::string& text) { printed += text; };
    options.progress = [this](const std::string& line) { progress.push_back(line); };
    options.machine = DescribeMachine("Release", {"dnoscope", "bench"});
  }
};

TEST(RunnerTest, RunsInAScratchDirectoryPrintsAndWritesEveryOutput) {
  Harness run;
  std::string scratch;
  ASSERT_TRUE(RunScenarios({Demo("demo", &scratch)}, run.options).ok());
  EXPECT_EQ(scratch, run.dir.File("scratch/demo"));
  EXPECT_FALSE(fs::exists(scratch)) << "removed after the scenario";
  EXPECT_THAT(run.printed, HasSubstr("dnoscope bench demo (Release build, "));
  EXPECT_THAT(run.printed, Not(HasSubstr("WARNING")));
  EXPECT_THAT(run.printed, HasSubstr("Demo demo\n"));
  EXPECT_THAT(run.printed, HasSubstr("wrote " + run.dir.File("out/demo.csv")));
  EXPECT_THAT(run.progress, ::testing::ElementsAre("demo halfway"));
  EXPECT_THAT(ReadFileOrEmpty(run.dir.File("out/demo.csv")), HasSubstr("ratio,1.5,"));
  EXPECT_TRUE(fs::exists(run.dir.File("out/demo.json")));
  EXPECT_THAT(ReadFileOrEmpty(run.dir.File("out/REPORT.md")), HasSubstr("## Demo demo (demo)"));
}

TEST(RunnerTest, KeepsAGivenScratchDirectoryAndWarnsOnNonOptimizedBuilds) {
  Harness run;
  run.options.keep_scratch = true;
  run.options.out_dir.clear();
  run.options.machine.build_type = "Debug";
  std::string scratch;
  ASSERT_TRUE(RunScenarios({Demo("demo", &scratch)}, run.options).ok());
  EXPECT_TRUE(fs::is_directory(scratch));
  EXPECT_THAT(run.printed, HasSubstr("WARNING: not an optimized build"));
  EXPECT_FALSE(fs::exists(run.dir.File("out"))) << "nothing written without an output directory";
}

TEST(RunnerTest, OneFailingScenarioReturnsItsError) {
  Harness run;
  const absl::Status status = RunScenarios({Failing("demo")}, run.options);
  EXPECT_EQ(status.code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(status.message(), "no such data");
}

TEST(RunnerTest, AFailingScenarioIsReportedAndTheOthersStillRun) {
  Harness run;
  std::string scratch;
  const absl::Status status =
      RunScenarios({Failing("first"), Demo("second", &scratch)}, run.options);
  EXPECT_EQ(status.code(), absl::StatusCode::kInternal);
  EXPECT_THAT(status.message(), HasSubstr("first: no such data"));
  const std::string report = ReadFileOrEmpty(run.dir.File("out/REPORT.md"));
  EXPECT_THAT(report, HasSubstr("## first (failed)\n\nno such data"));
  EXPECT_THAT(report, HasSubstr("## Demo second (second)"));
  EXPECT_THAT(report, HasSubstr("## Run\n\nAll scenarios took"));
}

}  // namespace
}  // namespace dnoscope::bench
