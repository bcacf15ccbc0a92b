// Smoke tests of `bench edge` and `bench ablations` at toy sizes: both runs
// of `edge` give the same rows and request counts, every ablation table has
// its rows and each run labels every frame once. No timing is asserted
// (the time scale is tiny and the machine may be loaded).
#include <algorithm>
#include <string>

#include "absl/status/status.h"
#include "bench/ablation_bench.h"
#include "bench/edge_bench.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "testing/test_env.h"

namespace dnoscope::bench {
namespace {

using ::dnoscope::testing::ScratchDir;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

int Lines(const std::string& text) {
  return static_cast<int>(std::count(text.begin(), text.end(), '\n'));
}

const cascade::StageReport* Stage(const CascadeRunStats& s, const std::string& name) {
  for (const cascade::StageReport& stage : s.report.stages) {
    if (stage.stage == name) return &stage;
  }
  return nullptr;
}

TEST(EdgeBenchTest, OneNodeAndDistributedGiveTheSameRows) {
  ScratchDir dir;
  EdgeBenchOptions o;
  o.frames = 40;
  o.time_scale = 0.0005;  // reference about 2 ms, network 0.1 ms
  o.servers = 2;
  o.width = 64;
  o.height = 48;
  o.scratch_dir = dir.path();
  absl::StatusOr<EdgeBenchResult> r = RunEdgeBench(o);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_THAT(r->checks, IsEmpty());
  EXPECT_EQ(r->one_node.frames, 40);
  EXPECT_EQ(r->distributed.frames, 40);
  EXPECT_GT(r->one_node.reference_requests, 0);
  ASSERT_NE(Stage(r->distributed, "reference"), nullptr);
  EXPECT_EQ(Stage(r->distributed, "reference")->requests, r->one_node.reference_requests);
  ASSERT_NE(Stage(r->distributed, "specialized"), nullptr);
  EXPECT_EQ(Stage(r->distributed, "specialized")->requests, r->one_node.specialized_requests);
  EXPECT_GT(r->ratio, 0);
  EXPECT_GT(r->ideal_ratio, 0);
  // Only the reference part is split over the servers (the specialized
  // part overlaps with it).
  ASSERT_GT(r->reference_share, 0);
  EXPECT_LE(r->ideal_ratio, o.servers / r->reference_share + 1e-9);
  EXPECT_NEAR(r->seed_ratio, 784.0 / 142.0, 1e-9);
  EXPECT_THAT(r->network_emulation, HasSubstr("in process"));
  EXPECT_THAT(r->limit, HasSubstr("What limits the ratio here"));
  EXPECT_EQ(Lines(EdgeBenchCsv(*r)), 3);
  EXPECT_TRUE(nlohmann::json::accept(EdgeBenchJson(*r)));
  EXPECT_THAT(FormatEdgeBench(*r), HasSubstr("distributed"));
}

TEST(EdgeBenchTest, RejectsBadOptions) {
  EdgeBenchOptions o;
  o.scratch_dir = "/tmp/unused";
  o.servers = 0;
  EXPECT_EQ(RunEdgeBench(o).status().code(), absl::StatusCode::kInvalidArgument);
  o.servers = 1;
  o.payload = "bmp";
  EXPECT_EQ(RunEdgeBench(o).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(AblationBenchTest, EveryTableHasItsRowsAndEveryRunLabelsEveryFrame) {
  ScratchDir dir;
  AblationOptions o;
  o.frames = 30;
  o.width = 64;
  o.height = 48;
  o.scratch_dir = dir.path();
  absl::StatusOr<AblationResult> r = RunAblationBench(o);
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->tables.size(), 4u);
  const std::vector<std::pair<std::string, size_t>> expected = {
      {"balance", 2}, {"batching", 6}, {"payload", 4}, {"window", 6}};
  size_t rows = 0;
  for (size_t i = 0; i < expected.size(); ++i) {
    const AblationTable& t = r->tables[i];
    EXPECT_EQ(t.name, expected[i].first);
    ASSERT_EQ(t.rows.size(), expected[i].second) << t.name;
    for (const AblationRow& row : t.rows) {
      SCOPED_TRACE(t.name + " / " + row.variant);
      EXPECT_EQ(row.run.frames, 30);
      EXPECT_THAT(row.run.checks, IsEmpty());
      EXPECT_EQ(row.slow_server_requests >= 0, t.name == "balance");
      ++rows;
    }
  }
  // Batching: max_batch 1 sends one specialized request per frame; 16
  // with a 20 ms delay fewer (the decoder outpaces 20 ms per frame here).
  const AblationTable& batching = r->tables[1];
  EXPECT_EQ(Stage(batching.rows[0].run, "specialized")->requests, 30);
  EXPECT_LT(Stage(batching.rows[4].run, "specialized")->requests, 30);
  // Payload: JPEG sends fewer bytes than raw, KServe JSON more.
  const AblationTable& payload = r->tables[2];
  const int64_t raw = Stage(payload.rows[0].run, "reference")->bytes_sent;
  EXPECT_LT(Stage(payload.rows[1].run, "reference")->bytes_sent, raw);
  EXPECT_GT(Stage(payload.rows[3].run, "reference")->bytes_sent, raw);
  EXPECT_EQ(Lines(AblationBenchCsv(*r)), static_cast<int>(rows) + 1);
  EXPECT_TRUE(nlohmann::json::accept(AblationBenchJson(*r)));
  EXPECT_THAT(FormatAblationBench(*r), HasSubstr("[window]"));
}

TEST(AblationBenchTest, RejectsUnknownTable) {
  AblationOptions o;
  o.tables = {"balance", "caching"};
  o.scratch_dir = "/tmp/unused";
  EXPECT_EQ(RunAblationBench(o).status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace dnoscope::bench
