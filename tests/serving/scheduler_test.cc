// ModelScheduler batching and time: which requests merge, when a partial
// batch or a queued request's deadline fires (on a FakeClock the test
// advances), and what the stats record.
#include "serving/scheduler.h"

#include <chrono>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "serving/scheduler_fakes.h"

namespace dnoscope::serving {
namespace {

using scheduler_testing::Job;
using scheduler_testing::SchedulerTest;
using scheduler_testing::ValuesOf;
using std::chrono::microseconds;
using std::chrono::milliseconds;

TEST_F(SchedulerTest, MergesConcurrentRequestsIntoOneInferAndSplitsOutputs) {
  auto scheduler = Make({.max_batch_size = 4, .max_queue_delay = std::chrono::seconds(1)});
  ASSERT_NE(scheduler, nullptr);
  scheduler->Submit(Job(results_, 1, 1, 100));
  scheduler->Submit(Job(results_, 2, 2, 200));
  scheduler->Submit(Job(results_, 3, 1, 300));
  ASSERT_TRUE(results_.WaitForCount(3));

  EXPECT_EQ(probe_.sizes(), (std::vector<int64_t>{4}));
  const std::map<int, std::pair<std::vector<float>, std::vector<float>>> expected = {
      {1, {{1000, 1010}, {201}}},
      {2, {{2000, 2010, 2020, 2030}, {401, 405}}},
      {3, {{3000, 3010}, {601}}}};
  for (const auto& [id, want] : expected) {
    auto result = results_.Get(id);
    ASSERT_TRUE(result.ok()) << id << ": " << result.status();
    ASSERT_EQ(result->size(), 2u);
    EXPECT_EQ((*result)[0].name, "y");
    EXPECT_EQ((*result)[0].shape[0], static_cast<int64_t>(want.second.size()));
    EXPECT_EQ(ValuesOf((*result)[0]), want.first) << id;
    EXPECT_EQ(ValuesOf((*result)[1]), want.second) << id;
  }
}

TEST_F(SchedulerTest, FlushesPartialBatchExactlyAtItsDeadlineNotBefore) {
  auto scheduler = Make({.max_batch_size = 4, .max_queue_delay = microseconds(500)});
  ASSERT_NE(scheduler, nullptr);
  const Clock::TimePoint first_arrival = clock_.Now();
  scheduler->Submit(Job(results_, 1, 1));
  clock_.Advance(microseconds(200));
  scheduler->Submit(Job(results_, 2, 1));

  // The thread waits on the clock for the oldest request's deadline; the
  // second request does not push it back.
  ASSERT_TRUE(clock_.BlockUntilWaiters(1));
  EXPECT_EQ(clock_.NextDeadline(), first_arrival + microseconds(500));
  EXPECT_EQ(scheduler->pending(), 2u);

  clock_.Advance(microseconds(299));
  EXPECT_EQ(probe_.calls(), 0u);
  EXPECT_EQ(results_.count(), 0u);

  clock_.Advance(microseconds(1));
  ASSERT_TRUE(results_.WaitForCount(2));
  EXPECT_EQ(probe_.sizes(), (std::vector<int64_t>{2}));
  EXPECT_TRUE(results_.Get(1).ok());
  EXPECT_TRUE(results_.Get(2).ok());
}

TEST_F(SchedulerTest, QueuedRequestFailsAtItsDeadlineWhileWaitingForABatch) {
  auto scheduler = Make({.max_batch_size = 4, .max_queue_delay = std::chrono::seconds(1)});
  ASSERT_NE(scheduler, nullptr);
  const Clock::TimePoint deadline = clock_.Now() + milliseconds(1);
  InferenceJob hurried = Job(results_, 1, 1);
  hurried.deadline = deadline;
  scheduler->Submit(std::move(hurried));

  // The thread wakes for the request's deadline, long before the batch's.
  ASSERT_TRUE(clock_.BlockUntilWaiters(1));
  EXPECT_EQ(clock_.NextDeadline(), deadline);
  clock_.Advance(microseconds(999));
  EXPECT_EQ(results_.count(), 0u);

  clock_.Advance(microseconds(1));
  ASSERT_TRUE(results_.WaitForCount(1));
  EXPECT_EQ(results_.Get(1).status().code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_EQ(probe_.calls(), 0u);
  EXPECT_EQ(stats_.snapshot().request_failure, 1u);
  EXPECT_EQ(scheduler->pending(), 0u);
}

TEST_F(SchedulerTest, IdleThreadsDoNotWaitOnTheClock) {
  auto scheduler = Make({.max_batch_size = 4,
                         .max_queue_delay = std::chrono::seconds(1),
                         .instance_count = 2});
  ASSERT_NE(scheduler, nullptr);
  scheduler->Submit(Job(results_, 1, 4));
  ASSERT_TRUE(results_.WaitForCount(1));
  // Nothing queued: no thread has a time to wait for.
  EXPECT_EQ(clock_.waiters(), 0);
  EXPECT_EQ(clock_.NextDeadline(), Clock::TimePoint::max());
}

TEST_F(SchedulerTest, PreferredBatchSizeRunsWithoutWaiting) {
  auto scheduler = Make({.max_batch_size = 8,
                         .max_queue_delay = std::chrono::seconds(1),
                         .preferred_batch_sizes = {3}});
  ASSERT_NE(scheduler, nullptr);
  scheduler->Submit(Job(results_, 1, 1));
  scheduler->Submit(Job(results_, 2, 2));
  ASSERT_TRUE(results_.WaitForCount(2));
  EXPECT_EQ(probe_.sizes(), (std::vector<int64_t>{3}));
}

TEST_F(SchedulerTest, IncompatibleShapesAreNotMerged) {
  auto scheduler = Make({.max_batch_size = 4, .max_queue_delay = microseconds(100)});
  ASSERT_NE(scheduler, nullptr);
  probe_.CloseGate();
  scheduler->Submit(Job(results_, 1, 1, 0, /*width=*/2));
  scheduler->Submit(Job(results_, 2, 1, 0, /*width=*/3));
  // The first cannot grow past the incompatible second: it runs without waiting.
  probe_.WaitInInfer(1);
  EXPECT_EQ(probe_.sizes(), (std::vector<int64_t>{1}));
  probe_.OpenGate();
  ASSERT_TRUE(results_.WaitForCount(1));
  // The second waits for company until its delay passes.
  ASSERT_TRUE(clock_.BlockUntilWaiters(1));
  clock_.Advance(microseconds(100));
  ASSERT_TRUE(results_.WaitForCount(2));
  EXPECT_EQ(probe_.sizes(), (std::vector<int64_t>{1, 1}));
  auto second = results_.Get(2);
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ((*second)[0].shape, (std::vector<int64_t>{1, 3}));
}

TEST_F(SchedulerTest, DeadlinePassedWhileQueuedBehindABusyInstanceFailsWithoutInfer) {
  auto scheduler = Make({.max_batch_size = 0}, /*model_max_batch=*/0);
  ASSERT_NE(scheduler, nullptr);
  probe_.CloseGate();
  scheduler->Submit(Job(results_, 1, 1));
  probe_.WaitInInfer(1);
  InferenceJob late = Job(results_, 2, 1);
  late.deadline = clock_.Now() + milliseconds(1);
  scheduler->Submit(std::move(late));
  clock_.Advance(milliseconds(2));
  probe_.OpenGate();

  ASSERT_TRUE(results_.WaitForCount(2));
  EXPECT_TRUE(results_.Get(1).ok());
  EXPECT_EQ(results_.Get(2).status().code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_EQ(probe_.calls(), 1u);
  EXPECT_EQ(stats_.snapshot().request_failure, 1u);
}

TEST_F(SchedulerTest, MaxBatchSizeZeroNeverMerges) {
  auto scheduler = Make({.max_batch_size = 0, .max_queue_delay = milliseconds(10)},
                        /*model_max_batch=*/0);
  ASSERT_NE(scheduler, nullptr);
  probe_.CloseGate();
  scheduler->Submit(Job(results_, 1, 2));
  probe_.WaitInInfer(1);
  scheduler->Submit(Job(results_, 2, 2));
  scheduler->Submit(Job(results_, 3, 2));
  probe_.OpenGate();
  ASSERT_TRUE(results_.WaitForCount(3));
  EXPECT_EQ(probe_.sizes(), (std::vector<int64_t>{2, 2, 2}));
  for (int id : {1, 2, 3}) EXPECT_TRUE(results_.Get(id).ok()) << id;
}

TEST_F(SchedulerTest, RequestedOutputsAreReturnedAndOnlyEqualRequestsMerge) {
  auto scheduler = Make({.max_batch_size = 4, .max_queue_delay = std::chrono::seconds(1)});
  ASSERT_NE(scheduler, nullptr);
  probe_.CloseGate();
  auto submit = [&](int id, std::vector<std::string> requested) {
    InferenceJob job = Job(results_, id, 1, static_cast<float>(id));
    job.requested_outputs = std::move(requested);
    scheduler->Submit(std::move(job));
  };
  submit(1, {"sum"});
  submit(2, {"sum"});
  submit(3, {});
  submit(4, {"sum", "nope"});
  // 1 and 2 merge; 3 asks for other outputs, so 1+2 cannot grow and run now.
  probe_.WaitInInfer(1);
  EXPECT_EQ(probe_.sizes(), (std::vector<int64_t>{2}));
  probe_.OpenGate();
  // 3 runs alone (4 differs); 4 waits for its delay, then fails in the model.
  ASSERT_TRUE(results_.WaitForCount(3));
  ASSERT_TRUE(clock_.BlockUntilWaiters(1));
  clock_.Advance(std::chrono::seconds(1));
  ASSERT_TRUE(results_.WaitForCount(4));
  EXPECT_EQ(probe_.sizes(), (std::vector<int64_t>{2, 1, 1}));

  for (int id : {1, 2}) {
    auto result = results_.Get(id);
    ASSERT_TRUE(result.ok()) << id << ": " << result.status();
    ASSERT_EQ(result->size(), 1u);
    EXPECT_EQ((*result)[0].name, "sum");
    EXPECT_EQ(ValuesOf((*result)[0]), (std::vector<float>{2.0f * id + 1})) << id;
  }
  auto all = results_.Get(3);
  ASSERT_TRUE(all.ok()) << all.status();
  EXPECT_EQ(all->size(), 2u);
  EXPECT_EQ(results_.Get(4).status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(stats_.snapshot().request_success, 3u);
  EXPECT_EQ(stats_.snapshot().request_failure, 1u);
}

TEST_F(SchedulerTest, RecordsStatsForKnownWorkload) {
  probe_.clock = &clock_;
  probe_.compute_time = milliseconds(5);
  auto scheduler = Make({.max_batch_size = 4, .max_queue_delay = milliseconds(1)});
  ASSERT_NE(scheduler, nullptr);
  // Two single items wait 1 ms for company, then run together for 5 ms.
  scheduler->Submit(Job(results_, 1, 1));
  scheduler->Submit(Job(results_, 2, 1));
  ASSERT_TRUE(clock_.BlockUntilWaiters(1));
  clock_.Advance(milliseconds(1));
  ASSERT_TRUE(results_.WaitForCount(2));
  // A full batch runs at once, for 5 ms; an oversized one is refused.
  scheduler->Submit(Job(results_, 3, 4));
  scheduler->Submit(Job(results_, 4, 5));
  ASSERT_TRUE(results_.WaitForCount(4));

  const ModelStats::Snapshot s = stats_.snapshot();
  EXPECT_EQ(s.request_success, 3u);
  EXPECT_EQ(s.request_failure, 1u);
  EXPECT_EQ(s.inference_count, 6u);
  EXPECT_EQ(s.exec_count, 2u);
  EXPECT_EQ(s.pending_request_count, 0);
  EXPECT_EQ(s.queue_duration_us, 2000u);
  EXPECT_EQ(s.compute_infer_duration_us, 10000u);
  EXPECT_EQ(s.request_duration_us, 2 * 6000u + 5000u);
}

}  // namespace
}  // namespace dnoscope::serving
