// Smoke tests of `bench table1` and `bench stages` at toy sizes, and of the
// emulation::DelayedStage they use: every cell sends exactly N_R frames to the
// reference and the counters of client and servers agree. No timing is
// asserted (the time scale is tiny and the machine may be loaded).
#include "bench/table1_bench.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <future>

#include "absl/status/status.h"
#include "emulation/delayed_stage.h"
#include "bench/stages_bench.h"
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

// Completes every request at once, on the caller's thread, echoing the inputs.
class EchoStage final : public models::ModelStage {
 public:
  const models::ModelMetadata& metadata() const override { return metadata_; }
  std::string Describe() const override { return "echo"; }
  void InferAsync(models::StageRequest request, Done done) override {
    done(std::move(request.inputs));
  }
  models::StageStats stats() const override { return {}; }
  void Shutdown() override {}

 private:
  models::ModelMetadata metadata_;
};

TEST(SeedTable1Test, HasTheSeedsRowsAndColumns) {
  ASSERT_EQ(SeedTable1().size(), 5u);
  EXPECT_EQ(SeedTable1().back().reference_frames, 569);
  EXPECT_EQ(SeedTable1Seconds(5000, 8), 875);
  EXPECT_EQ(SeedTable1Seconds(50, 1), 66);
  EXPECT_LT(SeedTable1Seconds(50, 3), 0);
  EXPECT_LT(SeedTable1Seconds(60, 1), 0);
}

TEST(DelayedStageTest, DeliversEachResultOnceAndRecordsItsTimes) {
  absl::StatusOr<std::unique_ptr<emulation::DelayedStage>> stage =
      emulation::DelayedStage::Create(std::make_unique<EchoStage>(), Clock::Duration::zero());
  ASSERT_TRUE(stage.ok()) << stage.status();
  std::atomic<int> delivered{0};
  std::promise<void> all_delivered;
  for (int i = 0; i < 5; ++i) {
    (*stage)->InferAsync({{Tensor::Fp32("x", {1}, std::vector<float>{static_cast<float>(i)})}},
                         [&](absl::StatusOr<std::vector<Tensor>> r) {
                           EXPECT_TRUE(r.ok()) << r.status();
                           if (++delivered == 5) all_delivered.set_value();
                         });
  }
  ASSERT_EQ(all_delivered.get_future().wait_for(std::chrono::seconds(30)),
            std::future_status::ready);
  (*stage)->Shutdown();
  EXPECT_EQ(delivered.load(), 5);
  ASSERT_EQ((*stage)->times().size(), 5u);
  for (const emulation::StageRequestTimes& t : (*stage)->times()) {
    EXPECT_LE(t.submit, t.reply);
    EXPECT_LE(t.reply, t.delivered);
  }
}

TEST(DelayedStageTest, RejectsNegativeDelayAndMissingStage) {
  EXPECT_EQ(
      emulation::DelayedStage::Create(std::make_unique<EchoStage>(), -Clock::Duration(1)).status().code(),
      absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(emulation::DelayedStage::Create(nullptr, Clock::Duration::zero()).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(Table1BenchTest, EveryCellSendsExactlyTheSeedsReferenceFrames) {
  ScratchDir dir;
  Table1Options o;
  o.time_scale = 0.002;  // T_sc about 6 ms
  o.rows = {50, 500};
  o.servers = {1, 3};
  o.width = 64;
  o.height = 48;
  o.scratch_dir = dir.path();
  absl::StatusOr<Table1Result> r = RunTable1Bench(o);
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->cells.size(), 4u);
  for (const Table1Cell& c : r->cells) {
    SCOPED_TRACE(::testing::Message() << "N_F=" << c.frames << " N_S=" << c.servers);
    EXPECT_THAT(c.checks, IsEmpty());
    EXPECT_EQ(c.reference_frames, c.frames == 50 ? 22 : 49);
    EXPECT_EQ(c.client_requests, c.reference_frames);
    EXPECT_EQ(c.server_requests, c.reference_frames);
    // Round-robin over equal servers: at most one request apart.
    EXPECT_LE(c.max_server_requests - c.min_server_requests, 1);
    EXPECT_GT(c.bound_seconds, 0);
    EXPECT_GT(c.t_sc, 0);
    EXPECT_EQ(c.seed_seconds > 0, c.servers == 1);
  }
  EXPECT_THAT(r->network_emulation, HasSubstr("in process"));
  EXPECT_EQ(Lines(Table1Csv(*r)), 5);
  EXPECT_TRUE(nlohmann::json::accept(Table1Json(*r)));
  EXPECT_THAT(FormatTable1Bench(*r), HasSubstr("goal: every cell within 15% of the bound"));
}

TEST(Table1BenchTest, RejectsRowsTheSeedDoesNotHave) {
  Table1Options o;
  o.rows = {60};
  o.scratch_dir = "/tmp/unused";
  EXPECT_EQ(RunTable1Bench(o).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(StagesBenchTest, MeasuresEveryStageLocalAndRemote) {
  ScratchDir dir;
  StagesBenchOptions o;
  o.repeats = 2;
  o.scratch_dir = dir.path();
  absl::StatusOr<StagesBenchResult> r = RunStagesBench(o);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->frame_source, "synthetic");
  // Difference x2, specialized and HOG local + remote, network; no Yolo.
  ASSERT_EQ(r->rows.size(), 7u);
  for (const StageLatencyRow& row : r->rows) {
    EXPECT_EQ(row.count, 2) << row.stage << " " << row.where;
    EXPECT_GT(row.seed_seconds, 0);
  }
  EXPECT_THAT(r->notes, ::testing::Contains(HasSubstr("Yolo-Fastest skipped")));
  EXPECT_EQ(Lines(StagesBenchCsv(*r)), 8);
  EXPECT_TRUE(nlohmann::json::accept(StagesBenchJson(*r)));
}

}  // namespace
}  // namespace dnoscope::bench
