// GrpcServer on 127.0.0.1, port 0, called through a stock generated gRPC stub:
// every RPC of inference.GRPCInferenceService, its errors and their status
// codes, raw and typed tensor contents, gzip-compressed requests, and that
// the front end goes through the same InferenceService as REST (failures are
// counted, statistics and the repository index come from it). The
// schedulers wait on a FakeClock, so a request held for batching company
// stays queued until the test ends.
#include "serving/grpc/grpc_server.h"

#include <chrono>
#include <cstring>
#include <filesystem>
#include <future>
#include <thread>

#include "gmock/gmock.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "protocol/grpc/inference.grpc.pb.h"
#include "protocol/grpc/kserve_grpc.h"
#include "testing/fake_clock.h"
#include "testing/test_env.h"

namespace dnoscope::serving::grpc {
namespace {

using ::dnoscope::testing::FakeClock;
using ::dnoscope::testing::ScratchDir;
using ::dnoscope::testing::WriteFile;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
namespace fs = std::filesystem;

void AddModel(const ScratchDir& dir, const std::string& name, const std::string& config) {
  fs::create_directories(dir.File(name + "/1"));
  WriteFile(dir.File(name + "/config.json"), config);
}

// echo (identity FP32, batch 8), held (echo whose partial batches wait a
// minute of fake time for company), blob (identity BYTES), broken (bad config).
void WriteRepository(const ScratchDir& dir) {
  AddModel(dir, "echo", R"({"backend": "identity", "max_batch_size": 8})");
  AddModel(dir, "held",
           R"({"backend": "identity", "max_batch_size": 8,
               "dynamic_batching": {"max_queue_delay_us": 60000000}})");
  AddModel(dir, "blob",
           R"({"backend": "identity", "max_batch_size": 4, "identity": {"datatype": "BYTES"}})");
  AddModel(dir, "broken", R"({"backend": "hog", "unknown_key": 1})");
}

class GrpcServerTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new ScratchDir();
    WriteRepository(*dir_);
  }
  static void TearDownTestSuite() {
    delete dir_;
    dir_ = nullptr;
  }

  void SetUp() override { Start({}); }
  void TearDown() override {
    if (server_) server_->Shutdown();
    if (manager_) manager_->Shutdown();
  }

  void Start(ModelManagerOptions manager_options) {
    auto manager = ModelManager::Create(dir_->path(), manager_options, &metrics_, &clock_);
    ASSERT_TRUE(manager.ok()) << manager.status();
    manager_ = std::move(*manager);
    auto service = InferenceService::Create({}, manager_.get());
    ASSERT_TRUE(service.ok()) << service.status();
    service_ = std::move(*service);
    auto server = GrpcServer::Start({.host = "127.0.0.1", .port = 0}, service_.get());
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = std::move(*server);
    ASSERT_GT(server_->port(), 0);
    stub_ = inference::GRPCInferenceService::NewStub(::grpc::CreateChannel(
        "127.0.0.1:" + std::to_string(server_->port()), ::grpc::InsecureChannelCredentials()));
  }

  // A context whose call fails rather than hangs when something is wrong.
  static std::unique_ptr<::grpc::ClientContext> Context() {
    auto context = std::make_unique<::grpc::ClientContext>();
    context->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
    return context;
  }

  // An FP32 echo request of `values` shaped [1, n] with raw contents.
  static inference::ModelInferRequest EchoRequest(const std::string& model,
                                                  std::vector<float> values) {
    inference::ModelInferRequest request;
    request.set_model_name(model);
    request.set_id("r1");
    auto t = Tensor::Fp32("INPUT0", {1, static_cast<int64_t>(values.size())}, values);
    EXPECT_TRUE(protocol::EncodeInferInputs({t}, &request).ok());
    return request;
  }

  ::grpc::Status Infer(const inference::ModelInferRequest& request,
                       inference::ModelInferResponse* response) {
    return stub_->ModelInfer(Context().get(), request, response);
  }

  static ScratchDir* dir_;
  FakeClock clock_;
  MetricsRegistry metrics_;
  std::unique_ptr<ModelManager> manager_;
  std::unique_ptr<InferenceService> service_;
  std::unique_ptr<GrpcServer> server_;
  std::unique_ptr<inference::GRPCInferenceService::Stub> stub_;
};

ScratchDir* GrpcServerTest::dir_ = nullptr;

// ---- health and metadata

TEST_F(GrpcServerTest, LiveAndReadyAnswerAsTheService) {
  inference::ServerLiveResponse live;
  ASSERT_TRUE(stub_->ServerLive(Context().get(), {}, &live).ok());
  EXPECT_TRUE(live.live());
  inference::ServerReadyResponse ready;
  ASSERT_TRUE(stub_->ServerReady(Context().get(), {}, &ready).ok());
  // Strict readiness (the default) with a broken model: not ready, as REST.
  EXPECT_FALSE(ready.ready());
  EXPECT_EQ(ready.ready(), service_->ready());
}

TEST_F(GrpcServerTest, ModelReadyIsTrueFalseOrNotFound) {
  inference::ModelReadyRequest request;
  inference::ModelReadyResponse response;
  request.set_name("echo");
  ASSERT_TRUE(stub_->ModelReady(Context().get(), request, &response).ok());
  EXPECT_TRUE(response.ready());
  request.set_name("broken");
  ASSERT_TRUE(stub_->ModelReady(Context().get(), request, &response).ok());
  EXPECT_FALSE(response.ready());
  request.set_name("nope");
  ::grpc::Status missing = stub_->ModelReady(Context().get(), request, &response);
  EXPECT_EQ(missing.error_code(), ::grpc::StatusCode::NOT_FOUND);
  EXPECT_THAT(missing.error_message(), HasSubstr("nope"));
  request.set_name("echo");
  request.set_version("x");
  EXPECT_EQ(stub_->ModelReady(Context().get(), request, &response).error_code(),
            ::grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_F(GrpcServerTest, ServerMetadataNamesTheServerAndItsExtensions) {
  inference::ServerMetadataResponse response;
  ASSERT_TRUE(stub_->ServerMetadata(Context().get(), {}, &response).ok());
  EXPECT_EQ(response.name(), "dnoscope");
  EXPECT_FALSE(response.version().empty());
  EXPECT_THAT(response.extensions(), ::testing::Contains("model_configuration"));
}

TEST_F(GrpcServerTest, ModelMetadataDescribesTheSignature) {
  inference::ModelMetadataRequest request;
  request.set_name("echo");
  inference::ModelMetadataResponse response;
  ASSERT_TRUE(stub_->ModelMetadata(Context().get(), request, &response).ok());
  EXPECT_EQ(response.name(), "echo");
  EXPECT_THAT(response.versions(), ElementsAre("1"));
  ASSERT_EQ(response.inputs_size(), 1);
  EXPECT_EQ(response.inputs(0).name(), "INPUT0");
  EXPECT_EQ(response.inputs(0).datatype(), "FP32");
  ASSERT_EQ(response.outputs_size(), 1);
  EXPECT_EQ(response.outputs(0).name(), "OUTPUT0");
  request.set_name("nope");
  EXPECT_EQ(stub_->ModelMetadata(Context().get(), request, &response).error_code(),
            ::grpc::StatusCode::NOT_FOUND);
}

TEST_F(GrpcServerTest, ModelConfigIsTritonShaped) {
  inference::ModelConfigRequest request;
  request.set_name("echo");
  inference::ModelConfigResponse response;
  ASSERT_TRUE(stub_->ModelConfig(Context().get(), request, &response).ok());
  const inference::ModelConfig& c = response.config();
  EXPECT_EQ(c.name(), "echo");
  EXPECT_EQ(c.backend(), "identity");
  EXPECT_EQ(c.max_batch_size(), 8);
  ASSERT_EQ(c.input_size(), 1);
  EXPECT_EQ(c.input(0).data_type(), inference::TYPE_FP32);
  // The batch dimension is not part of dims when the model batches.
  EXPECT_EQ(c.input(0).dims_size(), service_->DescribeModel("echo", -1)->metadata.inputs[0].shape.size() - 1);
  request.set_name("broken");
  EXPECT_EQ(stub_->ModelConfig(Context().get(), request, &response).error_code(),
            ::grpc::StatusCode::UNAVAILABLE);
  request.set_name("nope");
  EXPECT_EQ(stub_->ModelConfig(Context().get(), request, &response).error_code(),
            ::grpc::StatusCode::NOT_FOUND);
}

// ---- inference

TEST_F(GrpcServerTest, RawContentsRoundTrip) {
  inference::ModelInferResponse response;
  ::grpc::Status status = Infer(EchoRequest("echo", {1, 2, 3.5}), &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(response.model_name(), "echo");
  EXPECT_EQ(response.model_version(), "1");
  EXPECT_EQ(response.id(), "r1");
  auto outputs = protocol::DecodeInferOutputs(response);
  ASSERT_TRUE(outputs.ok()) << outputs.status();
  ASSERT_EQ(outputs->size(), 1u);
  EXPECT_EQ((*outputs)[0].name, "OUTPUT0");
  EXPECT_THAT((*outputs)[0].shape, ElementsAre(1, 3));
  EXPECT_THAT((*outputs)[0].Values<float>(), ElementsAre(1, 2, 3.5));
  EXPECT_EQ(response.raw_output_contents_size(), 1);
}

TEST_F(GrpcServerTest, TypedContentsAreAccepted) {
  inference::ModelInferRequest request;
  request.set_model_name("echo");
  auto* input = request.add_inputs();
  input->set_name("INPUT0");
  input->set_datatype("FP32");
  input->add_shape(1);
  input->add_shape(2);
  input->mutable_contents()->add_fp32_contents(4);
  input->mutable_contents()->add_fp32_contents(5);
  inference::ModelInferResponse response;
  ::grpc::Status status = Infer(request, &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  auto outputs = protocol::DecodeInferOutputs(response);
  ASSERT_TRUE(outputs.ok()) << outputs.status();
  EXPECT_THAT((*outputs)[0].Values<float>(), ElementsAre(4, 5));
}

TEST_F(GrpcServerTest, BytesTensorsTravelRaw) {
  inference::ModelInferRequest request;
  request.set_model_name("blob");
  Tensor t{.name = "INPUT0", .dtype = DataType::kBytes, .shape = {1, 2}};
  t.bytes = {"ab", std::string("\0z", 2)};
  ASSERT_TRUE(protocol::EncodeInferInputs({t}, &request).ok());
  inference::ModelInferResponse response;
  ::grpc::Status status = Infer(request, &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  auto outputs = protocol::DecodeInferOutputs(response);
  ASSERT_TRUE(outputs.ok()) << outputs.status();
  EXPECT_THAT((*outputs)[0].bytes, ElementsAre("ab", std::string("\0z", 2)));
}

TEST_F(GrpcServerTest, GzipCompressedRequestsAreAccepted) {
  auto context = Context();
  context->set_compression_algorithm(GRPC_COMPRESS_GZIP);
  inference::ModelInferResponse response;
  ::grpc::Status status =
      stub_->ModelInfer(context.get(), EchoRequest("echo", std::vector<float>(1000, 7)), &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  auto outputs = protocol::DecodeInferOutputs(response);
  ASSERT_TRUE(outputs.ok()) << outputs.status();
  EXPECT_EQ((*outputs)[0].NumElements(), 1000);
}

struct BadRequestCase {
  std::string name;
  std::function<void(inference::ModelInferRequest*)> mutate;
  ::grpc::StatusCode code;
  std::string message;
};

TEST_F(GrpcServerTest, BadRequestsGetTheirCodeAndCountAsFailures) {
  const std::vector<BadRequestCase> cases = {
      {"unknown model", [](auto* r) { r->set_model_name("nope"); }, ::grpc::StatusCode::NOT_FOUND,
       "nope"},
      {"unknown version", [](auto* r) { r->set_model_version("7"); },
       ::grpc::StatusCode::NOT_FOUND, "7"},
      {"bad version", [](auto* r) { r->set_model_version("-2"); },
       ::grpc::StatusCode::INVALID_ARGUMENT, "version"},
      {"raw size mismatch", [](auto* r) { r->mutable_raw_input_contents(0)->pop_back(); },
       ::grpc::StatusCode::INVALID_ARGUMENT, "raw_input_contents has 11 bytes"},
      {"raw count mismatch", [](auto* r) { r->add_raw_input_contents("x"); },
       ::grpc::StatusCode::INVALID_ARGUMENT, "2 entries for 1 input"},
      {"unknown datatype", [](auto* r) { r->mutable_inputs(0)->set_datatype("FP99"); },
       ::grpc::StatusCode::INVALID_ARGUMENT, "FP99"},
      {"datatype the model does not take",
       [](auto* r) { r->mutable_inputs(0)->set_datatype("INT32"); },
       ::grpc::StatusCode::INVALID_ARGUMENT, "INT32"},
      {"negative dimension", [](auto* r) { r->mutable_inputs(0)->set_shape(1, -3); },
       ::grpc::StatusCode::INVALID_ARGUMENT, "negative"},
      {"shape the model does not take",
       [](auto* r) {
         r->mutable_inputs(0)->clear_shape();
         r->mutable_inputs(0)->add_shape(3);
       },
       ::grpc::StatusCode::INVALID_ARGUMENT, "INPUT0"},
      {"unknown input", [](auto* r) { r->mutable_inputs(0)->set_name("X"); },
       ::grpc::StatusCode::INVALID_ARGUMENT, "X"},
      {"unknown output", [](auto* r) { r->add_outputs()->set_name("Y"); },
       ::grpc::StatusCode::INVALID_ARGUMENT, "Y"},
      {"bad timeout", [](auto* r) { (*r->mutable_parameters())["timeout"].set_string_param("soon"); },
       ::grpc::StatusCode::INVALID_ARGUMENT, "timeout"},
  };
  uint64_t failures = 0;
  for (const BadRequestCase& c : cases) {
    SCOPED_TRACE(c.name);
    inference::ModelInferRequest request = EchoRequest("echo", {1, 2, 3});
    c.mutate(&request);
    inference::ModelInferResponse response;
    ::grpc::Status status = Infer(request, &response);
    EXPECT_EQ(status.error_code(), c.code) << status.error_message();
    EXPECT_THAT(status.error_message(), HasSubstr(c.message));
    // Requests for a model that resolved count as failures of its version.
    if (c.code != ::grpc::StatusCode::NOT_FOUND && c.name != "bad version") ++failures;
  }
  EXPECT_EQ(metrics_.GetOrCreate("echo", 1)->snapshot().request_failure, failures);
  EXPECT_EQ(metrics_.GetOrCreate("echo", 1)->snapshot().request_success, 0u);
}

TEST_F(GrpcServerTest, FullQueueIsUnavailable) {
  TearDown();
  Start({.max_queue_size = 1});
  // The first request waits a minute of fake time for batching company and
  // fills the queue; shutting the models down runs it.
  auto first = std::async(std::launch::async, [this] {
    inference::ModelInferResponse response;
    return Infer(EchoRequest("held", {1}), &response);
  });
  while (metrics_.GetOrCreate("held", 1)->snapshot().pending_request_count < 1) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  inference::ModelInferResponse response;
  ::grpc::Status second = Infer(EchoRequest("held", {2}), &response);
  EXPECT_EQ(second.error_code(), ::grpc::StatusCode::UNAVAILABLE) << second.error_message();
  manager_->Shutdown();
  EXPECT_TRUE(first.get().ok());
}

TEST_F(GrpcServerTest, ShutdownCancelsAQueuedRequestInsteadOfWaitingForIt) {
  TearDown();
  Start({});
  server_->Shutdown();  // replaced by one that does not drain
  auto server = GrpcServer::Start({.host = "127.0.0.1", .port = 0, .drain_timeout = std::chrono::seconds(0)},
                                  service_.get());
  ASSERT_TRUE(server.ok()) << server.status();
  server_ = std::move(*server);
  stub_ = inference::GRPCInferenceService::NewStub(::grpc::CreateChannel(
      "127.0.0.1:" + std::to_string(server_->port()), ::grpc::InsecureChannelCredentials()));
  // Held for a minute of fake time, which never passes: only cancellation
  // can answer it.
  auto held = std::async(std::launch::async, [this] {
    inference::ModelInferResponse response;
    return Infer(EchoRequest("held", {1}), &response);
  });
  while (metrics_.GetOrCreate("held", 1)->snapshot().pending_request_count < 1) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  server_->Shutdown();
  EXPECT_FALSE(held.get().ok());
}

// ---- statistics and repository

TEST_F(GrpcServerTest, StatisticsCountRequests) {
  inference::ModelInferResponse response;
  ASSERT_TRUE(Infer(EchoRequest("echo", {1}), &response).ok());
  ASSERT_TRUE(Infer(EchoRequest("echo", {1, 2}), &response).ok());
  inference::ModelStatisticsRequest request;
  request.set_name("echo");
  inference::ModelStatisticsResponse stats;
  ::grpc::Status status = stub_->ModelStatistics(Context().get(), request, &stats);
  ASSERT_TRUE(status.ok()) << status.error_message();
  ASSERT_EQ(stats.model_stats_size(), 1);
  const inference::ModelStatistics& s = stats.model_stats(0);
  EXPECT_EQ(s.name(), "echo");
  EXPECT_EQ(s.version(), "1");
  EXPECT_EQ(s.inference_stats().success().count(), 2u);
  EXPECT_EQ(s.inference_stats().fail().count(), 0u);
  EXPECT_EQ(s.inference_count(), 2u);
  request.set_name("nope");
  EXPECT_EQ(stub_->ModelStatistics(Context().get(), request, &stats).error_code(),
            ::grpc::StatusCode::NOT_FOUND);
}

TEST_F(GrpcServerTest, RepositoryIndexListsModelsWithTheirState) {
  inference::RepositoryIndexRequest request;
  inference::RepositoryIndexResponse index;
  ASSERT_TRUE(stub_->RepositoryIndex(Context().get(), request, &index).ok());
  std::map<std::string, const inference::RepositoryIndexResponse::ModelIndex*> by_name;
  for (const auto& m : index.models()) by_name[m.name()] = &m;
  ASSERT_TRUE(by_name.contains("echo"));
  EXPECT_EQ(by_name["echo"]->state(), "READY");
  ASSERT_TRUE(by_name.contains("broken"));
  EXPECT_NE(by_name["broken"]->state(), "READY");
  EXPECT_THAT(by_name["broken"]->reason(), HasSubstr("unknown_key"));
  request.set_ready(true);
  ASSERT_TRUE(stub_->RepositoryIndex(Context().get(), request, &index).ok());
  for (const auto& m : index.models()) EXPECT_EQ(m.state(), "READY") << m.name();
  request.set_repository_name("other");
  EXPECT_EQ(stub_->RepositoryIndex(Context().get(), request, &index).error_code(),
            ::grpc::StatusCode::NOT_FOUND);
}

TEST_F(GrpcServerTest, LoadAndUnloadAnswerAsTheService) {
  inference::RepositoryModelLoadRequest load;
  load.set_model_name("echo");
  inference::RepositoryModelLoadResponse loaded;
  ::grpc::Status status = stub_->RepositoryModelLoad(Context().get(), load, &loaded);
  EXPECT_EQ(status.error_code(),
            protocol::ToGrpcStatus(service_->LoadModel("echo")).error_code());
  inference::RepositoryModelUnloadRequest unload;
  unload.set_model_name("echo");
  unload.set_repository_name("other");
  inference::RepositoryModelUnloadResponse unloaded;
  EXPECT_EQ(stub_->RepositoryModelUnload(Context().get(), unload, &unloaded).error_code(),
            ::grpc::StatusCode::NOT_FOUND);
}

// ---- start-up errors and status mapping

TEST(GrpcServerStartTest, BadHostOrBusyPortIsAnError) {
  ScratchDir dir;
  MetricsRegistry metrics;
  auto manager = ModelManager::Create(dir.path(), {}, &metrics);
  ASSERT_TRUE(manager.ok()) << manager.status();
  auto service = InferenceService::Create({}, manager->get());
  ASSERT_TRUE(service.ok());
  auto bad = GrpcServer::Start({.host = "not a host", .port = 0}, service->get());
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  auto first = GrpcServer::Start({.host = "127.0.0.1", .port = 0}, service->get());
  ASSERT_TRUE(first.ok()) << first.status();
  auto busy = GrpcServer::Start({.host = "127.0.0.1", .port = (*first)->port()}, service->get());
  EXPECT_EQ(busy.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(std::string(busy.status().message()), HasSubstr(std::to_string((*first)->port())));
}

TEST(GrpcStatusTest, ServiceErrorsMapToTheSameGrpcCodeAndBack) {
  const std::vector<std::pair<absl::Status, ::grpc::StatusCode>> cases = {
      {absl::NotFoundError("m"), ::grpc::StatusCode::NOT_FOUND},
      {absl::InvalidArgumentError("m"), ::grpc::StatusCode::INVALID_ARGUMENT},
      {absl::UnavailableError("m"), ::grpc::StatusCode::UNAVAILABLE},
      {absl::DeadlineExceededError("m"), ::grpc::StatusCode::DEADLINE_EXCEEDED},
      {absl::UnimplementedError("m"), ::grpc::StatusCode::UNIMPLEMENTED},
      {absl::ResourceExhaustedError("m"), ::grpc::StatusCode::RESOURCE_EXHAUSTED},
      {absl::InternalError("m"), ::grpc::StatusCode::INTERNAL},
      {absl::CancelledError("m"), ::grpc::StatusCode::CANCELLED},
      {absl::FailedPreconditionError("m"), ::grpc::StatusCode::FAILED_PRECONDITION},
      {absl::AlreadyExistsError("m"), ::grpc::StatusCode::ALREADY_EXISTS},
  };
  for (const auto& [status, code] : cases) {
    ::grpc::Status g = protocol::ToGrpcStatus(status);
    EXPECT_EQ(g.error_code(), code) << status;
    EXPECT_EQ(g.error_message(), "m");
    EXPECT_EQ(protocol::FromGrpcStatus(g), status);
  }
  EXPECT_TRUE(protocol::ToGrpcStatus(absl::OkStatus()).ok());
}

}  // namespace
}  // namespace dnoscope::serving::grpc
