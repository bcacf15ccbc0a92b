// `bench table1` and `bench stages` at toy sizes: every cell sends exactly
// N_R frames to the reference and the counters of client and servers
// agree; every stage is measured local and remote. No timing is asserted
// (the time scale is tiny and the machine may be loaded).
#include "bench/table1_bench.h"

#include "bench/stages_bench.h"
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

TEST(SeedTable1Test, HasTheSeedsRowsAndColumns) {
  ASSERT_EQ(SeedTable1().size(), 5u);
  EXPECT_EQ(SeedTable1().back().reference_frames, 569);
  EXPECT_EQ(SeedTable1Seconds(5000, 8), 875);
  EXPECT_EQ(SeedTable1Seconds(50, 1), 66);
  EXPECT_LT(SeedTable1Seconds(50, 3), 0);
  EXPECT_LT(SeedTable1Seconds(60, 1), 0);
}

TEST(Table1BenchTest, EveryCellSendsExactlyTheSeedsReferenceFrames) {
  ScratchDir dir;
  Table1Options o;
  o.time_scale = 0.002;  // T_sc about 6 ms
  o.rows = {50, 500};
  o.servers = {1, 3};
  o.width = 64;
  o.height = 48;
  absl::StatusOr<ScenarioResult> r = RunTable1Bench(o, {dir.path()});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_THAT(r->checks, IsEmpty());
  const Table* latency = r->table("table1");
  const Table* parts = r->table("table1_decomposition");
  ASSERT_THAT(latency, NotNull());
  ASSERT_THAT(parts, NotNull());
  ASSERT_EQ(latency->rows.size(), 4u);
  for (size_t i = 0; i < 4; ++i) {
    const double frames = *latency->Number(i, "frames");
    const double servers = *latency->Number(i, "servers");
    SCOPED_TRACE(::testing::Message() << "N_F=" << frames << " N_S=" << servers);
    const double n_r = frames == 50 ? 22 : 49;
    EXPECT_EQ(latency->Number(i, "reference_frames"), n_r);
    EXPECT_EQ(parts->Number(i, "client_requests"), n_r);
    EXPECT_EQ(parts->Number(i, "server_requests"), n_r);
    // Round-robin over equal servers: at most one request apart.
    EXPECT_LE(*parts->Number(i, "max_per_server") - *parts->Number(i, "min_per_server"), 1);
    EXPECT_GT(latency->Number(i, "bound").value_or(0), 0);
    EXPECT_GT(parts->Number(i, "t_sc").value_or(0), 0);
    EXPECT_EQ(latency->Number(i, "seed").has_value(), servers == 1);
  }
  EXPECT_THAT(r->setup, Contains(HasSubstr("network emulation: in process")));
  EXPECT_EQ(r->table("table1_grid")->rows.size(), 2u);
  EXPECT_EQ(r->table("table1_goals")->Lookup("worst_bound_error", "value").has_value(), true);
}

TEST(Table1BenchTest, RejectsRowsTheSeedDoesNotHave) {
  Table1Options o;
  o.rows = {60};
  EXPECT_EQ(RunTable1Bench(o, {"/tmp/unused"}).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(StagesBenchTest, MeasuresEveryStageLocalAndRemote) {
  ScratchDir dir;
  StagesBenchOptions o;
  o.repeats = 2;
  o.data_dir = dir.File("no-data");
  absl::StatusOr<ScenarioResult> r = RunStagesBench(o, {dir.path()});
  ASSERT_TRUE(r.ok()) << r.status();
  const Table* t = r->table("stages");
  ASSERT_THAT(t, NotNull());
  // Difference x2, specialized and HOG local + remote, network; no Yolo.
  ASSERT_EQ(t->rows.size(), 7u);
  for (size_t i = 0; i < t->rows.size(); ++i) {
    EXPECT_EQ(t->Number(i, "count"), 2) << i;
    EXPECT_GT(t->Number(i, "seed").value_or(0), 0) << i;
  }
  EXPECT_THAT(r->setup, Contains(HasSubstr("frames: synthetic")));
  EXPECT_THAT(r->notes, Contains(HasSubstr("Yolo-Fastest skipped")));
}

}  // namespace
}  // namespace dnoscope::bench
