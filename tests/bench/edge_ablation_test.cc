// `bench edge` and `bench ablations` at toy sizes: both runs of `edge` give
// the same rows and request counts, every ablation table has its rows and
// each run labels every frame once. No timing is asserted (the time scale
// is tiny and the machine may be loaded).
#include <string>

#include "absl/status/status.h"
#include "bench/ablation_bench.h"
#include "bench/edge_bench.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "testing/test_env.h"

namespace dnoscope::bench {
namespace {

using ::dnoscope::testing::ScratchDir;
using ::testing::Contains;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::NotNull;

TEST(EdgeBenchTest, OneNodeAndDistributedGiveTheSameRowsAndRequests) {
  ScratchDir dir;
  EdgeBenchOptions o;
  o.size = {40, 64, 48};
  o.time_scale = 0.0005;  // reference about 2 ms, network 0.1 ms
  o.servers = 2;
  absl::StatusOr<ScenarioResult> r = RunEdgeBench(o, {dir.path()});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_THAT(r->checks, IsEmpty()) << "rows and request counts of both runs agree";
  const Table* runs = r->table("edge");
  ASSERT_THAT(runs, NotNull());
  EXPECT_GT(runs->Lookup("one_node", "reference_requests").value_or(0), 0);
  for (const char* column : {"specialized_requests", "reference_requests", "reference"}) {
    EXPECT_EQ(runs->Lookup("one_node", column), runs->Lookup("distributed", column)) << column;
  }
  const Table* figures = r->table("edge_figures");
  ASSERT_THAT(figures, NotNull());
  EXPECT_GT(figures->Lookup("ratio", "value").value_or(0), 0);
  // Only the reference part is split over the servers (the specialized
  // part overlaps with it).
  const double share = figures->Lookup("reference_share", "value").value_or(0) / 100;
  ASSERT_GT(share, 0);
  EXPECT_LE(figures->Lookup("ideal_ratio", "value").value_or(1e9), o.servers / share + 1e-9);
  EXPECT_NEAR(figures->Lookup("seed_ratio", "value").value_or(0), 784.0 / 142.0, 1e-9);
  EXPECT_THAT(r->setup, Contains(HasSubstr("take turns on one node")));
  EXPECT_THAT(r->notes, Contains(HasSubstr("What limits the ratio here")));
}

TEST(EdgeBenchTest, RejectsBadOptions) {
  EdgeBenchOptions o;
  o.servers = 0;
  EXPECT_EQ(RunEdgeBench(o, {"/tmp/unused"}).status().code(), absl::StatusCode::kInvalidArgument);
  o.servers = 1;
  o.time_scale = 0;
  EXPECT_EQ(RunEdgeBench(o, {"/tmp/unused"}).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(AblationBenchTest, EveryTableHasItsRowsAndEveryRunLabelsEveryFrame) {
  ScratchDir dir;
  AblationOptions o;
  o.size = {30, 64, 48};
  absl::StatusOr<ScenarioResult> r = RunAblationBench(o, {dir.path()});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_THAT(r->checks, IsEmpty()) << "every run: one row per frame, counters agree";
  const std::vector<std::pair<std::string, size_t>> expected = {
      {"balance", 2}, {"batching", 6}, {"payload", 4}, {"window", 6}};
  ASSERT_EQ(r->tables.size(), expected.size());
  for (const auto& [name, rows] : expected) {
    const Table* t = r->table("ablations_" + name);
    ASSERT_THAT(t, NotNull()) << name;
    EXPECT_EQ(t->rows.size(), rows) << name;
    EXPECT_EQ(t->ColumnIndex("slow_server_requests").has_value(), name == "balance") << name;
  }
  // Batching: max_batch 1 sends one specialized request per frame; 16
  // with a 20 ms delay fewer (the decoder outpaces 20 ms per frame here).
  const Table& batching = *r->table("ablations_batching");
  EXPECT_EQ(batching.Number(0, "requests"), 30);
  EXPECT_LT(batching.Number(4, "requests").value_or(30), 30);
  // Payload: JPEG sends fewer bytes than raw, KServe JSON more.
  const Table& payload = *r->table("ablations_payload");
  const double raw = payload.Lookup("raw (kserve binary)", "sent").value_or(0);
  EXPECT_LT(payload.Lookup("jpeg q90", "sent").value_or(1e9), raw);
  EXPECT_GT(payload.Lookup("raw (kserve json)", "sent").value_or(0), raw);
}

TEST(AblationBenchTest, RejectsUnknownTable) {
  AblationOptions o;
  o.tables = {"balance", "caching"};
  EXPECT_EQ(RunAblationBench(o, {"/tmp/unused"}).status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace dnoscope::bench
