// The in-process stage: requests run on the workers' own model instances,
// normal priority before low, withdrawn ones are not run, and shutdown
// cancels what waits.
#include "models/local_stage.h"

#include <atomic>
#include <future>
#include <vector>

#include "common/mutex.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace dnoscope::models {
namespace {

using ::testing::ElementsAre;

// Echoes "x" as "y"; the first call blocks until released, so that tests
// can queue requests behind it.
class GateModel final : public Model {
 public:
  struct Shared {
    Mutex mu;
    CondVar cv;
    bool open ABSL_GUARDED_BY(mu) = false;
    bool entered ABSL_GUARDED_BY(mu) = false;
    std::vector<float> order ABSL_GUARDED_BY(mu);
  };
  explicit GateModel(Shared* shared) : shared_(shared) {
    metadata_.name = "gate";
    metadata_.inputs = {{"x", DataType::kFp32, {1}}};
    metadata_.outputs = {{"y", DataType::kFp32, {1}}};
  }
  const ModelMetadata& metadata() const override { return metadata_; }
  absl::StatusOr<std::vector<Tensor>> Infer(const std::vector<Tensor>& inputs) override {
    const float x = inputs.at(0).Values<float>()[0];
    MutexLock lock(&shared_->mu);
    shared_->entered = true;
    shared_->cv.SignalAll();
    while (!shared_->open) shared_->cv.Wait(&shared_->mu);
    shared_->order.push_back(x);
    if (x < 0) return absl::InternalError("negative");
    return std::vector<Tensor>{Tensor::Fp32("y", {1}, std::vector<float>{x})};
  }

 private:
  Shared* shared_;
  ModelMetadata metadata_;
};

StageRequest Request(float x, Priority priority = Priority::kNormal) {
  StageRequest r;
  r.inputs = {Tensor::Fp32("x", {1}, std::vector<float>{x})};
  r.priority = priority;
  return r;
}

std::future<absl::StatusOr<std::vector<Tensor>>> Submit(ModelStage& stage, StageRequest r) {
  auto promise = std::make_shared<std::promise<absl::StatusOr<std::vector<Tensor>>>>();
  auto future = promise->get_future();
  stage.InferAsync(std::move(r), [promise](auto result) { promise->set_value(std::move(result)); });
  return future;
}

void WaitEntered(GateModel::Shared& shared) {
  MutexLock lock(&shared.mu);
  while (!shared.entered) shared.cv.Wait(&shared.mu);
}

void Open(GateModel::Shared& shared) {
  MutexLock lock(&shared.mu);
  shared.open = true;
  shared.cv.SignalAll();
}

TEST(LocalStageTest, NormalPriorityRunsBeforeLowAndWithdrawnRequestsDoNotRun) {
  GateModel::Shared shared;
  std::unique_ptr<ModelStage> stage = MakeLocalStage(std::make_unique<GateModel>(&shared));
  auto first = Submit(*stage, Request(1));
  WaitEntered(shared);  // the worker is busy with request 1
  auto low = Submit(*stage, Request(2, Priority::kLow));
  auto withdrawn_flag = std::make_shared<std::atomic<bool>>(false);
  StageRequest withdrawn = Request(3);
  withdrawn.cancelled = withdrawn_flag;
  auto withdrawn_result = Submit(*stage, std::move(withdrawn));
  auto normal = Submit(*stage, Request(4));
  *withdrawn_flag = true;
  Open(shared);
  EXPECT_TRUE(first.get().ok());
  EXPECT_TRUE(low.get().ok());
  EXPECT_EQ(withdrawn_result.get().status().code(), absl::StatusCode::kCancelled);
  auto four = normal.get();
  ASSERT_TRUE(four.ok()) << four.status();
  EXPECT_EQ((*four)[0].name, "y");
  MutexLock lock(&shared.mu);
  EXPECT_THAT(shared.order, ElementsAre(1, 4, 2));
}

TEST(LocalStageTest, ModelErrorsReachDoneAndCountAsFailures) {
  GateModel::Shared shared;
  Open(shared);
  std::unique_ptr<ModelStage> stage = MakeLocalStage(std::make_unique<GateModel>(&shared));
  EXPECT_EQ(Submit(*stage, Request(-1)).get().status().code(), absl::StatusCode::kInternal);
  EXPECT_TRUE(Submit(*stage, Request(1)).get().ok());
  const StageStats stats = stage->stats();
  ASSERT_EQ(stats.endpoints.size(), 1u);
  EXPECT_EQ(stats.endpoints[0].requests, 2);
  EXPECT_EQ(stats.endpoints[0].failures, 1);
  EXPECT_EQ(stats.endpoints[0].in_flight, 0);
}

TEST(LocalStageTest, ShutdownCancelsQueuedRequestsAndRefusesNewOnes) {
  GateModel::Shared shared;
  std::unique_ptr<ModelStage> stage = MakeLocalStage(std::make_unique<GateModel>(&shared));
  auto running = Submit(*stage, Request(1));
  WaitEntered(shared);
  auto queued = Submit(*stage, Request(2));
  absl::Status queued_status;
  std::thread opener([&] {
    // Shutdown cancels what waits before it joins the busy worker.
    queued_status = queued.get().status();
    Open(shared);
  });
  stage->Shutdown();
  opener.join();
  EXPECT_TRUE(running.get().ok());  // under way: finishes normally
  EXPECT_EQ(queued_status.code(), absl::StatusCode::kCancelled);
  EXPECT_EQ(Submit(*stage, Request(3)).get().status().code(), absl::StatusCode::kCancelled);
}

TEST(LocalStageTest, WorkersRunOneInstanceEachOfOneModel) {
  GateModel::Shared shared;
  Open(shared);
  std::vector<std::unique_ptr<Model>> instances;
  instances.push_back(std::make_unique<GateModel>(&shared));
  instances.push_back(std::make_unique<GateModel>(&shared));
  auto stage = MakeLocalStage(std::move(instances));
  ASSERT_TRUE(stage.ok()) << stage.status();
  EXPECT_THAT((*stage)->Describe(), ::testing::HasSubstr("2 workers"));
  std::vector<std::future<absl::StatusOr<std::vector<Tensor>>>> results;
  for (int i = 0; i < 8; ++i) results.push_back(Submit(**stage, Request(static_cast<float>(i))));
  for (auto& r : results) EXPECT_TRUE(r.get().ok());
  EXPECT_FALSE(MakeLocalStage(std::vector<std::unique_ptr<Model>>{}).ok());
}

}  // namespace
}  // namespace dnoscope::models
