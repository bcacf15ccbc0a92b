// BatchingStage: concurrent requests merge up to the row cap (the options'
// or the model's), a partial batch leaves at its deadline and not before
// (FakeClock), incompatible or lower-priority requests are not merged,
// outputs are split back to their requests, errors reach every merged
// request, withdrawn and shut-down requests complete with Cancelled.
#include "models/batching_stage.h"

#include <atomic>
#include <map>
#include <optional>
#include <vector>

#include "gtest/gtest.h"
#include "testing/fake_clock.h"

namespace dnoscope::models {
namespace {

using std::chrono::microseconds;
using Result = absl::StatusOr<std::vector<Tensor>>;

// Records the requests it receives; the test completes them.
class RecordingStage final : public ModelStage {
 public:
  explicit RecordingStage(int max_batch_size) { metadata_.max_batch_size = max_batch_size; }
  const ModelMetadata& metadata() const override { return metadata_; }
  std::string Describe() const override { return "recording"; }
  void InferAsync(StageRequest request, Done done) override {
    MutexLock lock(&mu_);
    received_.push_back({std::move(request), std::move(done)});
    cv_.SignalAll();
  }
  StageStats stats() const override { return {}; }
  void Shutdown() override { shut_down_ = true; }

  // Waits (real time, bounded) until `n` requests arrived; their count.
  size_t WaitForRequests(size_t n) {
    const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    MutexLock lock(&mu_);
    while (received_.size() < n && !cv_.WaitUntil(&mu_, give_up)) {
    }
    return received_.size();
  }
  size_t count() {
    MutexLock lock(&mu_);
    return received_.size();
  }
  // Rows of request i's first input.
  int64_t Rows(size_t i) {
    MutexLock lock(&mu_);
    return received_[i].request.inputs[0].shape[0];
  }
  // Completes request i echoing its first input as the output "y".
  void Echo(size_t i) {
    Done done;
    std::vector<Tensor> out;
    {
      MutexLock lock(&mu_);
      out.push_back(received_[i].request.inputs[0]);
      out[0].name = "y";
      done = std::move(received_[i].done);
    }
    done(std::move(out));
  }
  void Fail(size_t i, absl::Status status) {
    Done done;
    {
      MutexLock lock(&mu_);
      done = std::move(received_[i].done);
    }
    done(std::move(status));
  }
  std::atomic<bool> shut_down_{false};

 private:
  struct Received {
    StageRequest request;
    Done done;
  };
  ModelMetadata metadata_;
  Mutex mu_;
  CondVar cv_;
  std::vector<Received> received_ ABSL_GUARDED_BY(mu_);
};

// `values.size()` rows of one FP32 value each, input "x".
StageRequest Rows(std::vector<float> values, Priority priority = Priority::kNormal) {
  StageRequest r;
  r.inputs.push_back(Tensor::Fp32("x", {static_cast<int64_t>(values.size()), 1}, values));
  r.priority = priority;
  return r;
}

// Collects the results of requests, by request number.
class Results {
 public:
  ModelStage::Done For(int i) {
    return [this, i](Result r) {
      MutexLock lock(&mu_);
      results_.emplace(i, std::move(r));
    };
  }
  std::optional<Result> Get(int i) {
    MutexLock lock(&mu_);
    auto it = results_.find(i);
    if (it == results_.end()) return std::nullopt;
    return it->second;
  }
  std::vector<float> Values(int i) {
    std::optional<Result> r = Get(i);
    if (!r || !r->ok()) return {};
    auto v = (**r)[0].Values<float>();
    return {v.begin(), v.end()};
  }

 private:
  Mutex mu_;
  std::map<int, Result> results_ ABSL_GUARDED_BY(mu_);
};

struct Fixture {
  explicit Fixture(BatchingStageOptions options, int model_max_batch = 0) {
    auto inner_owned = std::make_unique<RecordingStage>(model_max_batch);
    inner = inner_owned.get();
    stage = *BatchingStage::Create(std::move(inner_owned), options, &clock);
  }
  testing::FakeClock clock;
  RecordingStage* inner = nullptr;
  std::unique_ptr<BatchingStage> stage;
  Results results;
};

TEST(BatchingStageTest, MergesConcurrentRequestsAndSplitsOutputsBack) {
  Fixture f({.max_batch = 4, .max_delay = microseconds(1000)});
  f.stage->InferAsync(Rows({1, 2}), f.results.For(0));
  f.stage->InferAsync(Rows({3}), f.results.For(1));
  f.stage->InferAsync(Rows({4}), f.results.For(2));
  // Four rows: full, sent without waiting for the deadline.
  ASSERT_EQ(f.inner->WaitForRequests(1), 1u);
  EXPECT_EQ(f.inner->Rows(0), 4);
  f.inner->Echo(0);
  EXPECT_EQ(f.results.Values(0), (std::vector<float>{1, 2}));
  EXPECT_EQ(f.results.Values(1), (std::vector<float>{3}));
  EXPECT_EQ(f.results.Values(2), (std::vector<float>{4}));
  const BatchingFigures figures = f.stage->figures();
  EXPECT_EQ(figures.requests, 3);
  EXPECT_EQ(figures.batches, 1);
  EXPECT_DOUBLE_EQ(figures.MeanBatchRows(), 4.0);
}

TEST(BatchingStageTest, SendsPartialBatchAtDeadlineAndNotBefore) {
  Fixture f({.max_batch = 8, .max_delay = microseconds(1000)});
  f.stage->InferAsync(Rows({1}), f.results.For(0));
  ASSERT_TRUE(f.clock.BlockUntilWaiters(1));
  f.clock.Advance(microseconds(999));
  ASSERT_TRUE(f.clock.BlockUntilWaiters(1));
  EXPECT_EQ(f.inner->count(), 0u);
  f.stage->InferAsync(Rows({2}), f.results.For(1));
  f.clock.Advance(microseconds(1));
  ASSERT_EQ(f.inner->WaitForRequests(1), 1u);
  EXPECT_EQ(f.inner->Rows(0), 2);
  f.inner->Echo(0);
  EXPECT_EQ(f.results.Values(1), (std::vector<float>{2}));
}

TEST(BatchingStageTest, CapsRowsAtTheModelsMaxBatchSize) {
  Fixture f({.max_batch = 8, .max_delay = microseconds(1000)}, /*model_max_batch=*/2);
  EXPECT_EQ(f.stage->max_batch(), 2);
  for (int i = 0; i < 3; ++i) f.stage->InferAsync(Rows({float(i)}), f.results.For(i));
  ASSERT_EQ(f.inner->WaitForRequests(1), 1u);
  EXPECT_EQ(f.inner->Rows(0), 2);
  // The third waits for its deadline.
  ASSERT_TRUE(f.clock.BlockUntilWaiters(1));
  EXPECT_EQ(f.inner->count(), 1u);
  f.clock.Advance(microseconds(1000));
  ASSERT_EQ(f.inner->WaitForRequests(2), 2u);
  EXPECT_EQ(f.inner->Rows(1), 1);
}

TEST(BatchingStageTest, LargerThanCapGoesThroughUnchanged) {
  Fixture f({.max_batch = 2, .max_delay = microseconds(1000)});
  f.stage->InferAsync(Rows({1, 2, 3}), f.results.For(0));
  ASSERT_EQ(f.inner->WaitForRequests(1), 1u);
  EXPECT_EQ(f.inner->Rows(0), 3);
}

TEST(BatchingStageTest, DoesNotMergeAcrossPrioritiesOrIncompatibleInputs) {
  Fixture f({.max_batch = 8, .max_delay = microseconds(1000)});
  f.stage->InferAsync(Rows({1}, Priority::kLow), f.results.For(0));
  StageRequest wide;
  wide.inputs.push_back(Tensor::Fp32("x", {1, 2}, std::vector<float>{5, 6}));
  f.stage->InferAsync(std::move(wide), f.results.For(1));
  f.stage->InferAsync(Rows({2}), f.results.For(2));
  ASSERT_TRUE(f.clock.BlockUntilWaiters(1));
  f.clock.Advance(microseconds(1000));
  // Three separate requests; the normal-priority ones first.
  ASSERT_EQ(f.inner->WaitForRequests(3), 3u);
  for (size_t i = 0; i < 3; ++i) f.inner->Echo(i);
  EXPECT_EQ(f.results.Values(0), (std::vector<float>{1}));
  EXPECT_EQ(f.results.Values(1), (std::vector<float>{5, 6}));
  EXPECT_EQ(f.results.Values(2), (std::vector<float>{2}));
  EXPECT_EQ(f.stage->figures().batches, 3);
}

TEST(BatchingStageTest, ErrorOfMergedRequestReachesEveryRequest) {
  Fixture f({.max_batch = 2, .max_delay = microseconds(1000)});
  f.stage->InferAsync(Rows({1}), f.results.For(0));
  f.stage->InferAsync(Rows({2}), f.results.For(1));
  ASSERT_EQ(f.inner->WaitForRequests(1), 1u);
  f.inner->Fail(0, absl::UnavailableError("down"));
  for (int i : {0, 1}) {
    ASSERT_TRUE(f.results.Get(i).has_value());
    EXPECT_EQ(f.results.Get(i)->status().code(), absl::StatusCode::kUnavailable);
  }
}

TEST(BatchingStageTest, WithdrawnRequestIsCancelledAndNotSent) {
  Fixture f({.max_batch = 8, .max_delay = microseconds(1000)});
  auto flag = std::make_shared<std::atomic<bool>>(false);
  StageRequest withdrawn = Rows({1});
  withdrawn.cancelled = flag;
  f.stage->InferAsync(std::move(withdrawn), f.results.For(0));
  f.stage->InferAsync(Rows({2}), f.results.For(1));
  flag->store(true);
  ASSERT_TRUE(f.clock.BlockUntilWaiters(1));
  f.clock.Advance(microseconds(1000));
  ASSERT_EQ(f.inner->WaitForRequests(1), 1u);
  EXPECT_EQ(f.inner->Rows(0), 1);
  ASSERT_TRUE(f.results.Get(0).has_value());
  EXPECT_EQ(f.results.Get(0)->status().code(), absl::StatusCode::kCancelled);
}

TEST(BatchingStageTest, ShutdownCancelsWaitingRequestsAndShutsInnerDown) {
  Fixture f({.max_batch = 8, .max_delay = microseconds(1000)});
  f.stage->InferAsync(Rows({1}), f.results.For(0));
  f.stage->Shutdown();
  ASSERT_TRUE(f.results.Get(0).has_value());
  EXPECT_EQ(f.results.Get(0)->status().code(), absl::StatusCode::kCancelled);
  EXPECT_TRUE(f.inner->shut_down_);
  f.stage->InferAsync(Rows({2}), f.results.For(1));
  EXPECT_EQ(f.results.Get(1)->status().code(), absl::StatusCode::kCancelled);
}

TEST(BatchingStageTest, RejectsBadOptions) {
  EXPECT_FALSE(BatchingStage::Create(std::make_unique<RecordingStage>(0), {.max_batch = 0}).ok());
  EXPECT_FALSE(BatchingStage::Create(nullptr, {}).ok());
}

}  // namespace
}  // namespace dnoscope::models
