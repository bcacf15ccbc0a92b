// ModelScheduler admission and lifecycle: queue bound, rejected batches,
// failures inside the model, instances, pending counts, shutdown, Create's
// checks, and runs on the real clock.
#include "serving/scheduler.h"

#include <chrono>
#include <set>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "serving/scheduler_fakes.h"

namespace dnoscope::serving {
namespace {

using scheduler_testing::FakeClock;
using scheduler_testing::FakeModel;
using scheduler_testing::Job;
using scheduler_testing::ModelProbe;
using scheduler_testing::Results;
using scheduler_testing::SchedulerTest;
using scheduler_testing::ValuesOf;
using std::chrono::microseconds;

TEST_F(SchedulerTest, FullQueueRejectsAtOnceWithUnavailable) {
  auto scheduler = Make({.max_batch_size = 0, .max_queue_size = 2}, /*model_max_batch=*/0);
  ASSERT_NE(scheduler, nullptr);
  probe_.CloseGate();
  scheduler->Submit(Job(results_, 1, 1));
  probe_.WaitInInfer(1);
  scheduler->Submit(Job(results_, 2, 1));
  scheduler->Submit(Job(results_, 3, 1));
  scheduler->Submit(Job(results_, 4, 1));
  // Answered synchronously, before Submit returned.
  ASSERT_TRUE(results_.Has(4));
  EXPECT_EQ(results_.Get(4).status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(results_.count(), 1u);

  probe_.OpenGate();
  ASSERT_TRUE(results_.WaitForCount(4));
  for (int id : {1, 2, 3}) EXPECT_TRUE(results_.Get(id).ok()) << id;
}

TEST_F(SchedulerTest, RejectsBatchesItCannotRunWithInvalidArgument) {
  auto scheduler = Make({.max_batch_size = 4});
  ASSERT_NE(scheduler, nullptr);
  scheduler->Submit(Job(results_, 1, 5));
  InferenceJob scalar;
  const float one = 1;
  scalar.inputs.push_back(Tensor::Fp32("x", {}, {&one, 1}));
  scalar.done = results_.Callback(2);
  scheduler->Submit(std::move(scalar));
  InferenceJob mismatched = Job(results_, 3, 2);
  mismatched.inputs.push_back(Tensor::Fp32("z", {1, 1}, {&one, 1}));
  scheduler->Submit(std::move(mismatched));
  InferenceJob empty;
  empty.done = results_.Callback(4);
  scheduler->Submit(std::move(empty));

  ASSERT_EQ(results_.count(), 4u);
  for (int id : {1, 2, 3, 4}) {
    EXPECT_EQ(results_.Get(id).status().code(), absl::StatusCode::kInvalidArgument) << id;
  }
  EXPECT_EQ(probe_.calls(), 0u);
  EXPECT_EQ(stats_.snapshot().request_failure, 4u);
}

TEST_F(SchedulerTest, InstancesRunConcurrentlyOnDistinctModels) {
  auto scheduler = Make({.max_batch_size = 0, .instance_count = 3}, /*model_max_batch=*/0);
  ASSERT_NE(scheduler, nullptr);
  probe_.CloseGate();
  for (int id = 1; id <= 3; ++id) scheduler->Submit(Job(results_, id, 1));
  const std::set<const void*> running = probe_.WaitInInfer(3);
  EXPECT_EQ(running.size(), 3u);
  EXPECT_EQ(scheduler->pending(), 3u);
  probe_.OpenGate();
  ASSERT_TRUE(results_.WaitForCount(3));
  EXPECT_EQ(probe_.calls(), 3u);
}

TEST_F(SchedulerTest, ShutdownRunsQueuedPartialBatchThenRejects) {
  auto scheduler = Make({.max_batch_size = 4, .max_queue_delay = std::chrono::hours(1)});
  ASSERT_NE(scheduler, nullptr);
  scheduler->Submit(Job(results_, 1, 1));
  scheduler->Submit(Job(results_, 2, 1));
  scheduler->Shutdown();
  // Everything queued ran before Shutdown returned, without the delay passing.
  EXPECT_EQ(results_.count(), 2u);
  EXPECT_EQ(probe_.sizes(), (std::vector<int64_t>{2}));
  EXPECT_TRUE(results_.Get(1).ok());
  EXPECT_TRUE(results_.Get(2).ok());

  scheduler->Submit(Job(results_, 3, 1));
  ASSERT_TRUE(results_.Has(3));
  EXPECT_EQ(results_.Get(3).status().code(), absl::StatusCode::kUnavailable);
  scheduler->Shutdown();  // idempotent
}

TEST_F(SchedulerTest, ShutdownWaitsForExecutingAndQueuedJobs) {
  auto scheduler = Make({.max_batch_size = 0}, /*model_max_batch=*/0);
  ASSERT_NE(scheduler, nullptr);
  probe_.CloseGate();
  for (int id = 1; id <= 3; ++id) scheduler->Submit(Job(results_, id, 1));
  probe_.WaitInInfer(1);
  std::jthread shutdown([&] { scheduler->Shutdown(); });
  probe_.OpenGate();
  shutdown.join();
  EXPECT_EQ(results_.count(), 3u);
  for (int id = 1; id <= 3; ++id) EXPECT_TRUE(results_.Get(id).ok()) << id;
  EXPECT_EQ(scheduler->pending(), 0u);
}

TEST_F(SchedulerTest, FailingInferFailsEveryRequestOfTheBatch) {
  probe_.fail_with = absl::InternalError("backend broke");
  auto scheduler = Make({.max_batch_size = 2, .max_queue_delay = std::chrono::seconds(1)});
  ASSERT_NE(scheduler, nullptr);
  scheduler->Submit(Job(results_, 1, 1));
  scheduler->Submit(Job(results_, 2, 1));
  ASSERT_TRUE(results_.WaitForCount(2));
  EXPECT_EQ(probe_.sizes(), (std::vector<int64_t>{2}));
  for (int id : {1, 2}) {
    EXPECT_EQ(results_.Get(id).status(), absl::InternalError("backend broke")) << id;
  }
  const ModelStats::Snapshot s = stats_.snapshot();
  EXPECT_EQ(s.request_failure, 2u);
  EXPECT_EQ(s.request_success, 0u);
  EXPECT_EQ(s.exec_count, 0u);
  EXPECT_EQ(s.pending_request_count, 0);
}

TEST_F(SchedulerTest, OutputsThatCannotBeSplitFailTheBatchWithInternal) {
  probe_.bad_output_rows = true;
  auto scheduler = Make({.max_batch_size = 2, .max_queue_delay = std::chrono::seconds(1)});
  ASSERT_NE(scheduler, nullptr);
  scheduler->Submit(Job(results_, 1, 1));
  scheduler->Submit(Job(results_, 2, 1));
  ASSERT_TRUE(results_.WaitForCount(2));
  for (int id : {1, 2}) {
    EXPECT_EQ(results_.Get(id).status().code(), absl::StatusCode::kInternal) << id;
  }
}

TEST_F(SchedulerTest, PendingCountsQueuedAndExecutingRequests) {
  auto scheduler = Make({.max_batch_size = 0}, /*model_max_batch=*/0);
  ASSERT_NE(scheduler, nullptr);
  probe_.CloseGate();
  for (int id = 1; id <= 3; ++id) scheduler->Submit(Job(results_, id, 1));
  probe_.WaitInInfer(1);
  EXPECT_EQ(scheduler->pending(), 3u);
  EXPECT_EQ(stats_.snapshot().pending_request_count, 3);
  probe_.OpenGate();
  ASSERT_TRUE(results_.WaitForCount(3));
  EXPECT_EQ(scheduler->pending(), 0u);
  EXPECT_EQ(stats_.snapshot().pending_request_count, 0);
}

TEST(ModelSchedulerCreateTest, RejectsBadOptionsAndPropagatesFactoryErrors) {
  FakeClock clock;
  ModelProbe probe;
  auto factory = [&]() -> absl::StatusOr<std::unique_ptr<models::Model>> {
    return std::make_unique<FakeModel>(&probe, 4);
  };
  auto failing = []() -> absl::StatusOr<std::unique_ptr<models::Model>> {
    return absl::NotFoundError("no weights");
  };
  EXPECT_EQ(ModelScheduler::Create({}, failing, nullptr, &clock).status(),
            absl::NotFoundError("no weights"));
  EXPECT_EQ(ModelScheduler::Create({.max_batch_size = 8}, factory, nullptr, &clock).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ModelScheduler::Create({.instance_count = 0}, factory, nullptr, &clock).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ModelScheduler::Create({.max_queue_size = 0}, factory, nullptr, &clock).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ModelScheduler::Create({}, factory, nullptr, nullptr).status().code(),
            absl::StatusCode::kInvalidArgument);
  auto ok = ModelScheduler::Create({.max_batch_size = 4}, factory, nullptr, &clock);
  ASSERT_TRUE(ok.ok()) << ok.status();
  EXPECT_EQ((*ok)->metadata().name, "fake");
}

TEST(ModelSchedulerRealClockTest, RunsWithRealClockAndNoStats) {
  ModelProbe probe;
  auto scheduler = ModelScheduler::Create(
      {.max_batch_size = 4, .max_queue_delay = microseconds(200)},
      [&]() -> absl::StatusOr<std::unique_ptr<models::Model>> {
        return std::make_unique<FakeModel>(&probe, 4);
      },
      nullptr, Clock::Real());
  ASSERT_TRUE(scheduler.ok()) << scheduler.status();
  Results results;
  for (int id = 1; id <= 5; ++id) (*scheduler)->Submit(Job(results, id, 1, id));
  ASSERT_TRUE(results.WaitForCount(5));
  for (int id = 1; id <= 5; ++id) {
    auto result = results.Get(id);
    ASSERT_TRUE(result.ok()) << result.status();
    EXPECT_EQ(ValuesOf((*result)[0]), (std::vector<float>{10.0f * id, 10.0f * id + 10})) << id;
  }
}

TEST(ModelSchedulerRealClockTest, ConcurrentSubmittersEachGetTheirOwnRows) {
  ModelProbe probe;
  MetricsRegistry registry;
  ModelStats* stats = registry.GetOrCreate("fake", 1);
  auto scheduler = ModelScheduler::Create(
      {.max_batch_size = 4, .max_queue_delay = microseconds(100), .instance_count = 2},
      [&]() -> absl::StatusOr<std::unique_ptr<models::Model>> {
        return std::make_unique<FakeModel>(&probe, 4);
      },
      stats, Clock::Real());
  ASSERT_TRUE(scheduler.ok()) << scheduler.status();
  constexpr int kThreads = 4;
  constexpr int kPerThread = 50;
  Results results;
  {
    std::vector<std::jthread> submitters;
    for (int t = 0; t < kThreads; ++t) {
      submitters.emplace_back([&, t] {
        for (int i = 0; i < kPerThread; ++i) {
          const int id = t * kPerThread + i;
          (*scheduler)->Submit(Job(results, id, 1 + id % 2, static_cast<float>(id)));
        }
      });
    }
  }
  ASSERT_TRUE(results.WaitForCount(kThreads * kPerThread));
  for (int id = 0; id < kThreads * kPerThread; ++id) {
    auto result = results.Get(id);
    ASSERT_TRUE(result.ok()) << id << ": " << result.status();
    std::vector<float> want;
    for (int v = 0; v < (1 + id % 2) * 2; ++v) want.push_back(10.0f * (id + v));
    EXPECT_EQ(ValuesOf((*result)[0]), want) << id;
  }
  const ModelStats::Snapshot s = stats->snapshot();
  EXPECT_EQ(s.request_success, static_cast<uint64_t>(kThreads * kPerThread));
  EXPECT_EQ(s.inference_count, static_cast<uint64_t>(kThreads * kPerThread * 3 / 2));
  EXPECT_EQ(s.pending_request_count, 0);
}

}  // namespace
}  // namespace dnoscope::serving
