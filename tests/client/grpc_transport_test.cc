// GrpcTransport, alone and under RemoteModel, against dnoscope model servers
// in this process serving KServe v2 gRPC on 127.0.0.1, port 0. A "held"
// model (whose partial batches wait a minute for company) stands in for a
// hanging endpoint; where a deadline matters the transport runs on a
// FakeClock, so it fires when the test advances the time.
#include "client/grpc_transport.h"

#include <atomic>
#include <filesystem>
#include <future>
#include <mutex>
#include <thread>

#include "client/http_transport.h"
#include "client/remote_model.h"
#include "client/remote_stage.h"
#include "emulation/model_server.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
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

// "echo" (identity FP32), "people" (HOG) and "held" (identity FP32 that holds
// partial batches for a minute when `hold`, else answers at once).
class GrpcModelServer {
 public:
  explicit GrpcModelServer(bool hold = false) {
    Add("echo", R"({"backend": "identity", "max_batch_size": 8})");
    Add("people", R"({"backend": "hog"})");
    Add("held", hold ? R"({"backend": "identity", "max_batch_size": 8,
                         "dynamic_batching": {"max_queue_delay_us": 60000000}})"
                     : R"({"backend": "identity", "max_batch_size": 8})");
    auto server = emulation::ModelServer::Start(
        dir_.path(), {.drain_timeout = std::chrono::seconds(0), .grpc = true});
    EXPECT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
  }
  Endpoint endpoint() const { return server_->grpc_endpoint(); }
  void Stop() { server_->Stop(); }
  // False after 30 s of real time (a hang guard, not a timing).
  bool WaitForHeld(int64_t n) const {
    const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (server_->Counters("held").pending_request_count < n) {
      if (std::chrono::steady_clock::now() > give_up) return false;
      std::this_thread::sleep_for(milliseconds(1));
    }
    return true;
  }

 private:
  void Add(const std::string& name, const std::string& config) {
    fs::create_directories(dir_.File(name + "/1"));
    WriteFile(dir_.File(name + "/config.json"), config);
  }

  ScratchDir dir_;
  std::unique_ptr<emulation::ModelServer> server_;
};

// A port nothing listens on.
Endpoint RefusingEndpoint() {
  GrpcModelServer gone;
  const Endpoint e = gone.endpoint();
  gone.Stop();
  return e;
}

RemoteModelOptions Options(const std::string& model) {
  RemoteModelOptions o;
  o.model = model;
  o.attempt_timeout = milliseconds(20000);
  o.retry_backoff = milliseconds(0);
  o.retry_backoff_max = milliseconds(20);
  o.balancer.eject_base = milliseconds(50);
  o.balancer.eject_max = milliseconds(200);
  return o;
}

HttpTransportOptions Grpc() { return {.format = WireFormat::kKserveGrpc}; }

Tensor Row(float v) { return Tensor::Fp32("INPUT0", {1, 2}, std::vector<float>{v, -v}); }

// Sends `n` echo requests at once; how many came back right (60 s guard).
int EchoMany(RemoteModel& model, int n) {
  std::atomic<int> ok{0}, done{0};
  std::promise<void> all;
  for (int i = 0; i < n; ++i) {
    model.InferAsync({.inputs = {Row(static_cast<float>(i))}}, [&, i](Result r) {
      if (r.ok() && r->size() == 1 && (*r)[0].Values<float>()[0] == static_cast<float>(i)) ++ok;
      if (++done == n) all.set_value();
    });
  }
  EXPECT_EQ(all.get_future().wait_for(std::chrono::seconds(60)), std::future_status::ready);
  return ok.load();
}

TEST(GrpcTransportTest, RemoteModelRoundTripsOverGrpc) {
  GrpcModelServer server;
  auto model = ConnectRemoteStage({server.endpoint()}, Options("echo"), Grpc());
  ASSERT_TRUE(model.ok()) << model.status();
  EXPECT_EQ((*model)->metadata().inputs[0].name, "INPUT0");
  EXPECT_EQ((*model)->metadata().inputs[0].dtype, DataType::kFp32);
  EXPECT_EQ(EchoMany(**model, 50), 50);
  EXPECT_THAT((*model)->Describe(), HasSubstr("kserve-grpc"));
}

TEST(GrpcTransportTest, MetadataCarriesClassNamesAndErrorsKeepTheirCode) {
  GrpcModelServer server;
  auto people = ConnectRemoteStage({server.endpoint()}, Options("people"), Grpc());
  ASSERT_TRUE(people.ok()) << people.status();
  EXPECT_EQ((*people)->metadata().class_names, (std::vector<std::string>{"person"}));
  auto missing = ConnectRemoteStage({server.endpoint()}, Options("nope"), Grpc());
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound) << missing.status();
  auto nobody = ConnectRemoteStage({RefusingEndpoint()}, Options("echo"), Grpc());
  EXPECT_EQ(nobody.status().code(), absl::StatusCode::kUnavailable) << nobody.status();
}

TEST(GrpcTransportTest, RequestErrorsAreNotRetried) {
  GrpcModelServer server;
  auto model = ConnectRemoteStage({server.endpoint()}, Options("echo"), Grpc());
  ASSERT_TRUE(model.ok()) << model.status();
  auto r = (*model)->Infer({.inputs = {Tensor::Int64("INPUT0", {1, 1}, std::vector<int64_t>{1})}});
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(r.status().message(), HasSubstr("must be FP32"));
  EXPECT_EQ((*model)->stats().retries, 0);
}

TEST(GrpcTransportTest, ProbeAsksForTheModelAndBadCallsFailInline) {
  GrpcModelServer server;
  auto transport = GrpcTransport::Create({server.endpoint()});
  ASSERT_TRUE(transport.ok()) << transport.status();
  auto probe = [&](size_t endpoint, const std::string& model) {
    std::promise<absl::Status> p;
    (*transport)->Probe(endpoint, model, Clock::Real()->Now() + std::chrono::seconds(30),
                        [&](absl::Status s) { p.set_value(s); });
    return p.get_future().get();
  };
  EXPECT_TRUE(probe(0, "echo").ok());
  EXPECT_EQ(probe(0, "nope").code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(probe(1, "echo").code(), absl::StatusCode::kInvalidArgument);
  // A call prepared by another transport is refused.
  auto http = HttpTransport::Create({server.endpoint()}, {});
  ASSERT_TRUE(http.ok());
  auto foreign = (*http)->Prepare({.model = "echo", .inputs = {Row(1)}});
  ASSERT_TRUE(foreign.ok());
  std::promise<Result> p;
  (*transport)->Infer(0, *foreign, Clock::Real()->Now() + std::chrono::seconds(30),
                      [&](Result r) { p.set_value(std::move(r)); });
  EXPECT_EQ(p.get_future().get().status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(GrpcTransport::Create({}).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(GrpcTransportTest, HungAttemptTimesOutOnFakeTimeAndTheRequestMovesOn) {
  GrpcModelServer stuck(/*hold=*/true), good;
  testing::FakeClock clock;
  RemoteModelOptions o = Options("held");
  o.attempt_timeout = milliseconds(1000);
  o.balancer.policy = BalancePolicy::kRoundRobin;  // the first attempt goes to `stuck`
  auto transport = GrpcTransport::Create({stuck.endpoint(), good.endpoint()}, {}, &clock);
  ASSERT_TRUE(transport.ok()) << transport.status();
  auto model = RemoteModel::Create(*std::move(transport), o, {}, &clock);
  ASSERT_TRUE(model.ok()) << model.status();
  std::promise<Result> done;
  (*model)->InferAsync({.inputs = {Row(3)}}, [&](Result r) { done.set_value(std::move(r)); });
  ASSERT_TRUE(stuck.WaitForHeld(1));
  clock.Advance(milliseconds(1000));
  Result r = done.get_future().get();
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ((*r)[0].Values<float>()[0], 3);
  const models::StageStats stats = (*model)->stats();
  EXPECT_EQ(stats.endpoints[0].failures, 1);
  EXPECT_EQ(stats.retries, 1);
}

TEST(GrpcTransportTest, ServerKilledMidRunLosesNoRequest) {
  GrpcModelServer a, b;
  RemoteModelOptions o = Options("echo");
  o.retry_backoff = milliseconds(1);
  auto model = ConnectRemoteStage({a.endpoint(), b.endpoint()}, o, Grpc());
  ASSERT_TRUE(model.ok()) << model.status();
  constexpr int kRequests = 1000;
  std::atomic<int> ok{0}, done{0};
  std::promise<void> all, some;
  std::mutex errors_mu;
  std::vector<std::string> errors;
  for (int i = 0; i < kRequests; ++i) {
    (*model)->InferAsync({.inputs = {Row(static_cast<float>(i))}}, [&, i](Result r) {
      if (r.ok() && (*r)[0].Values<float>()[0] == static_cast<float>(i)) ++ok;
      if (!r.ok()) {
        std::lock_guard<std::mutex> lock(errors_mu);
        errors.push_back(r.status().ToString());
      }
      const int n = ++done;
      if (n == 200) some.set_value();
      if (n == kRequests) all.set_value();
    });
  }
  some.get_future().wait();
  b.Stop();
  ASSERT_EQ(all.get_future().wait_for(std::chrono::seconds(60)), std::future_status::ready);
  EXPECT_EQ(ok.load(), kRequests) << (errors.empty() ? "" : "first error: " + errors[0]);
  EXPECT_EQ((*model)->failed_requests(), 0);
}

TEST(GrpcTransportTest, ShutdownCancelsCallsOnTheWire) {
  GrpcModelServer stuck(/*hold=*/true);
  testing::FakeClock clock;  // attempts never time out
  auto transport = GrpcTransport::Create({stuck.endpoint()}, {}, &clock);
  ASSERT_TRUE(transport.ok());
  auto call = (*transport)->Prepare({.model = "held", .inputs = {Row(1)}});
  ASSERT_TRUE(call.ok()) << call.status();
  std::atomic<int> cancelled{0}, calls{0};
  for (int i = 0; i < 2; ++i) {
    (*transport)->Infer(0, *call, clock.Now() + std::chrono::hours(1), [&](Result r) {
      ++calls;
      cancelled += r.status().code() == absl::StatusCode::kCancelled;
    });
  }
  ASSERT_TRUE(stuck.WaitForHeld(2));
  (*transport)->Shutdown();
  EXPECT_EQ(calls.load(), 2);
  EXPECT_EQ(cancelled.load(), 2);
  // Later calls fail inline.
  (*transport)->Infer(0, *call, clock.Now(), [&](Result r) {
    ++calls;
    cancelled += r.status().code() == absl::StatusCode::kCancelled;
  });
  EXPECT_EQ(calls.load(), 3);
  EXPECT_EQ(cancelled.load(), 3);
}

}  // namespace
}  // namespace dnoscope::client
