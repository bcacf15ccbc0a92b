// The model lifecycle behind the inference service: rescans (PollOnce and the
// polling thread on a FakeClock) pick up new, changed and removed models and
// versions under each version policy; a request queued on a replaced version
// completes there, one that resolved it just before is rerouted; load and
// unload on request; the repository index and statistics.
#include <chrono>
#include <filesystem>
#include <future>
#include <memory>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "models/backends/identity.h"
#include "models/backends/replay.h"
#include "serving/inference_service.h"
#include "serving/model_manager.h"
#include "testing/fake_clock.h"
#include "testing/test_env.h"

namespace dnoscope::serving {
namespace {

using ::dnoscope::testing::FakeClock;
using ::dnoscope::testing::ScratchDir;
using ::dnoscope::testing::WriteFile;
using ::testing::ElementsAre;
using ::testing::FloatEq;
using ::testing::HasSubstr;
namespace fs = std::filesystem;

constexpr char kEchoConfig[] = R"({"backend": "identity", "max_batch_size": 4})";

class ModelLifecycleTest : public ::testing::Test {
 protected:
  void AddVersion(const std::string& model, int version) {
    fs::create_directories(dir_.File(model + "/" + std::to_string(version)));
  }
  void AddModel(const std::string& model, const std::string& config,
                const std::vector<int>& versions) {
    fs::create_directories(dir_.File(model));
    WriteFile(dir_.File(model + "/config.json"), config);
    for (int v : versions) AddVersion(model, v);
  }

  void Start() {
    auto manager = ModelManager::Create(dir_.path(), {}, &metrics_, &clock_);
    ASSERT_TRUE(manager.ok()) << manager.status();
    manager_ = std::move(*manager);
    auto service = InferenceService::Create({}, manager_.get());
    ASSERT_TRUE(service.ok()) << service.status();
    service_ = std::move(*service);
  }

  // The versions of `model` the service serves (READY or not).
  std::vector<int64_t> Versions(const std::string& model) {
    std::vector<int64_t> out;
    absl::StatusOr<ModelState> state = service_->GetModelState(model, -1);
    if (!state.ok()) return out;
    for (const VersionState& v : state->versions) out.push_back(v.version);
    return out;
  }

  // The version a request naming none runs on; -1 when it fails.
  int64_t Latest(const std::string& model) {
    absl::StatusOr<ModelHandle> handle = service_->Resolve(model, -1);
    return handle.ok() ? handle->version() : -1;
  }

  static InferenceRequest EchoRequest() {
    return {.inputs = {Tensor::Fp32(models::kIdentityInput, {1, 2},
                                    std::vector<float>{1.5f, -2.0f})}};
  }

  std::future<absl::StatusOr<InferenceResponse>> InferAsync(const ModelHandle& handle,
                                                            InferenceRequest request) {
    auto promise = std::make_shared<std::promise<absl::StatusOr<InferenceResponse>>>();
    auto future = promise->get_future();
    service_->Infer(handle, std::move(request), [promise](absl::StatusOr<InferenceResponse> r) {
      promise->set_value(std::move(r));
    });
    return future;
  }

  static absl::StatusOr<InferenceResponse> Wait(
      std::future<absl::StatusOr<InferenceResponse>> future) {
    if (future.wait_for(std::chrono::seconds(60)) != std::future_status::ready) {
      return absl::DeadlineExceededError("test guard: no answer within 60 s of real time");
    }
    return future.get();
  }

  absl::StatusOr<InferenceResponse> Infer(const std::string& model, InferenceRequest request) {
    absl::StatusOr<ModelHandle> handle = service_->Resolve(model, -1);
    if (!handle.ok()) return handle.status();
    return Wait(InferAsync(*handle, std::move(request)));
  }

  ScratchDir dir_;
  FakeClock clock_;
  MetricsRegistry metrics_;
  std::unique_ptr<ModelManager> manager_;
  std::unique_ptr<InferenceService> service_;
};

// ---- version policies at load time

TEST_F(ModelLifecycleTest, EachPolicySelectsItsVersions) {
  AddModel("default", kEchoConfig, {1, 2, 3});
  AddModel("latest2",
           R"({"backend": "identity", "version_policy": {"latest": {"num_versions": 2}}})",
           {1, 2, 3});
  AddModel("all", R"({"backend": "identity", "version_policy": {"all": {}}})", {1, 2, 3});
  AddModel("specific",
           R"({"backend": "identity", "version_policy": {"specific": {"versions": [1, 3, 7]}}})",
           {1, 2, 3});
  AddModel("none",
           R"({"backend": "identity", "version_policy": {"specific": {"versions": [9]}}})", {1});
  Start();
  EXPECT_THAT(Versions("default"), ElementsAre(3));
  EXPECT_THAT(Versions("latest2"), ElementsAre(2, 3));
  EXPECT_THAT(Versions("all"), ElementsAre(1, 2, 3));
  EXPECT_THAT(Versions("specific"), ElementsAre(1, 3));
  EXPECT_EQ(service_->Resolve("specific", 2).status().code(), absl::StatusCode::kNotFound);
  absl::Status none = service_->ModelReady("none", -1);
  EXPECT_EQ(none.code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(none.message(), HasSubstr("version policy selects none"));
}

// ---- polling

TEST_F(ModelLifecycleTest, PollLoadsANewVersionThenUnloadsTheOldOne) {
  AddModel("echo", kEchoConfig, {1});
  Start();
  EXPECT_EQ(Latest("echo"), 1);
  AddVersion("echo", 2);
  ASSERT_TRUE(manager_->PollOnce().ok());
  EXPECT_EQ(Latest("echo"), 2);
  EXPECT_THAT(Versions("echo"), ElementsAre(2));
  EXPECT_EQ(service_->Resolve("echo", 1).status().code(), absl::StatusCode::kNotFound);
  absl::StatusOr<InferenceResponse> r = Infer("echo", EchoRequest());
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->version, 2);
}

TEST_F(ModelLifecycleTest, PollFollowsRemovedVersionsAndModelsAndNewModels) {
  AddModel("echo",
           R"({"backend": "identity", "version_policy": {"all": {}}})", {1, 2});
  AddModel("gone", kEchoConfig, {1});
  Start();
  EXPECT_THAT(Versions("echo"), ElementsAre(1, 2));
  fs::remove_all(dir_.File("echo/2"));
  fs::remove_all(dir_.File("gone"));
  AddModel("fresh", kEchoConfig, {4});
  ASSERT_TRUE(manager_->PollOnce().ok());
  EXPECT_THAT(Versions("echo"), ElementsAre(1));
  EXPECT_EQ(service_->ModelReady("gone", -1).code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(Latest("fresh"), 4);
  // Nothing changed: the next poll keeps the very same versions.
  absl::StatusOr<ModelHandle> before = service_->Resolve("echo", 1);
  ASSERT_TRUE(before.ok());
  ASSERT_TRUE(manager_->PollOnce().ok());
  absl::StatusOr<ModelHandle> after = service_->Resolve("echo", 1);
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(&before->metadata(), &after->metadata());
}

TEST_F(ModelLifecycleTest, ChangedVersionFilesAndConfigAreReloaded) {
  // A replay classifier: its answer is the frame's confidence in labels.csv.
  AddModel("spec",
           R"({"backend": "replay", "kind": "classifier", "max_batch_size": 4,
               "files": {"labels": "labels.csv"}})",
           {1});
  WriteFile(dir_.File("spec/1/labels.csv"),
            "frame,object_name,confidence,xmin,ymin,xmax,ymax\n0,person,0.5,1,2,3,4\n");
  AddModel("echo", kEchoConfig, {1});
  Start();
  auto confidence = [&]() -> float {
    const std::vector<uint8_t> pixels(8 * 8 * 3, 0);
    InferenceRequest request{
        .inputs = {Tensor::Uint8(models::kImageInput, {1, 8, 8, 3}, pixels.data(), pixels.size()),
                   Tensor::Int64(models::kFrameIndexInput, {1}, std::vector<int64_t>{0})}};
    absl::StatusOr<InferenceResponse> r = Infer("spec", std::move(request));
    if (!r.ok() || r->outputs.empty()) {
      ADD_FAILURE() << r.status();
      return -1;
    }
    return r->outputs[0].Values<float>()[0];
  };
  EXPECT_THAT(confidence(), FloatEq(0.5f));

  WriteFile(dir_.File("spec/1/labels.csv"),
            "frame,object_name,confidence,xmin,ymin,xmax,ymax\n0,person,0.75,1,2,3,4\n"
            "9,person,0.1,1,2,3,4\n");
  WriteFile(dir_.File("echo/config.json"),
            R"({"backend": "identity", "max_batch_size": 4, "identity": {"datatype": "INT32"}})");
  ASSERT_TRUE(manager_->PollOnce().ok());
  EXPECT_THAT(confidence(), FloatEq(0.75f));
  absl::StatusOr<ModelHandle> echo = service_->Resolve("echo", 1);
  ASSERT_TRUE(echo.ok()) << echo.status();
  ASSERT_FALSE(echo->metadata().inputs.empty());
  EXPECT_EQ(echo->metadata().inputs[0].dtype, DataType::kInt32);
}

TEST_F(ModelLifecycleTest, InvalidNewConfigKeepsTheLoadedVersionServing) {
  AddModel("echo", kEchoConfig, {1});
  Start();
  WriteFile(dir_.File("echo/config.json"), R"({"backend": "identity", "typo": 1})");
  ASSERT_TRUE(manager_->PollOnce().ok());
  absl::StatusOr<InferenceResponse> r = Infer("echo", EchoRequest());
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->version, 1);
}

TEST_F(ModelLifecycleTest, PollingThreadRescansEveryIntervalOfTheClock) {
  AddModel("echo", kEchoConfig, {1});
  Start();
  const Clock::TimePoint start = clock_.Now();
  const auto interval = std::chrono::seconds(5);
  ASSERT_TRUE(manager_->StartPolling(interval).ok());
  EXPECT_EQ(manager_->StartPolling(interval).code(), absl::StatusCode::kFailedPrecondition);
  ASSERT_TRUE(clock_.BlockUntilWaiterFor(start + interval));
  AddVersion("echo", 2);
  // Not before the interval has passed.
  clock_.Advance(interval - std::chrono::seconds(1));
  EXPECT_EQ(Latest("echo"), 1);
  clock_.Advance(std::chrono::seconds(1));
  // The thread polled once it waits for the next interval.
  ASSERT_TRUE(clock_.BlockUntilWaiterFor(start + 2 * interval));
  EXPECT_EQ(Latest("echo"), 2);
  manager_->Shutdown();
  EXPECT_EQ(manager_->PollOnce().code(), absl::StatusCode::kFailedPrecondition);
}

// ---- requests during a swap

TEST_F(ModelLifecycleTest, RequestQueuedOnAReplacedVersionCompletesOnIt) {
  // Partial batches wait a minute of fake time (which never passes here).
  AddModel("held",
           R"({"backend": "identity", "max_batch_size": 4,
               "dynamic_batching": {"max_queue_delay_us": 60000000}})",
           {1});
  Start();
  absl::StatusOr<ModelHandle> v1 = service_->Resolve("held", -1);
  ASSERT_TRUE(v1.ok());
  auto queued = InferAsync(*v1, EchoRequest());
  ASSERT_TRUE(clock_.BlockUntilWaiters(1));  // the request waits for company
  AddVersion("held", 2);
  ASSERT_TRUE(manager_->PollOnce().ok());  // unloading v1 drains its queue
  absl::StatusOr<InferenceResponse> r = Wait(std::move(queued));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->version, 1);
  EXPECT_EQ(Latest("held"), 2);
  EXPECT_EQ(metrics_.GetOrCreate("held", 1)->snapshot().request_success, 1u);
}

TEST_F(ModelLifecycleTest, RequestThatResolvedAnUnloadedVersionGoesToItsSuccessor) {
  AddModel("echo", kEchoConfig, {1});
  Start();
  absl::StatusOr<ModelHandle> v1 = service_->Resolve("echo", -1);
  ASSERT_TRUE(v1.ok());
  AddVersion("echo", 2);
  fs::remove_all(dir_.File("echo/1"));
  ASSERT_TRUE(manager_->PollOnce().ok());
  absl::StatusOr<InferenceResponse> r = Wait(InferAsync(*v1, EchoRequest()));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->version, 2);
  EXPECT_EQ(metrics_.GetOrCreate("echo", 1)->snapshot().request_failure, 0u);
  // A request that named the removed version has nowhere to go.
  absl::StatusOr<ModelHandle> named = service_->Resolve("echo", 2);
  ASSERT_TRUE(named.ok());
  fs::remove_all(dir_.File("echo"));
  ASSERT_TRUE(manager_->PollOnce().ok());
  absl::StatusOr<InferenceResponse> gone = Wait(InferAsync(*named, EchoRequest()));
  EXPECT_EQ(gone.status().code(), absl::StatusCode::kNotFound);
}

// ---- load and unload on request

TEST_F(ModelLifecycleTest, UnloadedModelStaysUnloadedUntilLoaded) {
  AddModel("echo", kEchoConfig, {1});
  Start();
  ASSERT_TRUE(service_->UnloadModel("echo").ok());
  absl::Status ready = service_->ModelReady("echo", -1);
  EXPECT_EQ(ready.code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(ready.message(), HasSubstr("unloaded"));
  EXPECT_TRUE(manager_->ready());  // an unloaded model does not count
  ASSERT_TRUE(manager_->PollOnce().ok());
  EXPECT_EQ(Latest("echo"), -1);  // polling leaves it alone

  AddVersion("echo", 2);
  ASSERT_TRUE(service_->LoadModel("echo").ok());
  EXPECT_EQ(Latest("echo"), 2);
  EXPECT_EQ(service_->LoadModel("nope").code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(service_->UnloadModel("nope").code(), absl::StatusCode::kNotFound);
}

TEST_F(ModelLifecycleTest, LoadOfAModelThatCannotLoadSaysWhy) {
  AddModel("cnn", R"({"backend": "opencv_dnn", "kind": "classifier", "files": {"model": "m.onnx"}})",
           {1});
  Start();
  absl::Status load = service_->LoadModel("cnn");
  EXPECT_EQ(load.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(load.message(), HasSubstr("m.onnx"));
}

// ---- repository index and statistics

TEST_F(ModelLifecycleTest, IndexListsVersionsWithStatesAndReasons) {
  AddModel("echo", R"({"backend": "identity", "version_policy": {"all": {}}})", {1, 2});
  AddModel("broken", R"({"backend": "identity", "typo": 1})", {1});
  AddModel("off", kEchoConfig, {1});
  Start();
  ASSERT_TRUE(service_->UnloadModel("off").ok());
  absl::StatusOr<std::vector<RepositoryModel>> index = service_->RepositoryIndex(false);
  ASSERT_TRUE(index.ok());
  ASSERT_EQ(index->size(), 4u);
  EXPECT_EQ((*index)[0].name, "broken");
  EXPECT_EQ((*index)[0].version, "");
  EXPECT_EQ((*index)[0].state, "UNAVAILABLE");
  EXPECT_THAT((*index)[0].reason, HasSubstr("typo"));
  EXPECT_EQ((*index)[1].name, "echo");
  EXPECT_EQ((*index)[1].version, "1");
  EXPECT_EQ((*index)[1].state, "READY");
  EXPECT_EQ((*index)[1].reason, "");
  EXPECT_EQ((*index)[2].version, "2");
  EXPECT_EQ((*index)[3].name, "off");
  EXPECT_EQ((*index)[3].state, "UNAVAILABLE");
  EXPECT_EQ((*index)[3].reason, "unloaded");
  absl::StatusOr<std::vector<RepositoryModel>> ready = service_->RepositoryIndex(true);
  ASSERT_TRUE(ready.ok());
  ASSERT_EQ(ready->size(), 2u);
  EXPECT_EQ((*ready)[0].name, "echo");
  EXPECT_EQ((*ready)[1].name, "echo");
}

TEST_F(ModelLifecycleTest, StatisticsCountPerVersion) {
  AddModel("echo", R"({"backend": "identity", "max_batch_size": 4,
                       "version_policy": {"all": {}}})",
           {1, 2});
  AddModel("other", kEchoConfig, {1});
  Start();
  ASSERT_TRUE(Infer("echo", EchoRequest()).ok());
  ASSERT_TRUE(Infer("echo", EchoRequest()).ok());
  InferenceRequest bad = EchoRequest();
  bad.inputs[0].name = "WRONG";
  EXPECT_FALSE(Infer("echo", std::move(bad)).ok());

  absl::StatusOr<std::vector<VersionStatistics>> v2 = service_->Statistics("echo", 2);
  ASSERT_TRUE(v2.ok()) << v2.status();
  ASSERT_EQ(v2->size(), 1u);
  const VersionStatistics& s = (*v2)[0];
  EXPECT_EQ(s.name, "echo");
  EXPECT_EQ(s.version, 2);
  EXPECT_EQ(s.success.count, 2);
  EXPECT_EQ(s.fail.count, 1);
  EXPECT_EQ(s.queue.count, 2);
  EXPECT_EQ(s.compute_infer.count, 2);
  EXPECT_EQ(s.inference_count, 2);
  EXPECT_EQ(s.execution_count, 2);
  EXPECT_GT(s.last_inference_ms, 0);

  absl::StatusOr<std::vector<VersionStatistics>> echo = service_->Statistics("echo", -1);
  ASSERT_TRUE(echo.ok());
  ASSERT_EQ(echo->size(), 2u);
  EXPECT_EQ((*echo)[0].version, 1);
  EXPECT_EQ((*echo)[0].success.count, 0);
  EXPECT_EQ((*echo)[0].last_inference_ms, 0);
  absl::StatusOr<std::vector<VersionStatistics>> all = service_->Statistics("", -1);
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->size(), 3u);
  EXPECT_EQ(service_->Statistics("echo", 7).status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(service_->Statistics("nope", -1).status().code(), absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace dnoscope::serving
