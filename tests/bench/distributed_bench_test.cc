// The distributed-cascade scenarios at toy sizes: every scenario runs end
// to end against in-process replay servers, its tables hold a row per run
// with every frame labelled, and the cascade's own counters agree with the
// rows (no failed checks). No timing is asserted.
#include "bench/distributed_bench.h"

#include <algorithm>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "labels/label_csv.h"
#include "testing/test_env.h"

namespace dnoscope::bench {
namespace {

using ::dnoscope::testing::ScratchDir;
using ::testing::IsEmpty;
using ::testing::NotNull;

// A 64x48 synthetic video of `frames` frames.
VideoSize Tiny(int64_t frames) { return {frames, 64, 48}; }

TEST(ReplayWorkloadTest, ClassifierIsUnsureAboutTheRequestedShare) {
  ScratchDir dir;
  absl::StatusOr<ReplayWorkload> w =
      PrepareReplayWorkload({.size = Tiny(200), .uncertain_share = 0.25}, dir.path());
  ASSERT_TRUE(w.ok()) << w.status();
  EXPECT_EQ(w->size.frames, 200);
  EXPECT_TRUE(w->synthetic);
  EXPECT_GT(w->uncertain_frames, 30);
  EXPECT_LT(w->uncertain_frames, 70);
  absl::StatusOr<std::vector<labels::Detection>> rows = labels::ReadLabelCsv(w->classifier_labels);
  ASSERT_TRUE(rows.ok()) << rows.status();
  const auto unsure = std::count_if(
      rows->begin(), rows->end(), [](const labels::Detection& d) { return d.confidence == 0.5f; });
  EXPECT_EQ(unsure, w->uncertain_frames);
}

TEST(ReplayWorkloadTest, GivenVideoGetsPseudoLabelsForAllItsFrames) {
  ScratchDir dir;
  absl::StatusOr<ReplayWorkload> scene = PrepareReplayWorkload({.size = Tiny(30)}, dir.File("scene"));
  ASSERT_TRUE(scene.ok()) << scene.status();
  absl::StatusOr<ReplayWorkload> w =
      PrepareReplayWorkload({.video = scene->video, .size = Tiny(0)}, dir.File("given"));
  ASSERT_TRUE(w.ok()) << w.status();
  EXPECT_FALSE(w->synthetic);
  EXPECT_EQ(w->size.frames, 30);
  EXPECT_EQ(w->size.width, 64);
  EXPECT_FALSE(w->positive.empty());
}

TEST(DistributedBenchTest, ClientSendsUnsureFramesToTheReference) {
  ScratchDir dir;
  absl::StatusOr<ScenarioResult> r =
      RunClientBench({.size = Tiny(60), .uncertain_share = 0.5}, {dir.path()});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_THAT(r->checks, IsEmpty());
  const Table* figures = r->table("client");
  ASSERT_THAT(figures, NotNull());
  EXPECT_GT(figures->Lookup("decode_only", "value").value_or(0), 0);
  EXPECT_GT(figures->Lookup("cascade", "value").value_or(0), 0);
  EXPECT_GT(figures->Lookup("ratio", "value").value_or(0), 0);
  const Table* stages = r->table("client_stages");
  ASSERT_THAT(stages, NotNull());
  // Frames the difference detector did not reuse went to the specialized
  // stage, the unsure ones on to the reference (no failed checks: one row
  // per frame, the stages' counts match the rows).
  const double specialized = stages->Lookup("specialized", "stage_frames").value_or(0);
  EXPECT_GT(specialized, 0);
  EXPECT_LE(specialized, 60);
  EXPECT_GT(stages->Lookup("reference", "stage_frames").value_or(0), 0);
  EXPECT_LT(stages->Lookup("reference", "stage_frames").value_or(61), specialized);
}

TEST(DistributedBenchTest, ScalingSendsEveryFrameToTheReferenceOnEveryServerCount) {
  ScratchDir dir;
  absl::StatusOr<ScenarioResult> r = RunScalingBench(
      {.servers = {1, 2}, .size = Tiny(24), .service_ms = 2}, {dir.path()});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_THAT(r->checks, IsEmpty());
  const Table* t = r->table("scaling");
  ASSERT_THAT(t, NotNull());
  ASSERT_EQ(t->rows.size(), 2u);
  EXPECT_EQ(t->Number(0, "servers"), 1);
  EXPECT_EQ(t->Number(1, "servers"), 2);
  EXPECT_DOUBLE_EQ(t->Number(0, "speedup").value_or(0), 1.0);
  for (size_t i = 0; i < 2; ++i) EXPECT_GT(t->Number(i, "bound").value_or(0), 0);
  EXPECT_GT(r->table("scaling_goals")->Lookup("t_n", "value").value_or(0), 0);
  ASSERT_EQ(r->plots.size(), 1u);
  EXPECT_EQ(r->plots[0].series[0].points.size(), 2u);
}

TEST(DistributedBenchTest, BalanceRunsEveryPolicyOverAllServers) {
  ScratchDir dir;
  absl::StatusOr<ScenarioResult> r = RunBalanceBench(
      {.servers = 2, .slow_factor = 2, .service_ms = 1, .size = Tiny(20)}, {dir.path()});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_THAT(r->checks, IsEmpty());
  const Table* t = r->table("balance");
  ASSERT_THAT(t, NotNull());
  ASSERT_EQ(t->rows.size(), 2u);
  for (const char* policy : {"random", "p2c"}) {
    SCOPED_TRACE(policy);
    EXPECT_EQ(t->Lookup(policy, "requests_1").value_or(0) + t->Lookup(policy, "requests_2").value_or(0),
              20);
  }
}

TEST(DistributedBenchTest, RejectsBadOptions) {
  EXPECT_EQ(RunScalingBench({.servers = {0}}, {"/tmp/unused"}).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(RunBalanceBench({.servers = 1}, {"/tmp/unused"}).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(RunClientBench({.specialized_batch = 0}, {"/tmp/unused"}).status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace dnoscope::bench
