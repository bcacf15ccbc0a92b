// RemoteModel against real in-process model servers (model manager + REST
// handler + HTTP server on 127.0.0.1, port 0) and against faulty endpoints:
// one that refuses connections, one that answers 503, one that never
// answers, one that dies mid-run. Every request must complete exactly once.
#include "client/remote_model.h"

#include <atomic>
#include <filesystem>
#include <future>
#include <thread>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "serving/http/server.h"
#include "serving/metrics.h"
#include "serving/inference_service.h"
#include "serving/model_manager.h"
#include "serving/rest/rest_handler.h"
#include "testing/test_env.h"

namespace dnoscope::client {
namespace {

using ::dnoscope::testing::ScratchDir;
using ::dnoscope::testing::WriteFile;
using ::testing::HasSubstr;
namespace fs = std::filesystem;

// A dnoscope model server in this process: "echo" (identity FP32, batch 8)
// and "people" (HOG).
class ModelServer {
 public:
  ModelServer() {
    fs::create_directories(dir_.File("echo/1"));
    WriteFile(dir_.File("echo/config.json"), R"({"backend": "identity", "max_batch_size": 8})");
    fs::create_directories(dir_.File("people/1"));
    WriteFile(dir_.File("people/config.json"), R"({"backend": "hog"})");
    manager_ = *serving::ModelManager::Create(dir_.path(), {}, &metrics_);
    service_ = *serving::InferenceService::Create({}, manager_.get());
    handler_ = std::make_unique<serving::rest::RestHandler>(service_.get());
    serving::http::HttpServerOptions options;
    options.port = 0;
    options.drain_timeout = std::chrono::seconds(5);
    server_ = *serving::http::HttpServer::Start(
        options, [this](serving::http::HttpRequest r, serving::http::Responder respond) {
          handler_->Handle(std::move(r), std::move(respond));
        });
  }
  Endpoint endpoint() const { return {"127.0.0.1", server_->port()}; }
  void Stop() { server_->Shutdown(); }

 private:
  ScratchDir dir_;
  serving::MetricsRegistry metrics_;
  std::unique_ptr<serving::ModelManager> manager_;
  std::unique_ptr<serving::InferenceService> service_;
  std::unique_ptr<serving::rest::RestHandler> handler_;
  std::unique_ptr<serving::http::HttpServer> server_;
};

// An endpoint answering every request with `status` (0: never answering
// until it shuts down).
class FaultyServer {
 public:
  explicit FaultyServer(std::atomic<int>* status) : status_(status) {
    serving::http::HttpServerOptions options;
    options.port = 0;
    options.drain_timeout = std::chrono::seconds(0);
    server_ = *serving::http::HttpServer::Start(
        options, [this](serving::http::HttpRequest, serving::http::Responder respond) {
          ++requests_;
          const int status = status_->load();
          if (status == 0) {
            std::lock_guard lock(mu_);
            held_.push_back(std::move(respond));  // answered only at shutdown
            return;
          }
          serving::http::HttpResponse r;
          r.status = status;
          r.body = status == 200 ? "{\"ready\":true}" : "{\"error\":\"injected\"}";
          respond(std::move(r));
        });
  }
  ~FaultyServer() {
    server_->Shutdown();
    std::lock_guard lock(mu_);
    held_.clear();
  }
  Endpoint endpoint() const { return {"127.0.0.1", server_->port()}; }
  int requests() const { return requests_.load(); }

 private:
  std::atomic<int>* status_;
  std::atomic<int> requests_{0};
  std::mutex mu_;
  std::vector<serving::http::Responder> held_;
  std::unique_ptr<serving::http::HttpServer> server_;
};

// A port nothing listens on.
Endpoint RefusingEndpoint() {
  auto probe = serving::http::HttpServer::Start({.port = 0}, [](auto, auto) {});
  const int port = (*probe)->port();
  (*probe)->Shutdown();
  return {"127.0.0.1", port};
}

RemoteModelOptions EchoOptions(WireFormat format = WireFormat::kKserveBinary) {
  RemoteModelOptions o;
  o.model = "echo";
  o.format = format;
  o.attempt_timeout = std::chrono::milliseconds(500);
  o.retry_backoff = std::chrono::milliseconds(1);
  o.retry_backoff_max = std::chrono::milliseconds(20);
  o.balancer.eject_base = std::chrono::milliseconds(50);
  o.balancer.eject_max = std::chrono::milliseconds(200);
  return o;
}

Tensor Row(float v) { return Tensor::Fp32("INPUT0", {1, 2}, std::vector<float>{v, -v}); }

// Sends `n` requests at once; returns how many succeeded with the right echo.
int EchoMany(RemoteModel& model, int n, std::vector<absl::Status>* errors = nullptr) {
  std::vector<std::promise<absl::StatusOr<std::vector<Tensor>>>> promises(n);
  for (int i = 0; i < n; ++i) {
    model.InferAsync({Row(static_cast<float>(i))}, {}, [&promises, i](auto r) {
      promises[i].set_value(std::move(r));
    });
  }
  int ok = 0;
  for (int i = 0; i < n; ++i) {
    auto future = promises[i].get_future();
    if (future.wait_for(std::chrono::seconds(60)) != std::future_status::ready) {
      ADD_FAILURE() << "request " << i << " never completed";
      continue;
    }
    absl::StatusOr<std::vector<Tensor>> r = future.get();
    if (r.ok() && r->size() == 1 && (*r)[0].Values<float>()[0] == static_cast<float>(i)) {
      ++ok;
    } else if (errors != nullptr) {
      errors->push_back(r.ok() ? absl::InternalError("wrong echo") : r.status());
    }
  }
  return ok;
}

TEST(RemoteModelTest, EveryWireFormatRoundTripsThroughARealServer) {
  ModelServer server;
  for (WireFormat format :
       {WireFormat::kKserveBinary, WireFormat::kKserveJson, WireFormat::kTfServing}) {
    auto model = RemoteModel::Create({server.endpoint()}, EchoOptions(format));
    ASSERT_TRUE(model.ok()) << model.status();
    auto metadata = (*model)->FetchMetadata();
    ASSERT_TRUE(metadata.ok()) << metadata.status();
    EXPECT_EQ(metadata->inputs[0].name, "INPUT0");
    EXPECT_EQ(EchoMany(**model, 20), 20) << WireFormatName(format);
  }
}

TEST(RemoteModelTest, EmptyTfServingOutputKeepsItsDeclaredShape) {
  // TF Serving JSON writes an empty [0,6] tensor as []; the client restores [0,6].
  HttpResult reply;
  reply.status = 200;
  reply.body = R"({"outputs": {"detections": []}})";
  models::ModelMetadata meta;
  meta.outputs = {{"detections", DataType::kFp32, {-1, 6}}};
  absl::StatusOr<std::vector<Tensor>> out =
      DecodeInferResult(WireFormat::kTfServing, reply, meta);
  ASSERT_TRUE(out.ok()) << out.status();
  ASSERT_EQ(out->size(), 1u);
  EXPECT_EQ((*out)[0].shape, (std::vector<int64_t>{0, 6}));
  EXPECT_TRUE(models::DetectionsFromTensor((*out)[0]).ok());
}

TEST(RemoteModelTest, MetadataCarriesDetectorClassNames) {
  ModelServer server;
  RemoteModelOptions o = EchoOptions();
  o.model = "people";
  auto model = RemoteModel::Create({server.endpoint()}, o);
  ASSERT_TRUE(model.ok());
  auto metadata = (*model)->FetchMetadata();
  ASSERT_TRUE(metadata.ok()) << metadata.status();
  EXPECT_EQ(metadata->class_names, (std::vector<std::string>{"person"}));
  o.model = "nope";
  auto missing = RemoteModel::Create({server.endpoint()}, o);
  EXPECT_EQ((*missing)->FetchMetadata().status().code(), absl::StatusCode::kNotFound);
}

TEST(RemoteModelTest, RefusingEndpointIsEjectedAndEveryRequestSucceeds) {
  ModelServer good;
  auto model = RemoteModel::Create({RefusingEndpoint(), good.endpoint()}, EchoOptions());
  ASSERT_TRUE(model.ok());
  std::vector<absl::Status> errors;
  EXPECT_EQ(EchoMany(**model, 100, &errors), 100) << (errors.empty() ? "" : errors[0].ToString());
  RemoteModelStats stats = (*model)->stats();
  EXPECT_GE(stats.endpoints[0].failures, 1);
  EXPECT_GE(stats.endpoints[0].ejections, 1);
  EXPECT_GE(stats.retries, 1);
  EXPECT_EQ(stats.failed_requests, 0);
}

TEST(RemoteModelTest, EndpointAnswering503IsAvoidedAndHangingOneTimesOut) {
  ModelServer good;
  std::atomic<int> unavailable{503}, hang{0};
  FaultyServer busy(&unavailable), stuck(&hang);
  RemoteModelOptions o = EchoOptions();
  o.attempt_timeout = std::chrono::milliseconds(200);
  auto model = RemoteModel::Create({busy.endpoint(), stuck.endpoint(), good.endpoint()}, o);
  ASSERT_TRUE(model.ok());
  std::vector<absl::Status> errors;
  EXPECT_EQ(EchoMany(**model, 60, &errors), 60) << (errors.empty() ? "" : errors[0].ToString());
  RemoteModelStats stats = (*model)->stats();
  EXPECT_GE(stats.endpoints[0].failures, 1);
  EXPECT_GE(stats.endpoints[1].failures, 1);
  EXPECT_GT(stats.endpoints[2].requests, 0);
}

TEST(RemoteModelTest, RequestErrorsAreNotRetried) {
  ModelServer server;
  auto model = RemoteModel::Create({server.endpoint()}, EchoOptions());
  ASSERT_TRUE(model.ok());
  auto r = (*model)->Infer({Tensor::Int64("INPUT0", {1, 1}, std::vector<int64_t>{1})});
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(r.status().message(), HasSubstr("must be FP32"));
  EXPECT_EQ((*model)->stats().retries, 0);
}

TEST(RemoteModelTest, AllEndpointsDownFailsAfterThePatience) {
  RemoteModelOptions o = EchoOptions();
  o.unavailable_patience = std::chrono::milliseconds(100);
  o.max_attempts = 1000;
  auto model = RemoteModel::Create({RefusingEndpoint(), RefusingEndpoint()}, o);
  ASSERT_TRUE(model.ok());
  auto r = (*model)->Infer({Row(1)});
  EXPECT_EQ(r.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(r.status().message(), HasSubstr("unavailable for 100 ms"));
}

TEST(RemoteModelTest, EjectedEndpointIsProbedAndReadmittedWhenHealthy) {
  std::atomic<int> status{503};
  FaultyServer flaky(&status);
  ModelServer good;
  auto model = RemoteModel::Create({flaky.endpoint(), good.endpoint()}, EchoOptions());
  ASSERT_TRUE(model.ok());
  EXPECT_EQ(EchoMany(**model, 20), 20);
  ASSERT_GE((*model)->stats().endpoints[0].ejections, 1);
  // It answers again (health 200; inference bodies are not valid KServe, so
  // readmission shows as new traffic to it, not as successes).
  status = 200;
  const int before = flaky.requests();
  for (int i = 0; i < 600 && flaky.requests() <= before + 1; ++i) {
    EchoMany(**model, 5);
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_GT(flaky.requests(), before + 1) << "the recovered endpoint never got traffic again";
}

TEST(RemoteModelTest, ServerKilledMidRunLosesNoRequest) {
  ModelServer a, b;
  auto model = RemoteModel::Create({a.endpoint(), b.endpoint()}, EchoOptions());
  ASSERT_TRUE(model.ok());
  // b stops once it has served 100 requests, with most of the 2,000 still to go.
  std::thread killer([&] {
    for (int i = 0; i < 60000 && (*model)->stats().endpoints[1].requests < 100; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    b.Stop();
  });
  std::vector<absl::Status> errors;
  EXPECT_EQ(EchoMany(**model, 2000, &errors), 2000)
      << (errors.empty() ? "" : errors[0].ToString());
  killer.join();
  const RemoteModelStats stats = (*model)->stats();
  EXPECT_GE(stats.endpoints[1].requests, 100);
  EXPECT_GT(stats.endpoints[0].requests, 1000);
  EXPECT_EQ(stats.failed_requests, 0);
  EXPECT_EQ((*model)->in_flight(), 0);
}

TEST(RemoteModelTest, ShutdownCancelsEveryOutstandingRequestOnce) {
  std::atomic<int> hang{0};
  FaultyServer stuck(&hang);
  RemoteModelOptions o = EchoOptions();
  o.attempt_timeout = std::chrono::milliseconds(60000);
  o.balancer.max_in_flight_per_endpoint = 1;
  auto model = RemoteModel::Create({stuck.endpoint()}, o);
  ASSERT_TRUE(model.ok());
  std::atomic<int> cancelled{0}, calls{0};
  for (int i = 0; i < 3; ++i) {
    (*model)->InferAsync({Row(1)}, {}, [&](auto r) {
      ++calls;
      cancelled += r.status().code() == absl::StatusCode::kCancelled;
    });
  }
  (*model)->Shutdown();
  EXPECT_EQ(calls.load(), 3);
  EXPECT_EQ(cancelled.load(), 3);
}

TEST(RemoteModelTest, ParseWireFormatNamesTheChoices) {
  EXPECT_EQ(*ParseWireFormat("kserve"), WireFormat::kKserveBinary);
  EXPECT_EQ(*ParseWireFormat("kserve-json"), WireFormat::kKserveJson);
  EXPECT_EQ(*ParseWireFormat("tfserving"), WireFormat::kTfServing);
  EXPECT_THAT(ParseWireFormat("grpc").status().message(), HasSubstr("kserve, kserve-json"));
}

}  // namespace
}  // namespace dnoscope::client
