// The emulation's ModelStage decorators: DelayedStage delivers each reply
// once, exactly the delay after the inner stage produced it (fake time);
// TakeTurns lets one request of all its stages into the inner stages at a
// time, in submission order.
#include <atomic>
#include <chrono>
#include <deque>
#include <future>
#include <string>

#include "absl/status/status.h"
#include "common/mutex.h"
#include "emulation/delayed_stage.h"
#include "emulation/take_turns.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "testing/fake_clock.h"

namespace dnoscope::emulation {
namespace {

using models::ModelStage;
using models::StageRequest;
using ::testing::ElementsAre;
using Result = absl::StatusOr<std::vector<Tensor>>;

StageRequest Request(float value) {
  return {{Tensor::Fp32("x", {1}, std::vector<float>{value})}};
}

float ValueOf(const Result& r) { return r.ok() ? (*r)[0].Values<float>()[0] : -1; }

// Completes every request at once, on the caller's thread, echoing the inputs.
class EchoStage final : public ModelStage {
 public:
  const models::ModelMetadata& metadata() const override { return metadata_; }
  std::string Describe() const override { return "echo"; }
  void InferAsync(StageRequest request, Done done) override { done(std::move(request.inputs)); }
  models::StageStats stats() const override { return {}; }
  void Shutdown() override {}

 private:
  models::ModelMetadata metadata_;
};

// Holds requests until the test completes them; counts what it holds in
// `held` (shared by the stages of one test).
class HeldStage final : public ModelStage {
 public:
  explicit HeldStage(std::atomic<int>* held) : held_(held) {}
  const models::ModelMetadata& metadata() const override { return metadata_; }
  std::string Describe() const override { return "held"; }
  void InferAsync(StageRequest request, Done done) override {
    ++*held_;
    MutexLock lock(&mu_);
    jobs_.push_back({std::move(request), std::move(done)});
  }
  models::StageStats stats() const override { return {}; }
  void Shutdown() override {
    while (Complete(absl::CancelledError("shut down"))) {
    }
  }
  // Completes the oldest held request with its inputs; false when none.
  bool CompleteOldest() { return Complete(absl::OkStatus()); }

 private:
  bool Complete(const absl::Status& status) {
    std::pair<StageRequest, Done> job;
    {
      MutexLock lock(&mu_);
      if (jobs_.empty()) return false;
      job = std::move(jobs_.front());
      jobs_.pop_front();
    }
    --*held_;
    job.second(status.ok() ? Result(std::move(job.first.inputs)) : Result(status));
    return true;
  }

  std::atomic<int>* const held_;
  models::ModelMetadata metadata_;
  Mutex mu_;
  std::deque<std::pair<StageRequest, Done>> jobs_ ABSL_GUARDED_BY(mu_);
};

TEST(DelayedStageTest, DeliversEachReplyOnceExactlyTheDelayLater) {
  testing::FakeClock clock;
  const Clock::Duration delay = std::chrono::milliseconds(20);
  auto stage = DelayedStage::Create(std::make_unique<EchoStage>(), delay, &clock);
  ASSERT_TRUE(stage.ok()) << stage.status();
  std::atomic<int> delivered{0};
  std::promise<void> all_delivered;
  for (int i = 0; i < 3; ++i) {
    (*stage)->InferAsync(Request(static_cast<float>(i)), [&](Result r) {
      EXPECT_TRUE(r.ok()) << r.status();
      if (++delivered == 3) all_delivered.set_value();
    });
  }
  ASSERT_TRUE(clock.BlockUntilWaiters(1));
  EXPECT_EQ(delivered.load(), 0) << "nothing before the delay";
  clock.Advance(delay);
  ASSERT_EQ(all_delivered.get_future().wait_for(std::chrono::seconds(30)),
            std::future_status::ready);
  (*stage)->Shutdown();
  ASSERT_EQ((*stage)->times().size(), 3u);
  for (const StageRequestTimes& t : (*stage)->times()) {
    EXPECT_EQ(t.reply - t.submit, Clock::Duration::zero());
    EXPECT_EQ(t.delivered - t.reply, delay);
    EXPECT_TRUE(t.ok);
  }
}

TEST(DelayedStageTest, RejectsNegativeDelayAndMissingStage) {
  EXPECT_EQ(
      DelayedStage::Create(std::make_unique<EchoStage>(), -Clock::Duration(1)).status().code(),
      absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(DelayedStage::Create(nullptr, Clock::Duration::zero()).status().code(),
            absl::StatusCode::kInvalidArgument);
}

// Two held stages taking turns; the test keeps raw pointers to complete requests.
struct TwoStages {
  std::atomic<int> held{0};
  HeldStage* a = nullptr;
  HeldStage* b = nullptr;
  std::vector<std::unique_ptr<ModelStage>> turns;

  TwoStages() {
    std::vector<std::unique_ptr<ModelStage>> inner;
    inner.push_back(std::make_unique<HeldStage>(&held));
    inner.push_back(std::make_unique<HeldStage>(&held));
    a = static_cast<HeldStage*>(inner[0].get());
    b = static_cast<HeldStage*>(inner[1].get());
    turns = *TakeTurns(std::move(inner));
  }
};

TEST(TakeTurnsTest, OneRequestOfAllStagesRunsAtATimeInSubmissionOrder) {
  TwoStages s;
  std::vector<float> order;
  auto record = [&](Result r) { order.push_back(ValueOf(r)); };
  s.turns[0]->InferAsync(Request(1), record);
  s.turns[1]->InferAsync(Request(2), record);
  s.turns[0]->InferAsync(Request(3), record);
  s.turns[1]->InferAsync(Request(4), record);
  EXPECT_EQ(s.held.load(), 1);
  // Request i runs on stage a for odd i, b for even i.
  for (HeldStage* next : {s.a, s.b, s.a, s.b}) {
    ASSERT_EQ(s.held.load(), 1);
    ASSERT_TRUE(next->CompleteOldest());
  }
  EXPECT_EQ(s.held.load(), 0);
  EXPECT_THAT(order, ElementsAre(1, 2, 3, 4));
}

TEST(TakeTurnsTest, ShutdownCancelsOnlyThatStagesWaitingRequests) {
  TwoStages s;
  std::vector<std::string> outcomes;
  auto record = [&](Result r) {
    outcomes.push_back(r.ok() ? std::to_string(static_cast<int>(ValueOf(r))) : "cancelled");
  };
  s.turns[0]->InferAsync(Request(1), record);  // runs
  s.turns[1]->InferAsync(Request(2), record);  // waits
  s.turns[0]->InferAsync(Request(3), record);  // waits
  s.turns[1]->Shutdown();
  EXPECT_THAT(outcomes, ElementsAre("cancelled"));
  s.turns[1]->InferAsync(Request(5), record);
  EXPECT_THAT(outcomes, ElementsAre("cancelled", "cancelled"));
  ASSERT_TRUE(s.a->CompleteOldest());
  ASSERT_TRUE(s.a->CompleteOldest());
  EXPECT_THAT(outcomes, ElementsAre("cancelled", "cancelled", "1", "3"));
}

TEST(TakeTurnsTest, RejectsANullStage) {
  std::vector<std::unique_ptr<ModelStage>> stages;
  stages.push_back(std::make_unique<EchoStage>());
  stages.push_back(nullptr);
  EXPECT_EQ(TakeTurns(std::move(stages)).status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace dnoscope::emulation
