#include "client/http_client.h"

#include <atomic>
#include <chrono>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include "absl/base/thread_annotations.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "client/test_http_server.h"
#include "common/mutex.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "testing/fake_clock.h"

namespace dnoscope::client {
namespace {

using testing::TestHttpServer;
using testing::TestRequest;
using testing::TestResponse;
using ::testing::HasSubstr;

std::unique_ptr<HttpClient> MakeClient(HttpClientOptions options = {},
                                       Clock* clock = Clock::Real()) {
  absl::StatusOr<std::unique_ptr<HttpClient>> client = HttpClient::Create(options, clock);
  EXPECT_TRUE(client.ok()) << client.status();
  return *std::move(client);
}

HttpCall Get(std::string target) {
  HttpCall call;
  call.method = "GET";
  call.target = std::move(target);
  return call;
}

// Counts completions of asynchronous calls and waits for all of them.
class Completions {
 public:
  explicit Completions(int n) : results_(n), calls_(n, 0) {}

  HttpClient::DoneCallback Callback(int i) {
    return [this, i](absl::StatusOr<HttpResult> result) {
      MutexLock lock(&mu_);
      results_[i] = std::move(result);
      ++calls_[i];
      ++total_;
      changed_.SignalAll();
    };
  }
  // Blocks until every call completed (a 60 s real-time guard fails a hang).
  void WaitAll() {
    const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    MutexLock lock(&mu_);
    while (total_ < static_cast<int>(results_.size())) {
      if (changed_.WaitUntil(&mu_, give_up)) {
        ADD_FAILURE() << "only " << total_ << " of " << results_.size() << " calls completed";
        return;
      }
    }
  }
  absl::StatusOr<HttpResult> result(int i) const {
    MutexLock lock(&mu_);
    return results_[i];
  }
  int calls(int i) const {
    MutexLock lock(&mu_);
    return calls_[i];
  }
  int total() const {
    MutexLock lock(&mu_);
    return total_;
  }

 private:
  mutable Mutex mu_;
  CondVar changed_;
  std::vector<absl::StatusOr<HttpResult>> results_ ABSL_GUARDED_BY(mu_);
  std::vector<int> calls_ ABSL_GUARDED_BY(mu_);
  int total_ ABSL_GUARDED_BY(mu_) = 0;
};

TestResponse Echo(const TestRequest& request) {
  TestResponse response;
  response.status = 201;
  response.body = request.method + " " + request.target + " " + request.body;
  response.headers = {{"X-Reply", "yes"},
                      {"X-Echo", request.Header("x-test")},
                      {"X-Content-Type", request.Header("content-type")}};
  return response;
}

TEST(HttpClientTest, SendSyncRoundTripsStatusHeadersAndBody) {
  TestHttpServer server(Echo);
  auto client = MakeClient();
  HttpCall call;
  call.target = "/v2/models/m/infer";
  call.body = R"({"inputs":[]})";
  call.headers = {{"X-Test", "abc"}};
  absl::StatusOr<HttpResult> result = client->SendSync(server.endpoint(), call);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->status, 201);
  EXPECT_EQ(result->body, R"(POST /v2/models/m/infer {"inputs":[]})");
  ASSERT_NE(result->Header("X-REPLY"), nullptr);
  EXPECT_EQ(*result->Header("x-reply"), "yes");
  EXPECT_EQ(*result->Header("x-echo"), "abc");
  EXPECT_EQ(*result->Header("x-content-type"), "application/json");
  EXPECT_EQ(result->Header("x-missing"), nullptr);
  for (const auto& [name, value] : result->headers) {
    EXPECT_EQ(name, absl::AsciiStrToLower(name));
  }
}

TEST(HttpClientTest, SendDeliversResponseAsynchronously) {
  TestHttpServer server(Echo);
  auto client = MakeClient();
  Completions completions(1);
  client->Send(server.endpoint(), Get("/v2/health/ready"), completions.Callback(0));
  completions.WaitAll();
  ASSERT_TRUE(completions.result(0).ok()) << completions.result(0).status();
  EXPECT_EQ(completions.result(0)->status, 201);
  EXPECT_EQ(completions.result(0)->body, "GET /v2/health/ready ");
  EXPECT_EQ(client->in_flight(server.endpoint()), 0u);
}

TEST(HttpClientTest, ErrorStatusIsAResultNotAnError) {
  TestHttpServer server([](const TestRequest&) { return TestResponse{404, "no such model"}; });
  auto client = MakeClient();
  absl::StatusOr<HttpResult> result = client->SendSync(server.endpoint(), Get("/v2/models/x"));
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->status, 404);
  EXPECT_EQ(result->body, "no such model");
}

TEST(HttpClientTest, HandlesResponsesWithoutBody) {
  TestHttpServer server([](const TestRequest& r) {
    return TestResponse{r.target == "/204" ? 204 : 200, ""};
  });
  auto client = MakeClient();
  for (const char* target : {"/204", "/200", "/204"}) {
    absl::StatusOr<HttpResult> result = client->SendSync(server.endpoint(), Get(target));
    ASSERT_TRUE(result.ok()) << result.status();
    EXPECT_EQ(result->status, target == std::string("/204") ? 204 : 200);
    EXPECT_EQ(result->body, "");
  }
  EXPECT_EQ(server.accepted(), 1);
}

TEST(HttpClientTest, ResolvesHostNames) {
  TestHttpServer server;
  auto client = MakeClient();
  absl::StatusOr<HttpResult> result =
      client->SendSync(Endpoint{"localhost", server.endpoint().port}, Get("/"));
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->body, "ok");
}

TEST(HttpClientTest, ReusesOneKeepAliveConnectionForSequentialCalls) {
  TestHttpServer server;
  auto client = MakeClient();
  for (int i = 0; i < 20; ++i) {
    absl::StatusOr<HttpResult> result = client->SendSync(server.endpoint(), Get("/"));
    ASSERT_TRUE(result.ok()) << result.status();
    EXPECT_EQ(result->status, 200);
  }
  EXPECT_EQ(server.accepted(), 1);
  EXPECT_EQ(server.requests(), 20);
}

TEST(HttpClientTest, LimitsConnectionsPerEndpointAndQueuesTheRest) {
  TestHttpServer server;
  server.SetHold(true);
  HttpClientOptions options;
  options.max_connections_per_endpoint = 2;
  auto client = MakeClient(options);
  constexpr int kCalls = 8;
  Completions completions(kCalls);
  for (int i = 0; i < kCalls; ++i) {
    client->Send(server.endpoint(), Get("/"), completions.Callback(i));
  }
  ASSERT_TRUE(server.WaitForInFlight(2));
  EXPECT_EQ(client->in_flight(server.endpoint()), static_cast<size_t>(kCalls));
  server.SetHold(false);
  completions.WaitAll();
  for (int i = 0; i < kCalls; ++i) {
    ASSERT_TRUE(completions.result(i).ok()) << completions.result(i).status();
  }
  EXPECT_EQ(server.accepted(), 2);
  EXPECT_EQ(server.max_open_connections(), 2);
  EXPECT_EQ(server.max_in_flight(), 2);
  EXPECT_EQ(client->in_flight(server.endpoint()), 0u);
}

TEST(HttpClientTest, ManyConcurrentCallsOnSeveralThreadsAllComplete) {
  TestHttpServer server([](const TestRequest& r) { return TestResponse{200, r.target}; });
  HttpClientOptions options;
  options.io_threads = 2;
  options.max_connections_per_endpoint = 8;
  auto client = MakeClient(options);
  constexpr int kCalls = 300;
  Completions completions(kCalls);
  for (int i = 0; i < kCalls; ++i) {
    client->Send(server.endpoint(), Get(absl::StrCat("/", i)), completions.Callback(i));
  }
  completions.WaitAll();
  for (int i = 0; i < kCalls; ++i) {
    ASSERT_TRUE(completions.result(i).ok()) << completions.result(i).status();
    EXPECT_EQ(completions.result(i)->body, absl::StrCat("/", i));
    EXPECT_EQ(completions.calls(i), 1);
  }
  EXPECT_LE(server.max_open_connections(), 8);
}

TEST(HttpClientTest, ReconnectsWhenServerClosedIdleConnection) {
  TestHttpServer server;
  auto client = MakeClient();
  ASSERT_TRUE(client->SendSync(server.endpoint(), Get("/")).ok());
  server.CloseIdleConnections();
  absl::StatusOr<HttpResult> result = client->SendSync(server.endpoint(), Get("/"));
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->status, 200);
  EXPECT_EQ(server.accepted(), 2);
  EXPECT_EQ(server.requests(), 2);
}

TEST(HttpClientTest, HonoursConnectionClose) {
  TestHttpServer server([](const TestRequest&) {
    TestResponse response{200, "bye"};
    response.close = true;
    return response;
  });
  auto client = MakeClient();
  for (int i = 0; i < 3; ++i) {
    absl::StatusOr<HttpResult> result = client->SendSync(server.endpoint(), Get("/"));
    ASSERT_TRUE(result.ok()) << result.status();
    EXPECT_EQ(result->body, "bye");
  }
  EXPECT_EQ(server.accepted(), 3);
}

TEST(HttpClientTest, ConnectionDroppedAfterRequestIsUnavailableAndNotRetried) {
  std::atomic<int> seen{0};
  TestHttpServer server([&](const TestRequest&) {
    TestResponse response;
    response.drop = seen.fetch_add(1) == 1;
    return response;
  });
  auto client = MakeClient();
  ASSERT_TRUE(client->SendSync(server.endpoint(), Get("/")).ok());
  absl::StatusOr<HttpResult> result = client->SendSync(server.endpoint(), Get("/"));
  EXPECT_EQ(result.status().code(), absl::StatusCode::kUnavailable) << result.status();
  EXPECT_THAT(std::string(result.status().message()), HasSubstr(server.endpoint().ToString()));
  EXPECT_EQ(server.requests(), 2);
  // The next call goes out on a fresh connection.
  EXPECT_TRUE(client->SendSync(server.endpoint(), Get("/")).ok());
}

TEST(HttpClientTest, ConnectionRefusedIsUnavailableNamingEndpoint) {
  boost::asio::io_context io;
  boost::asio::ip::tcp::acceptor acceptor(
      io, {boost::asio::ip::make_address("127.0.0.1"), 0});
  const Endpoint endpoint{"127.0.0.1", acceptor.local_endpoint().port()};
  acceptor.close();
  auto client = MakeClient();
  absl::StatusOr<HttpResult> result = client->SendSync(endpoint, Get("/"));
  EXPECT_EQ(result.status().code(), absl::StatusCode::kUnavailable) << result.status();
  EXPECT_THAT(std::string(result.status().message()), HasSubstr(endpoint.ToString()));
  EXPECT_THAT(std::string(result.status().message()), HasSubstr("refused"));
}

TestResponse NeverAnswer(const TestRequest&) {
  TestResponse response;
  response.never_answer = true;
  return response;
}

TEST(HttpClientTest, DeadlineOnTheInjectedClockFailsACallTheServerNeverAnswers) {
  TestHttpServer server(NeverAnswer);
  ::dnoscope::testing::FakeClock clock;
  auto client = MakeClient({}, &clock);
  HttpCall call = Get("/");
  call.deadline = clock.Now() + std::chrono::milliseconds(200);
  Completions completions(1);
  client->Send(server.endpoint(), call, completions.Callback(0));
  ASSERT_TRUE(server.WaitForInFlight(1));
  // The deadline thread sleeps until the fake deadline; just before it,
  // the call is still open.
  ASSERT_TRUE(clock.BlockUntilWaiterFor(call.deadline));
  clock.Advance(std::chrono::milliseconds(200) - std::chrono::nanoseconds(1));
  EXPECT_EQ(completions.total(), 0);
  clock.Advance(std::chrono::nanoseconds(1));
  completions.WaitAll();
  EXPECT_EQ(completions.result(0).status().code(), absl::StatusCode::kDeadlineExceeded)
      << completions.result(0).status();
  EXPECT_EQ(client->in_flight(server.endpoint()), 0u);
}

TEST(HttpClientTest, ConnectionClosedByADeadlineIsReplacedForTheNextCall) {
  std::atomic<int> seen{0};
  TestHttpServer server([&](const TestRequest&) {
    TestResponse response{200, "ok"};
    response.never_answer = seen.fetch_add(1) == 0;
    return response;
  });
  ::dnoscope::testing::FakeClock clock;
  auto client = MakeClient({}, &clock);
  HttpCall call = Get("/");
  call.deadline = clock.Now() + std::chrono::seconds(1);
  Completions first(1);
  client->Send(server.endpoint(), call, first.Callback(0));
  ASSERT_TRUE(server.WaitForInFlight(1));
  clock.Advance(std::chrono::seconds(1));
  first.WaitAll();
  ASSERT_EQ(first.result(0).status().code(), absl::StatusCode::kDeadlineExceeded);
  absl::StatusOr<HttpResult> second = client->SendSync(server.endpoint(), Get("/"));
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ(second->body, "ok");
  EXPECT_EQ(server.accepted(), 2);
}

TEST(HttpClientTest, QueuedCallTimesOutWhileWaitingForAConnection) {
  TestHttpServer server(NeverAnswer);
  HttpClientOptions options;
  options.max_connections_per_endpoint = 1;
  ::dnoscope::testing::FakeClock clock;
  auto client = MakeClient(options, &clock);
  Completions first(1);
  client->Send(server.endpoint(), Get("/"), first.Callback(0));
  ASSERT_TRUE(server.WaitForInFlight(1));
  HttpCall call = Get("/");
  call.deadline = clock.Now() + std::chrono::milliseconds(100);
  Completions queued(1);
  client->Send(server.endpoint(), call, queued.Callback(0));
  clock.Advance(std::chrono::milliseconds(100));
  queued.WaitAll();
  EXPECT_EQ(queued.result(0).status().code(), absl::StatusCode::kDeadlineExceeded)
      << queued.result(0).status();
  EXPECT_THAT(std::string(queued.result(0).status().message()),
              HasSubstr("waiting for a connection"));
  EXPECT_EQ(first.total(), 0);  // no deadline: still waiting for the server
  client->Shutdown();
  first.WaitAll();
  EXPECT_EQ(first.result(0).status().code(), absl::StatusCode::kCancelled);
}

TEST(HttpClientTest, ShutdownCancelsEveryOutstandingCallExactlyOnce) {
  TestHttpServer server;
  server.SetHold(true);
  HttpClientOptions options;
  options.max_connections_per_endpoint = 2;
  auto client = MakeClient(options);
  constexpr int kCalls = 5;
  Completions completions(kCalls);
  for (int i = 0; i < kCalls; ++i) {
    client->Send(server.endpoint(), Get("/"), completions.Callback(i));
  }
  ASSERT_TRUE(server.WaitForInFlight(2));
  client->Shutdown();
  completions.WaitAll();
  for (int i = 0; i < kCalls; ++i) {
    EXPECT_EQ(completions.calls(i), 1);
    EXPECT_EQ(completions.result(i).status().code(), absl::StatusCode::kCancelled)
        << completions.result(i).status();
  }
  client->Shutdown();  // idempotent
  absl::StatusOr<HttpResult> after = client->SendSync(server.endpoint(), Get("/"));
  EXPECT_EQ(after.status().code(), absl::StatusCode::kCancelled);
}

TEST(HttpClientTest, OversizedResponseBodyIsResourceExhausted) {
  TestHttpServer server([](const TestRequest&) { return TestResponse{200, std::string(1000, 'x')}; });
  HttpClientOptions options;
  options.max_response_body_bytes = 100;
  auto client = MakeClient(options);
  absl::StatusOr<HttpResult> result = client->SendSync(server.endpoint(), Get("/"));
  EXPECT_EQ(result.status().code(), absl::StatusCode::kResourceExhausted)
      << result.status();
}

TEST(HttpClientTest, RejectsMalformedCalls) {
  auto client = MakeClient();
  const Endpoint endpoint{"127.0.0.1", 9};
  HttpCall injected = Get("/");
  injected.headers = {{"X-Test", "a\r\nEvil: 1"}};
  HttpCall spaced = Get("/a b");
  HttpCall no_target = Get("");
  HttpCall framing = Get("/");
  framing.headers = {{"Content-Length", "3"}};
  for (const HttpCall& call : {injected, spaced, no_target, framing}) {
    EXPECT_EQ(client->SendSync(endpoint, call).status().code(),
              absl::StatusCode::kInvalidArgument);
  }
}

TEST(HttpClientTest, SendSyncOnAnIoThreadFailsInsteadOfDeadlocking) {
  TestHttpServer server;
  auto client = MakeClient();
  Completions completions(1);
  absl::Status nested;  // written before the completion that WaitAll sees
  client->Send(server.endpoint(), Get("/"), [&](absl::StatusOr<HttpResult> result) {
    nested = client->SendSync(server.endpoint(), Get("/")).status();
    completions.Callback(0)(std::move(result));
  });
  completions.WaitAll();
  EXPECT_EQ(nested.code(), absl::StatusCode::kFailedPrecondition);
}

TEST(HttpClientTest, CreateRejectsBadOptions) {
  HttpClientOptions options;
  options.io_threads = 0;
  EXPECT_EQ(HttpClient::Create(options).status().code(), absl::StatusCode::kInvalidArgument);
  options = {};
  options.max_connections_per_endpoint = 0;
  EXPECT_EQ(HttpClient::Create(options).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(HttpClient::Create({}, nullptr).status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace dnoscope::client
