// Smoke tests of the distributed-cascade benchmarks at toy sizes: every
// scenario runs end to end against in-process replay servers, every frame
// gets its row, and the cascade's own counters agree with the rows. No
// timing is asserted.
#include "bench/distributed_bench.h"

#include <algorithm>

#include "bench/replay_fleet.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "labels/label_csv.h"
#include "nlohmann/json.hpp"
#include "testing/test_env.h"

namespace dnoscope::bench {
namespace {

using ::dnoscope::testing::ScratchDir;
using labels::FrameStatus;
using ::testing::IsEmpty;

int64_t Count(const CascadeRunStats& s, FrameStatus status) {
  return s.status_counts[static_cast<int>(status)];
}

int Lines(const std::string& text) {
  return static_cast<int>(std::count(text.begin(), text.end(), '\n'));
}

TEST(ReplayWorkloadTest, ClassifierIsUnsureAboutTheRequestedShare) {
  ScratchDir dir;
  absl::StatusOr<ReplayWorkload> w = PrepareReplayWorkload(
      {.frames = 200, .width = 64, .height = 48, .uncertain_share = 0.25}, dir.path());
  ASSERT_TRUE(w.ok()) << w.status();
  EXPECT_EQ(w->frames, 200);
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
  absl::StatusOr<ReplayWorkload> scene =
      PrepareReplayWorkload({.frames = 30, .width = 64, .height = 48}, dir.File("scene"));
  ASSERT_TRUE(scene.ok()) << scene.status();
  absl::StatusOr<ReplayWorkload> w =
      PrepareReplayWorkload({.video = scene->video, .frames = 0}, dir.File("given"));
  ASSERT_TRUE(w.ok()) << w.status();
  EXPECT_FALSE(w->synthetic);
  EXPECT_EQ(w->frames, 30);
  EXPECT_EQ(w->width, 64);
  EXPECT_GT(w->positive_frames, 0);
}

TEST(DistributedBenchTest, ClientSendsUnsureFramesToTheReference) {
  ScratchDir dir;
  ClientBenchOptions o;
  o.frames = 60;
  o.width = 64;
  o.height = 48;
  o.uncertain_share = 0.5;
  o.scratch_dir = dir.path();
  absl::StatusOr<ClientBenchResult> r = RunClientBench(o);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->run.frames, 60);
  EXPECT_THAT(r->run.checks, IsEmpty());
  EXPECT_GT(Count(r->run, FrameStatus::kReference), 0);
  EXPECT_GT(Count(r->run, FrameStatus::kSpecialized), 0);
  EXPECT_GT(r->decode_only_frames_per_second, 0);
  EXPECT_GT(r->ratio, 0);
  EXPECT_EQ(Lines(ClientBenchCsv(*r)), 2);
  EXPECT_TRUE(nlohmann::json::accept(ClientBenchJson(*r)));
}

TEST(DistributedBenchTest, ScalingSendsEveryFrameToTheReference) {
  ScratchDir dir;
  ScalingBenchOptions o;
  o.servers = {1, 2};
  o.frames = 24;
  o.service_ms = 2;
  o.width = 64;
  o.height = 48;
  o.scratch_dir = dir.path();
  absl::StatusOr<ScalingBenchResult> r = RunScalingBench(o);
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->rows.size(), 2u);
  for (const ScalingRow& row : r->rows) {
    EXPECT_EQ(row.run.frames, 24);
    EXPECT_EQ(Count(row.run, FrameStatus::kReference), 24);
    EXPECT_THAT(row.run.checks, IsEmpty()) << "N_S=" << row.servers;
    EXPECT_GT(row.bound_seconds, 0);
  }
  EXPECT_DOUBLE_EQ(r->rows[0].speedup, 1.0);
  EXPECT_GT(r->network_rtt_ms, 0);
  EXPECT_EQ(Lines(ScalingBenchCsv(*r)), 3);
  EXPECT_TRUE(nlohmann::json::accept(ScalingBenchJson(*r)));
}

TEST(DistributedBenchTest, BalanceRunsEveryPolicyOverAllServers) {
  ScratchDir dir;
  BalanceBenchOptions o;
  o.servers = 2;
  o.slow_factor = 2;
  o.service_ms = 1;
  o.frames = 20;
  o.width = 64;
  o.height = 48;
  o.scratch_dir = dir.path();
  absl::StatusOr<BalanceBenchResult> r = RunBalanceBench(o);
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->rows.size(), 2u);
  EXPECT_EQ(r->rows[0].policy, "random");
  EXPECT_EQ(r->rows[1].policy, "p2c");
  for (const BalanceRow& row : r->rows) {
    EXPECT_THAT(row.run.checks, IsEmpty()) << row.policy;
    ASSERT_EQ(row.requests_per_server.size(), 2u);
    EXPECT_EQ(row.requests_per_server[0] + row.requests_per_server[1], 20) << row.policy;
  }
  EXPECT_EQ(Lines(BalanceBenchCsv(*r)), 3);
  EXPECT_TRUE(nlohmann::json::accept(BalanceBenchJson(*r)));
}

TEST(DistributedBenchTest, RejectsBadOptions) {
  ScalingBenchOptions scaling;
  scaling.scratch_dir = "/tmp/unused";
  scaling.servers = {0};
  EXPECT_EQ(RunScalingBench(scaling).status().code(), absl::StatusCode::kInvalidArgument);
  BalanceBenchOptions balance;
  balance.scratch_dir = "/tmp/unused";
  balance.servers = 1;
  EXPECT_EQ(RunBalanceBench(balance).status().code(), absl::StatusCode::kInvalidArgument);
  ClientBenchOptions client;
  client.scratch_dir = "/tmp/unused";
  client.payload = "gif";
  EXPECT_EQ(RunClientBench(client).status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace dnoscope::bench
