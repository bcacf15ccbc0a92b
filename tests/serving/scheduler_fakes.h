// Test doubles for the ModelScheduler tests (scheduler_test.cc,
// scheduler_lifecycle_test.cc): a scripted FakeModel whose instances share a
// ModelProbe (record of calls, a gate that holds Infer), a Results collector
// of `done` callbacks, and a fixture whose schedulers run on a FakeClock.
//
// Every wait here is a condition wait with a real-time guard (kGuard) that
// only turns a hang into a failure; no test sleeps or polls.
//
// Thread-safety: ModelProbe and Results are thread-safe.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "common/mutex.h"
#include "gtest/gtest.h"
#include "serving/scheduler.h"
#include "testing/fake_clock.h"

namespace dnoscope::serving::scheduler_testing {

using ::dnoscope::testing::FakeClock;

// Real-time bound on every wait in these tests: only a guard against hangs,
// never reached when the code is right.
inline constexpr auto kGuard = std::chrono::seconds(60);

inline std::chrono::steady_clock::time_point GiveUpTime() {
  return std::chrono::steady_clock::now() + kGuard;
}

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
      // Signalled under the lock: a test that saw the last result may
      // destroy this object as soon as the lock is free.
      MutexLock lock(&mu_);
      EXPECT_EQ(results_.count(id), 0u) << "done called twice for job " << id;
      results_.emplace(id, std::move(result));
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
inline InferenceJob Job(Results& results, int id, int64_t rows, float first = 0, int64_t width = 2) {
  std::vector<float> values;
  for (int64_t i = 0; i < rows * width; ++i) values.push_back(first + static_cast<float>(i));
  InferenceJob job;
  job.inputs.push_back(Tensor::Fp32("x", {rows, width}, values));
  job.done = results.Callback(id);
  return job;
}

inline std::vector<float> ValuesOf(const Tensor& t) {
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

}  // namespace dnoscope::serving::scheduler_testing
