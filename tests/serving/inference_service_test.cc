// InferenceService without any front end: model/version resolution,
// metadata views, tensor and output checks, deadlines, failure counting and
// the success path, against a real ModelManager over a scratch repository
// whose schedulers wait on a FakeClock.
#include "serving/inference_service.h"

#include <chrono>
#include <filesystem>
#include <future>
#include <memory>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "testing/fake_clock.h"
#include "testing/onnx_builder.h"
#include "testing/test_env.h"

namespace dnoscope::serving {
namespace {

using ::dnoscope::testing::FakeClock;
using ::dnoscope::testing::ScratchDir;
using ::dnoscope::testing::WriteFile;
using ::testing::HasSubstr;
using std::chrono::microseconds;
namespace fs = std::filesystem;

constexpr auto kGuard = std::chrono::seconds(60);

void AddModel(const ScratchDir& dir, const std::string& name, const std::string& config,
              const std::vector<int>& versions) {
  fs::create_directories(dir.File(name));
  WriteFile(dir.File(name + "/config.json"), config);
  for (int v : versions) fs::create_directories(dir.File(name + "/" + std::to_string(v)));
}

// echo: identity FP32 [N,-1] (max batch 4), versions 1 and 3 (policy all).
// held: echo whose partial batches wait a minute for company.
// cnn: ONNX classifier; version 1 loads, version 2 lacks its file (policy all).
// broken: a config.json with an unknown key.
void WriteRepository(const ScratchDir& dir) {
  AddModel(dir, "echo",
           R"({"backend": "identity", "max_batch_size": 4, "version_policy": {"all": {}}})",
           {1, 3});
  AddModel(dir, "held",
           R"({"backend": "identity", "max_batch_size": 4,
               "dynamic_batching": {"max_queue_delay_us": 60000000}})",
           {1});
  AddModel(dir, "cnn",
           R"({"backend": "opencv_dnn", "kind": "classifier", "files": {"model": "m.onnx"},
               "version_policy": {"all": {}}})",
           {1, 2});
  WriteFile(dir.File("cnn/1/m.onnx"), models::testing::MeanIntensityClassifierOnnx(50, 50));
  AddModel(dir, "broken", R"({"backend": "identity", "unknown_key": 1})", {1});
}

Tensor Input(std::vector<int64_t> shape, const std::vector<float>& values,
             std::string name = "INPUT0") {
  return Tensor::Fp32(std::move(name), std::move(shape), values);
}

class InferenceServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    WriteRepository(dir_);
    Start({});
  }

  void Start(const InferenceServiceOptions& options) {
    service_.reset();
    auto manager = ModelManager::Create(dir_.path(), {}, &metrics_, &clock_);
    ASSERT_TRUE(manager.ok()) << manager.status();
    manager_ = std::move(*manager);
    auto service = InferenceService::Create(options, manager_.get());
    ASSERT_TRUE(service.ok()) << service.status();
    service_ = std::move(*service);
  }

  // Starts an inference; the future holds what `done` received.
  std::future<absl::StatusOr<InferenceResponse>> InferAsync(const std::string& model,
                                                            int64_t version,
                                                            InferenceRequest request) {
    auto promise = std::make_shared<std::promise<absl::StatusOr<InferenceResponse>>>();
    std::future<absl::StatusOr<InferenceResponse>> future = promise->get_future();
    absl::StatusOr<ModelHandle> handle = service_->Resolve(model, version);
    if (!handle.ok()) {
      promise->set_value(handle.status());
      return future;
    }
    service_->Infer(*handle, std::move(request),
                    [promise](absl::StatusOr<InferenceResponse> r) {
                      promise->set_value(std::move(r));
                    });
    return future;
  }

  absl::StatusOr<InferenceResponse> Infer(const std::string& model, int64_t version,
                                          InferenceRequest request) {
    return Wait(InferAsync(model, version, std::move(request)));
  }

  static absl::StatusOr<InferenceResponse> Wait(
      std::future<absl::StatusOr<InferenceResponse>> future) {
    if (future.wait_for(kGuard) != std::future_status::ready) {
      return absl::DeadlineExceededError("test guard: no answer within 60 s of real time");
    }
    return future.get();
  }

  ModelStats::Snapshot Stats(const std::string& model, int64_t version) {
    return metrics_.GetOrCreate(model, version)->snapshot();
  }

  ScratchDir dir_;
  FakeClock clock_;
  MetricsRegistry metrics_;
  std::unique_ptr<ModelManager> manager_;
  std::unique_ptr<InferenceService> service_;
};

// ---- resolution

TEST_F(InferenceServiceTest, UnknownModelIsNotFoundListingTheModels) {
  absl::StatusOr<ModelHandle> handle = service_->Resolve("nope", -1);
  EXPECT_EQ(handle.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(handle.status().message(), HasSubstr("unknown model 'nope'"));
  EXPECT_THAT(handle.status().message(), HasSubstr("broken, cnn, echo, held"));
  EXPECT_EQ(service_->ModelReady("nope", -1).code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(service_->DescribeModel("nope", -1).status().code(), absl::StatusCode::kNotFound);
}

TEST_F(InferenceServiceTest, UnknownVersionIsNotFoundListingTheVersions) {
  absl::StatusOr<ModelHandle> handle = service_->Resolve("echo", 2);
  EXPECT_EQ(handle.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(handle.status().message(), HasSubstr("no version 2 (versions: 1, 3)"));
  EXPECT_EQ(service_->GetModelState("echo", 2).status().code(), absl::StatusCode::kNotFound);
}

TEST_F(InferenceServiceTest, UnavailableModelOrVersionIsUnavailableWithTheReason) {
  absl::Status broken = service_->ModelReady("broken", -1);
  EXPECT_EQ(broken.code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(broken.message(), HasSubstr("unknown_key"));
  absl::Status missing_file = service_->Resolve("cnn", 2).status();
  EXPECT_EQ(missing_file.code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(missing_file.message(), HasSubstr("version 2 is unavailable"));
  EXPECT_THAT(missing_file.message(), HasSubstr("m.onnx"));
}

TEST_F(InferenceServiceTest, NoVersionMeansTheHighestReadyOne) {
  absl::StatusOr<ModelHandle> echo = service_->Resolve("echo", -1);
  ASSERT_TRUE(echo.ok()) << echo.status();
  EXPECT_EQ(echo->version(), 3);
  absl::StatusOr<ModelHandle> cnn = service_->Resolve("cnn", -1);
  ASSERT_TRUE(cnn.ok()) << cnn.status();
  EXPECT_EQ(cnn->version(), 1);  // 2 is higher but not READY
  EXPECT_EQ(cnn->metadata().inputs[0].shape, (std::vector<int64_t>{-1, 50, 50, 3}));
}

// ---- health and metadata

TEST_F(InferenceServiceTest, LiveAlwaysAndReadyOnlyWhenEveryModelIsUnderStrictReadiness) {
  EXPECT_TRUE(service_->live());
  EXPECT_FALSE(service_->ready());  // "broken" and cnn version 2
  EXPECT_EQ(service_->server_info().name, "dnoscope");
}

TEST_F(InferenceServiceTest, DescribeModelShowsAVersionReadyOrNot) {
  absl::StatusOr<ModelDescription> cnn = service_->DescribeModel("cnn", -1);
  ASSERT_TRUE(cnn.ok()) << cnn.status();
  EXPECT_EQ(cnn->version, 1);
  EXPECT_TRUE(cnn->status.ok());
  EXPECT_EQ(cnn->metadata.outputs.size(), 1u);
  ASSERT_EQ(cnn->model.versions.size(), 2u);

  absl::StatusOr<ModelDescription> cnn2 = service_->DescribeModel("cnn", 2);
  ASSERT_TRUE(cnn2.ok()) << cnn2.status();
  EXPECT_EQ(cnn2->version, 2);
  EXPECT_THAT(cnn2->status.message(), HasSubstr("m.onnx"));
  EXPECT_TRUE(cnn2->metadata.inputs.empty());

  absl::StatusOr<ModelDescription> broken = service_->DescribeModel("broken", -1);
  ASSERT_TRUE(broken.ok()) << broken.status();
  EXPECT_EQ(broken->version, -1);
  EXPECT_THAT(broken->status.message(), HasSubstr("unknown_key"));
}

TEST_F(InferenceServiceTest, ModelStateAndConfig) {
  absl::StatusOr<ModelState> cnn = service_->GetModelState("cnn", -1);
  ASSERT_TRUE(cnn.ok()) << cnn.status();
  ASSERT_EQ(cnn->versions.size(), 2u);
  EXPECT_TRUE(cnn->versions[0].status.ok());
  EXPECT_FALSE(cnn->versions[1].status.ok());
  absl::StatusOr<ModelState> only = service_->GetModelState("cnn", 2);
  ASSERT_TRUE(only.ok()) << only.status();
  ASSERT_EQ(only->versions.size(), 1u);
  EXPECT_EQ(only->versions[0].version, 2);

  absl::StatusOr<models::ModelConfig> config = service_->GetModelConfig("held");
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->backend, "identity");
  EXPECT_EQ(config->max_queue_delay_us, 60000000);
  EXPECT_EQ(service_->GetModelConfig("broken").status().code(), absl::StatusCode::kUnavailable);
}

// ---- inference

TEST_F(InferenceServiceTest, SuccessReturnsTheOutputsAndTheVersionThatRan) {
  absl::StatusOr<InferenceResponse> r =
      Infer("echo", -1, {.inputs = {Input({2, 2}, {1, 2, 3, 4.5f})}});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->model, "echo");
  EXPECT_EQ(r->version, 3);
  ASSERT_EQ(r->outputs.size(), 1u);
  EXPECT_EQ(r->outputs[0].name, "OUTPUT0");
  EXPECT_EQ(r->outputs[0].shape, (std::vector<int64_t>{2, 2}));
  EXPECT_EQ(r->outputs[0].data, Input({2, 2}, {1, 2, 3, 4.5f}).data);
  EXPECT_EQ(Stats("echo", 3).request_success, 1u);
  EXPECT_EQ(Stats("echo", 3).request_failure, 0u);
}

struct BadRequestCase {
  std::string name;
  std::vector<Tensor> inputs;
  std::vector<std::string> outputs;
  std::string message;
};

class InferenceServiceBadRequestTest : public InferenceServiceTest,
                                       public ::testing::WithParamInterface<BadRequestCase> {};

TEST_P(InferenceServiceBadRequestTest, IsInvalidArgumentCountedAndNeverQueued) {
  const BadRequestCase& c = GetParam();
  absl::StatusOr<InferenceResponse> r =
      Infer("echo", 1, {.inputs = c.inputs, .requested_outputs = c.outputs});
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument) << r.status();
  EXPECT_THAT(r.status().message(), HasSubstr(c.message));
  const ModelStats::Snapshot stats = Stats("echo", 1);
  EXPECT_EQ(stats.request_failure, 1u);
  EXPECT_EQ(stats.exec_count, 0u);
  EXPECT_EQ(stats.pending_request_count, 0);
}

INSTANTIATE_TEST_SUITE_P(
    Checks, InferenceServiceBadRequestTest,
    ::testing::Values(
        BadRequestCase{"UnknownInput", {Input({1, 1}, {1}, "X")}, {}, "has no input 'X'"},
        BadRequestCase{"MissingInput", {}, {}, "needs input 'INPUT0'"},
        BadRequestCase{"DuplicatedInput", {Input({1, 1}, {1}), Input({1, 1}, {1})}, {},
                       "given twice"},
        BadRequestCase{"WrongDatatype",
                       {Tensor::Int64("INPUT0", {1, 1}, std::vector<int64_t>{1})},
                       {},
                       "must be FP32"},
        BadRequestCase{"WrongRank", {Input({3}, {1, 2, 3})}, {}, "must have shape"},
        BadRequestCase{"BatchOverTheMaximum", {Input({5, 1}, {1, 2, 3, 4, 5})}, {}, "outside 1..4"},
        BadRequestCase{"UnknownOutput", {Input({1, 1}, {1})}, {"NOPE"}, "has no output 'NOPE'"},
        BadRequestCase{"DuplicatedOutput", {Input({1, 1}, {1})}, {"OUTPUT0", "OUTPUT0"},
                       "requested twice"}),
    [](const ::testing::TestParamInfo<BadRequestCase>& info) { return info.param.name; });

TEST_F(InferenceServiceTest, RejectCountsAFailureOfTheResolvedVersion) {
  absl::StatusOr<ModelHandle> handle = service_->Resolve("echo", 1);
  ASSERT_TRUE(handle.ok()) << handle.status();
  const absl::Status error = absl::InvalidArgumentError("body did not decode");
  EXPECT_EQ(service_->Reject(*handle, error), error);
  EXPECT_EQ(Stats("echo", 1).request_failure, 1u);
  EXPECT_EQ(Stats("echo", 3).request_failure, 0u);
}

TEST_F(InferenceServiceTest, RequestTimeoutBecomesTheDeadlineInTheQueue) {
  const Clock::TimePoint sent = clock_.Now();
  auto result = InferAsync("held", 1, {.inputs = {Input({1, 1}, {1})}, .timeout = microseconds(1500)});
  // The scheduler waits for the request's deadline, not the minute of batching delay.
  ASSERT_TRUE(clock_.BlockUntilWaiters(1));
  EXPECT_EQ(clock_.NextDeadline(), sent + microseconds(1500));
  clock_.Advance(microseconds(1500));
  absl::StatusOr<InferenceResponse> r = Wait(std::move(result));
  EXPECT_EQ(r.status().code(), absl::StatusCode::kDeadlineExceeded) << r.status();
  EXPECT_EQ(Stats("held", 1).request_failure, 1u);
  EXPECT_EQ(Stats("held", 1).exec_count, 0u);
}

TEST_F(InferenceServiceTest, DefaultTimeoutAppliesToRequestsWithoutOne) {
  Start({.default_timeout = microseconds(2000)});
  const Clock::TimePoint sent = clock_.Now();
  auto result = InferAsync("held", 1, {.inputs = {Input({1, 1}, {1})}});
  ASSERT_TRUE(clock_.BlockUntilWaiters(1));
  EXPECT_EQ(clock_.NextDeadline(), sent + microseconds(2000));
  clock_.Advance(microseconds(2000));
  EXPECT_EQ(Wait(std::move(result)).status().code(), absl::StatusCode::kDeadlineExceeded);
}

TEST_F(InferenceServiceTest, WithoutAnyTimeoutOnlyTheBatchingDelayIsAwaited) {
  const Clock::TimePoint sent = clock_.Now();
  auto result = InferAsync("held", 1, {.inputs = {Input({1, 1}, {7})}});
  ASSERT_TRUE(clock_.BlockUntilWaiters(1));
  EXPECT_EQ(clock_.NextDeadline(), sent + std::chrono::minutes(1));
  clock_.Advance(std::chrono::minutes(1));
  absl::StatusOr<InferenceResponse> r = Wait(std::move(result));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->outputs[0].Values<float>()[0], 7.0f);
}

TEST_F(InferenceServiceTest, NegativeTimeoutIsInvalidArgument) {
  absl::StatusOr<InferenceResponse> r =
      Infer("echo", 1, {.inputs = {Input({1, 1}, {1})}, .timeout = microseconds(-1)});
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Stats("echo", 1).request_failure, 1u);
}

TEST(InferenceServiceCreateTest, RejectsMissingModelsAndNegativeDefaultTimeout) {
  EXPECT_EQ(InferenceService::Create({}, nullptr).status().code(),
            absl::StatusCode::kInvalidArgument);
  ScratchDir dir;
  MetricsRegistry metrics;
  auto manager = ModelManager::Create(dir.path(), {}, &metrics);
  ASSERT_TRUE(manager.ok()) << manager.status();
  EXPECT_EQ(InferenceService::Create({.default_timeout = microseconds(-1)}, manager->get())
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(InferenceService::Create({}, manager->get()).ok());
}

}  // namespace
}  // namespace dnoscope::serving
