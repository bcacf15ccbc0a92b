#include "serving/scheduler.h"

#include <chrono>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "common/mutex.h"
#include "gtest/gtest.h"
#include "testing/fake_clock.h"

namespace dnoscope::serving {
namespace {

using std::chrono::microseconds;
using std::chrono::milliseconds;
using testing::FakeClock;

// Real-time bound on every wait in these tests: only a guard against hangs,
// never reached when the code is right.
constexpr auto kGuard = std::chrono::seconds(60);

std::chrono::steady_clock::time_point GiveUpTime() { return std::chrono::steady_clock::now() + kGuard; }

// What every FakeModel instance of a test shares: its script and its record.
class ModelProbe {
 public:
  // The script; set before the scheduler starts, read-only afterwards.
  // Infer returns this when not OK.
  absl::Status fail_with;
  // Infer returns "y" with one row too many.
  bool bad_output_rows = false;
  // Each Infer advances this clock by compute_time, when set.
  FakeClock* clock = nullptr;
  Clock::Duration compute_time{0};

  // While closed, Infer blocks.
  void CloseGate() {
    MutexLock lock(&mu_);
    gate_open_ = false;
  }
  void OpenGate() {
    {
      MutexLock lock(&mu_);
      gate_open_ = true;
    }
    cv_.SignalAll();
  }
  size_t calls() {
    MutexLock lock(&mu_);
    return batch_sizes_.size();
  }
  // Dim 0 of input "x" for each Infer call, in call order.
  std::vector<int64_t> sizes() {
    MutexLock lock(&mu_);
    return batch_sizes_;
  }
  // Waits until `n` instances are blocked inside Infer; returns their ids.
  std::set<const void*> WaitInInfer(size_t n) {
    const auto give_up = GiveUpTime();
    MutexLock lock(&mu_);
    while (in_infer_.size() < n && !cv_.WaitUntil(&mu_, give_up)) {
    }
    return in_infer_;
  }
  // Called by FakeModel: records the call, blocks while the gate is closed.
  void Enter(const void* instance, int64_t batch) {
    MutexLock lock(&mu_);
    batch_sizes_.push_back(batch);
    in_infer_.insert(instance);
    cv_.SignalAll();
    while (!gate_open_) cv_.Wait(&mu_);
    in_infer_.erase(instance);
  }

 private:
  Mutex mu_;
  CondVar cv_;
  std::vector<int64_t> batch_sizes_ ABSL_GUARDED_BY(mu_);
  std::set<const void*> in_infer_ ABSL_GUARDED_BY(mu_);
  bool gate_open_ ABSL_GUARDED_BY(mu_) = true;
};

// Input "x" FP32 [n, w] -> outputs "y" = 10 * x [n, w] and "sum" FP32 [n, 1]
// (row sums). Records calls in the shared probe and obeys its script.
class FakeModel : public models::Model {
 public:
  FakeModel(ModelProbe* probe, int max_batch_size) : probe_(probe) {
    metadata_.name = "fake";
    metadata_.backend = "fake";
    metadata_.max_batch_size = max_batch_size;
    metadata_.inputs = {{.name = "x", .dtype = DataType::kFp32, .shape = {-1, -1}}};
    metadata_.outputs = {{.name = "y", .dtype = DataType::kFp32, .shape = {-1, -1}},
                         {.name = "sum", .dtype = DataType::kFp32, .shape = {-1, 1}}};
  }
  const models::ModelMetadata& metadata() const override { return metadata_; }

  absl::StatusOr<std::vector<Tensor>> Infer(const std::vector<Tensor>& inputs) override {
    const Tensor* x = FindTensor(inputs, "x");
    if (x == nullptr || x->shape.size() != 2) return absl::InvalidArgumentError("need x [n,w]");
    if (absl::Status status = EnterAndWait(x->shape[0]); !status.ok()) return status;
    std::vector<float> y, sums;
    for (int64_t r = 0; r < x->shape[0]; ++r) {
      float sum = 0;
      for (int64_t c = 0; c < x->shape[1]; ++c) {
        const float v = x->Values<float>()[r * x->shape[1] + c];
        y.push_back(10 * v);
        sum += v;
      }
      sums.push_back(sum);
    }
    int64_t rows = x->shape[0];
    if (bad_output_rows_) {
      y.insert(y.end(), x->shape[1], 0.0f);
      ++rows;
    }
    return std::vector<Tensor>{Tensor::Fp32("y", {rows, x->shape[1]}, y),
                               Tensor::Fp32("sum", {x->shape[0], 1}, sums)};
  }

 private:
  // Records the call, blocks while the gate is closed, applies the script.
  absl::Status EnterAndWait(int64_t batch) {
    probe_->Enter(this, batch);
    bad_output_rows_ = probe_->bad_output_rows;
    if (probe_->clock != nullptr) probe_->clock->Advance(probe_->compute_time);
    return probe_->fail_with;
  }

  ModelProbe* probe_;
  models::ModelMetadata metadata_;
  bool bad_output_rows_ = false;
};

// Collects job results by id.
class Results {
 public:
  std::function<void(absl::StatusOr<std::vector<Tensor>>)> Callback(int id) {
    return [this, id](absl::StatusOr<std::vector<Tensor>> result) {
      {
        MutexLock lock(&mu_);
        EXPECT_EQ(results_.count(id), 0u) << "done called twice for job " << id;
        results_.emplace(id, std::move(result));
      }
      changed_.SignalAll();
    };
  }
  size_t count() {
    MutexLock lock(&mu_);
    return results_.size();
  }
  bool Has(int id) {
    MutexLock lock(&mu_);
    return results_.count(id) > 0;
  }
  // Blocks until `n` results arrived; false when kGuard passed first.
  bool WaitForCount(size_t n) {
    const auto give_up = GiveUpTime();
    MutexLock lock(&mu_);
    while (results_.size() < n) {
      if (changed_.WaitUntil(&mu_, give_up)) return results_.size() >= n;
    }
    return true;
  }
  absl::StatusOr<std::vector<Tensor>> Get(int id) {
    MutexLock lock(&mu_);
    auto it = results_.find(id);
    if (it == results_.end()) return absl::NotFoundError("no result");
    return it->second;
  }

 private:
  Mutex mu_;
  CondVar changed_;
  std::map<int, absl::StatusOr<std::vector<Tensor>>> results_ ABSL_GUARDED_BY(mu_);
};

// Request with input "x" FP32 [rows, width], values first, first + 1, ...
InferenceJob Job(Results& results, int id, int64_t rows, float first = 0, int64_t width = 2) {
  std::vector<float> values;
  for (int64_t i = 0; i < rows * width; ++i) values.push_back(first + static_cast<float>(i));
  InferenceJob job;
  job.inputs.push_back(Tensor::Fp32("x", {rows, width}, values));
  job.done = results.Callback(id);
  return job;
}

std::vector<float> ValuesOf(const Tensor& t) {
  return {t.Values<float>().begin(), t.Values<float>().end()};
}

class SchedulerTest : public ::testing::Test {
 protected:
  std::unique_ptr<ModelScheduler> Make(const SchedulerOptions& options, int model_max_batch = 8) {
    auto scheduler = ModelScheduler::Create(
        options,
        [this, model_max_batch]() -> absl::StatusOr<std::unique_ptr<models::Model>> {
          return std::make_unique<FakeModel>(&probe_, model_max_batch);
        },
        &stats_, &clock_);
    EXPECT_TRUE(scheduler.ok()) << scheduler.status();
    return scheduler.ok() ? *std::move(scheduler) : nullptr;
  }

  FakeClock clock_;
  ModelProbe probe_;
  ModelStats stats_{"fake", 1};
  Results results_;
};

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
