// `dnoscope bench <scenario>` through the binary: every scenario accepts
// every option it has always had (toy values), prints its tables and writes
// its CSV, JSON and REPORT.md into --out; --help lists the common options
// with their defaults. No timing is asserted.
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "testing/test_env.h"

namespace dnoscope::bench {
namespace {

using ::dnoscope::testing::DnoscopeBinary;
using ::dnoscope::testing::ReadFileOrEmpty;
using ::dnoscope::testing::RunCommand;
using ::dnoscope::testing::ScratchDir;
using ::testing::HasSubstr;
using ::testing::Not;

struct CliCase {
  std::string scenario;
  // Every option of the scenario, toy-sized.
  std::string args;
};

class BenchCliTest : public ::testing::TestWithParam<CliCase> {};

TEST_P(BenchCliTest, RunsWithEveryOptionAndWritesItsFiles) {
  const CliCase& c = GetParam();
  ScratchDir dir;
  const testing::CommandResult r =
      RunCommand(DnoscopeBinary() + " --log-level warn bench " + c.scenario + " " + c.args +
                 " --progress off --out " + dir.File("out"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr("dnoscope bench " + c.scenario + " ("));
  EXPECT_THAT(r.output, Not(HasSubstr("CHECK FAILED")));
  EXPECT_THAT(ReadFileOrEmpty(dir.File("out/" + c.scenario + ".json")),
              HasSubstr("\"scenario\": \"" + c.scenario + "\""));
  EXPECT_THAT(ReadFileOrEmpty(dir.File("out/REPORT.md")), HasSubstr("(" + c.scenario + ")"));
}

INSTANTIATE_TEST_SUITE_P(
    Scenarios, BenchCliTest,
    ::testing::Values(
        CliCase{"serve",
                "--concurrency 1,2 --duration-ms 100 --max-batch-size 8 --max-queue-delay-us 100 "
                "--server-threads 1 --client-threads 1"},
        CliCase{"client",
                "--frames 30 --uncertain-share 0.5 --spec-batch 4 --spec-batch-delay-us 1000 "
                "--payload jpeg --width 64 --height 48"},
        CliCase{"scaling",
                "--servers 1,2 --service-ms 1 --frames 12 --max-in-flight 8 --max-model-frames 0 "
                "--payload raw --width 64 --height 48"},
        CliCase{"balance",
                "--servers 2 --slow-factor 2 --service-ms 1 --frames 12 --balance random,p2c "
                "--max-in-flight 8 --max-model-frames 16 --payload png --width 64 --height 48"},
        CliCase{"table1",
                "--time-scale 0.001 --rows 50 --servers 1,2 --balance p2c --width 64 --height 48 "
                "--payload raw"},
        CliCase{"stages", "--repeats 1 --max-ms 1000 --data no-such-data"},
        CliCase{"edge",
                "--frames 20 --time-scale 0.0005 --servers 2 --uncertain-share 0.5 "
                "--diff-threshold 12 --spec-batch 2 --payload raw --width 64 --height 48"},
        CliCase{"ablations",
                "--frames 12 --width 64 --height 48 --uncertain-share 0.5 --tables payload"}),
    [](const ::testing::TestParamInfo<CliCase>& info) { return info.param.scenario; });

TEST(BenchCliHelpTest, EveryScenarioExplainsTheCommonOptions) {
  for (const char* scenario : {"serve", "client", "scaling", "balance", "table1", "stages", "edge",
                               "ablations", "throughput", "all"}) {
    SCOPED_TRACE(scenario);
    const testing::CommandResult r =
        RunCommand(DnoscopeBinary() + " bench " + scenario + " --help");
    ASSERT_EQ(r.exit_code, 0) << r.output;
    EXPECT_THAT(r.output, HasSubstr("--out"));
    EXPECT_THAT(r.output, HasSubstr("--scratch-dir"));
    EXPECT_THAT(r.output, HasSubstr("--progress TEXT:{log,off}=log"));
  }
}

TEST(BenchCliHelpTest, BadValuesAreRejected) {
  EXPECT_NE(RunCommand(DnoscopeBinary() + " bench balance --balance fastest").exit_code, 0);
  EXPECT_NE(RunCommand(DnoscopeBinary() + " bench client --payload gif").exit_code, 0);
  EXPECT_NE(RunCommand(DnoscopeBinary() + " bench all --out x --skip nothing").exit_code, 0);
}

}  // namespace
}  // namespace dnoscope::bench
