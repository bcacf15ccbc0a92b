// HttpTransport and RemoteModel against real servers on 127.0.0.1, port 0:
// in-process dnoscope model servers (emulation::ModelServer) and faulty endpoints (refusing, hanging, dying mid-run). Where a
// deadline matters the model runs on a FakeClock, so timeouts fire when the
// test advances the time. Every request must complete exactly once.
#include "client/http_transport.h"

#include <atomic>
#include <filesystem>
#include <future>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "client/remote_model.h"
#include "client/remote_stage.h"
#include "common/mutex.h"
#include "emulation/model_server.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "serving/http/server.h"
#include "testing/fake_clock.h"
#include "testing/test_env.h"

namespace dnoscope::client {
namespace {

using ::dnoscope::testing::ScratchDir;
using ::dnoscope::testing::WriteFile;
using ::std::chrono::milliseconds;
using ::testing::HasSubstr;
using Result = absl::StatusOr<std::vector<Tensor>>;
namespace fs = std::filesystem;

// "echo" (identity FP32, batch 8) and "people" (HOG) served by a dnoscope
// model server in this process.
class EchoServer {
 public:
  EchoServer() {
    fs::create_directories(dir_.File("echo/1"));
    WriteFile(dir_.File("echo/config.json"), R"({"backend": "identity", "max_batch_size": 8})");
    fs::create_directories(dir_.File("people/1"));
    WriteFile(dir_.File("people/config.json"), R"({"backend": "hog"})");
    server_ = *emulation::ModelServer::Start(dir_.path());
  }
  Endpoint endpoint() const { return server_->endpoint(); }
  void Stop() { server_->Stop(); }

 private:
  ScratchDir dir_;
  std::unique_ptr<emulation::ModelServer> server_;
};

// An endpoint that reads requests and never answers them (until it shuts
// down); tests can wait until it holds `n`.
class HangingServer {
 public:
  HangingServer() {
    serving::http::HttpServerOptions options;
    options.port = 0;
    options.drain_timeout = std::chrono::seconds(0);
    server_ = *serving::http::HttpServer::Start(
        options, [this](serving::http::HttpRequest, serving::http::Responder respond) {
          MutexLock lock(&mu_);
          held_.push_back(std::move(respond));
          changed_.SignalAll();
        });
  }
  ~HangingServer() {
    server_->Shutdown();
    MutexLock lock(&mu_);
    held_.clear();
  }
  Endpoint endpoint() const { return {"127.0.0.1", server_->port()}; }
  // False after 30 s of real time (a hang guard, not a timing).
  bool WaitForRequests(size_t n) {
    const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    MutexLock lock(&mu_);
    while (held_.size() < n) {
      if (changed_.WaitUntil(&mu_, give_up)) return held_.size() >= n;
    }
    return true;
  }

 private:
  Mutex mu_;
  CondVar changed_;
  std::vector<serving::http::Responder> held_ ABSL_GUARDED_BY(mu_);
  std::unique_ptr<serving::http::HttpServer> server_;
};

// A port nothing listens on.
Endpoint RefusingEndpoint() {
  auto probe = serving::http::HttpServer::Start({.port = 0}, [](auto, auto) {});
  const int port = (*probe)->port();
  (*probe)->Shutdown();
  return {"127.0.0.1", port};
}

RemoteModelOptions EchoOptions() {
  RemoteModelOptions o;
  o.model = "echo";
  o.attempt_timeout = milliseconds(20000);
  o.retry_backoff = milliseconds(0);
  o.retry_backoff_max = milliseconds(20);
  o.balancer.eject_base = milliseconds(50);
  o.balancer.eject_max = milliseconds(200);
  return o;
}

// An echo model over HttpTransport on `clock`, created without fetching
// metadata (a hanging endpoint would hold the fetch forever on fake time).
std::unique_ptr<RemoteModel> MakeEcho(std::vector<Endpoint> endpoints, RemoteModelOptions o,
                                      Clock* clock) {
  auto transport = HttpTransport::Create(std::move(endpoints), {}, clock);
  EXPECT_TRUE(transport.ok()) << transport.status();
  auto model = RemoteModel::Create(*std::move(transport), o, {}, clock);
  EXPECT_TRUE(model.ok()) << model.status();
  return *std::move(model);
}

Tensor Row(float v) { return Tensor::Fp32("INPUT0", {1, 2}, std::vector<float>{v, -v}); }

// Counts requests completed with the right echo, and the errors of the rest.
class EchoTally {
 public:
  explicit EchoTally(int n) : remaining_(n) {}
  models::ModelStage::Done Callback(int i) {
    return [this, i](Result r) {
      MutexLock lock(&mu_);
      if (r.ok() && r->size() == 1 && (*r)[0].Values<float>()[0] == static_cast<float>(i)) {
        ++ok_;
      } else {
        errors_.push_back(r.ok() ? absl::InternalError("wrong echo") : r.status());
      }
      --remaining_;
      changed_.SignalAll();
    };
  }
  // Blocks until at most `remaining` requests are outstanding (60 s guard).
  bool WaitUntilRemaining(int remaining) {
    const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    MutexLock lock(&mu_);
    while (remaining_ > remaining) {
      if (changed_.WaitUntil(&mu_, give_up)) return remaining_ <= remaining;
    }
    return true;
  }
  int ok() const {
    MutexLock lock(&mu_);
    return ok_;
  }
  std::string first_error() const {
    MutexLock lock(&mu_);
    return errors_.empty() ? "" : errors_[0].ToString();
  }

 private:
  mutable Mutex mu_;
  CondVar changed_;
  int remaining_ ABSL_GUARDED_BY(mu_);
  int ok_ ABSL_GUARDED_BY(mu_) = 0;
  std::vector<absl::Status> errors_ ABSL_GUARDED_BY(mu_);
};

// Sends `n` requests at once and waits for all; returns how many echoed right.
int EchoMany(RemoteModel& model, int n, EchoTally* tally) {
  for (int i = 0; i < n; ++i) {
    model.InferAsync({.inputs = {Row(static_cast<float>(i))}}, tally->Callback(i));
  }
  EXPECT_TRUE(tally->WaitUntilRemaining(0)) << "requests never completed";
  return tally->ok();
}

TEST(HttpTransportTest, EveryWireFormatRoundTripsThroughARealServer) {
  EchoServer server;
  for (WireFormat format :
       {WireFormat::kKserveBinary, WireFormat::kKserveJson, WireFormat::kTfServing}) {
    SCOPED_TRACE(std::string(WireFormatName(format)));
    auto model = ConnectRemoteStage({server.endpoint()}, EchoOptions(), {.format = format});
    ASSERT_TRUE(model.ok()) << model.status();
    EXPECT_EQ((*model)->metadata().inputs[0].name, "INPUT0");
    EchoTally tally(20);
    EXPECT_EQ(EchoMany(**model, 20, &tally), 20) << tally.first_error();
    EXPECT_THAT((*model)->Describe(), HasSubstr(std::string(WireFormatName(format))));
  }
}

TEST(HttpTransportTest, EmptyTfServingOutputKeepsItsDeclaredShape) {
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

TEST(HttpTransportTest, MetadataCarriesClassNamesAndAnUnknownModelIsNotFound) {
  EchoServer server;
  RemoteModelOptions o = EchoOptions();
  o.model = "people";
  auto model = ConnectRemoteStage({server.endpoint()}, o);
  ASSERT_TRUE(model.ok()) << model.status();
  EXPECT_EQ((*model)->metadata().class_names, (std::vector<std::string>{"person"}));
  o.model = "nope";
  auto missing = ConnectRemoteStage({server.endpoint()}, o);
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound) << missing.status();
  auto nobody = ConnectRemoteStage({RefusingEndpoint()}, EchoOptions());
  EXPECT_EQ(nobody.status().code(), absl::StatusCode::kUnavailable) << nobody.status();
}

TEST(HttpTransportTest, RequestErrorsAreNotRetried) {
  EchoServer server;
  auto model = ConnectRemoteStage({server.endpoint()}, EchoOptions());
  ASSERT_TRUE(model.ok()) << model.status();
  auto r = (*model)->Infer({.inputs = {Tensor::Int64("INPUT0", {1, 1}, std::vector<int64_t>{1})}});
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(r.status().message(), HasSubstr("must be FP32"));
  EXPECT_EQ((*model)->stats().retries, 0);
}

TEST(HttpTransportTest, HangingEndpointTimesOutOnFakeTimeAndTheRequestMovesOn) {
  HangingServer stuck;
  EchoServer good;
  testing::FakeClock clock;
  RemoteModelOptions o = EchoOptions();
  o.attempt_timeout = milliseconds(1000);
  o.balancer.policy = BalancePolicy::kRoundRobin;  // the first attempt goes to `stuck`
  auto model = MakeEcho({stuck.endpoint(), good.endpoint()}, o, &clock);
  EchoTally tally(1);
  model->InferAsync({.inputs = {Row(0)}}, tally.Callback(0));
  ASSERT_TRUE(stuck.WaitForRequests(1));
  clock.Advance(milliseconds(1000));
  ASSERT_TRUE(tally.WaitUntilRemaining(0));
  EXPECT_EQ(tally.ok(), 1) << tally.first_error();
  const models::StageStats stats = model->stats();
  EXPECT_EQ(stats.endpoints[0].failures, 1);
  EXPECT_EQ(stats.endpoints[1].requests, 1);
  EXPECT_EQ(stats.retries, 1);
}

TEST(HttpTransportTest, RefusingEndpointIsEjectedAndEveryRequestSucceeds) {
  EchoServer good;
  testing::FakeClock clock;  // refusals need no time; ejections never end
  RemoteModelOptions o = EchoOptions();
  o.balancer.policy = BalancePolicy::kRoundRobin;
  auto model = MakeEcho({RefusingEndpoint(), good.endpoint()}, o, &clock);
  EchoTally tally(100);
  EXPECT_EQ(EchoMany(*model, 100, &tally), 100) << tally.first_error();
  const models::StageStats stats = model->stats();
  // Ejected after 3 failures in a row (more may have been on their way).
  EXPECT_GE(stats.endpoints[0].failures, 3);
  EXPECT_EQ(stats.endpoints[0].ejections, 1);
  EXPECT_TRUE(stats.endpoints[0].ejected);
  EXPECT_EQ(stats.retries, stats.endpoints[0].failures);
  EXPECT_EQ(model->failed_requests(), 0);
}

TEST(HttpTransportTest, ServerKilledMidRunLosesNoRequest) {
  EchoServer a, b;
  RemoteModelOptions o = EchoOptions();
  o.retry_backoff = milliseconds(1);
  auto model = ConnectRemoteStage({a.endpoint(), b.endpoint()}, o);
  ASSERT_TRUE(model.ok()) << model.status();
  constexpr int kRequests = 2000;
  EchoTally tally(kRequests);
  // b stops once 300 requests have completed, with most still to go.
  std::thread killer([&] {
    tally.WaitUntilRemaining(kRequests - 300);
    b.Stop();
  });
  EXPECT_EQ(EchoMany(**model, kRequests, &tally), kRequests) << tally.first_error();
  killer.join();
  const models::StageStats stats = (*model)->stats();
  EXPECT_GT(stats.endpoints[1].requests, 0);
  EXPECT_GT(stats.endpoints[0].requests, kRequests / 2);
  EXPECT_EQ((*model)->failed_requests(), 0);
  EXPECT_EQ((*model)->in_flight(), 0);
}

TEST(HttpTransportTest, ShutdownCancelsRequestsOnTheWireAndWaitingOnce) {
  HangingServer stuck;
  testing::FakeClock clock;  // attempts never time out
  RemoteModelOptions o = EchoOptions();
  o.balancer.max_in_flight_per_endpoint = 2;
  auto model = MakeEcho({stuck.endpoint()}, o, &clock);
  std::atomic<int> cancelled{0}, calls{0};
  for (int i = 0; i < 3; ++i) {
    model->InferAsync({.inputs = {Row(1)}}, [&](Result r) {
      ++calls;
      cancelled += r.status().code() == absl::StatusCode::kCancelled;
    });
  }
  ASSERT_TRUE(stuck.WaitForRequests(2));
  model->Shutdown();
  EXPECT_EQ(calls.load(), 3);
  EXPECT_EQ(cancelled.load(), 3);
}

TEST(HttpTransportTest, CreateRejectsBadEndpoints) {
  EXPECT_EQ(HttpTransport::Create({}, {}).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(HttpTransport::Create({{"a", 1}, {"a", 1}}, {}).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(HttpTransport::Create({{"", 1}}, {}).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(HttpTransportTest, ParseWireFormatNamesTheChoices) {
  EXPECT_EQ(*ParseWireFormat("kserve"), WireFormat::kKserveBinary);
  EXPECT_EQ(*ParseWireFormat("kserve-json"), WireFormat::kKserveJson);
  EXPECT_EQ(*ParseWireFormat("tfserving"), WireFormat::kTfServing);
  EXPECT_THAT(ParseWireFormat("grpc").status().message(), HasSubstr("kserve, kserve-json"));
}

TEST(ParseEndpointListTest, SplitsOnCommasAndNamesTheBadElement) {
  auto two = ParseEndpointList("http://a:1, http://b:2");
  ASSERT_TRUE(two.ok()) << two.status();
  EXPECT_EQ(*two, (std::vector<Endpoint>{{"a", 1}, {"b", 2}}));
  EXPECT_THAT(ParseEndpointList("http://a:1,ftp://b").status().message(), HasSubstr("ftp://b"));
  EXPECT_EQ(ParseEndpointList(" , ").status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace dnoscope::client
