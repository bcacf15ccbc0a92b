// Tests of the HTTP server over real sockets on 127.0.0.1, port 0.
#include "serving/http/server.h"

#include <chrono>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/base/thread_annotations.h"
#include "common/bounded_queue.h"
#include "common/mutex.h"
#include "fmt/format.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "serving/http/test_client.h"

namespace dnoscope::serving::http {
namespace {

using ::dnoscope::serving::http::testing::GetRequest;
using ::dnoscope::serving::http::testing::PostRequest;
using ::dnoscope::serving::http::testing::Response;
using ::dnoscope::serving::http::testing::TestClient;
using ::testing::HasSubstr;

HttpServerOptions TestOptions() {
  HttpServerOptions options;
  options.port = 0;
  options.io_threads = 2;
  return options;
}

// Answers at once with the request body and method/target/x-test echoed in headers.
void Echo(HttpRequest request, Responder respond) {
  HttpResponse response;
  response.content_type = "text/plain";
  response.headers = {{"X-Method", request.method}, {"X-Target", request.target}};
  if (const std::string* value = request.Header("X-Test")) {
    response.headers.emplace_back("X-Echo", *value);
  }
  response.body = std::move(request.body);
  respond(std::move(response));
}

std::unique_ptr<HttpServer> StartOrDie(const HttpServerOptions& options, Handler handler) {
  absl::StatusOr<std::unique_ptr<HttpServer>> server =
      HttpServer::Start(options, std::move(handler));
  if (!server.ok()) ADD_FAILURE() << server.status();
  return server.ok() ? std::move(*server) : nullptr;
}

std::string HeaderOf(const Response& response, std::string_view name) {
  auto it = response.find(boost::beast::string_view(name.data(), name.size()));
  return it == response.end() ? std::string() : std::string(it->value());
}

HttpResponse TextResponse(std::string body) {
  HttpResponse response;
  response.content_type = "text/plain";
  response.body = std::move(body);
  return response;
}

// A handler that parks every request with its Responder for the test to answer.
class ParkedRequests {
 public:
  Handler handler() {
    return [this](HttpRequest request, Responder respond) {
      queue_.Push({std::move(request), std::move(respond)});
    };
  }
  std::pair<HttpRequest, Responder> Pop() { return *queue_.Pop(); }

 private:
  BoundedQueue<std::pair<HttpRequest, Responder>> queue_{64};
};

TEST(HttpServerTest, EchoRoundTrip) {
  auto server = StartOrDie(TestOptions(), Echo);
  ASSERT_NE(server, nullptr);
  TestClient client(server->port());
  ASSERT_TRUE(client.connected());
  std::optional<Response> response =
      client.RoundTrip(PostRequest("/v2/models/m/infer?x=1", "hello", "X-Test: 42\r\n"));
  ASSERT_TRUE(response);
  EXPECT_EQ(response->result_int(), 200);
  EXPECT_EQ(response->body(), "hello");
  EXPECT_EQ(HeaderOf(*response, "Content-Type"), "text/plain");
  EXPECT_EQ(HeaderOf(*response, "Content-Length"), "5");
  EXPECT_EQ(HeaderOf(*response, "X-Method"), "POST");
  EXPECT_EQ(HeaderOf(*response, "X-Target"), "/v2/models/m/infer?x=1");
  EXPECT_EQ(HeaderOf(*response, "X-Echo"), "42");
  EXPECT_TRUE(response->keep_alive());
  EXPECT_EQ(server->in_flight(), 0u);
}

TEST(HttpServerTest, HeaderNamesReachTheHandlerLowerCased) {
  ParkedRequests parked;
  auto server = StartOrDie(TestOptions(), parked.handler());
  ASSERT_NE(server, nullptr);
  TestClient client(server->port());
  ASSERT_TRUE(client.Send(GetRequest("/", "X-Mixed-Case: Value\r\n")));
  auto [request, respond] = parked.Pop();
  EXPECT_EQ(request.method, "GET");
  EXPECT_THAT(request.headers,
              ::testing::Contains(std::pair<std::string, std::string>("x-mixed-case", "Value")));
  respond(TextResponse("ok"));
  ASSERT_TRUE(client.Read());
}

TEST(HttpServerTest, KeepAliveServesSeveralRequestsOnOneConnection) {
  auto server = StartOrDie(TestOptions(), Echo);
  ASSERT_NE(server, nullptr);
  TestClient client(server->port());
  for (int i = 0; i < 5; ++i) {
    std::string body = fmt::format("request {}", i);
    std::optional<Response> response = client.RoundTrip(PostRequest("/echo", body));
    ASSERT_TRUE(response) << "request " << i;
    EXPECT_EQ(response->body(), body);
    EXPECT_TRUE(response->keep_alive());
  }
}

TEST(HttpServerTest, PipelinedRequestsAreAnsweredInOrder) {
  ParkedRequests parked;
  auto server = StartOrDie(TestOptions(), parked.handler());
  ASSERT_NE(server, nullptr);
  TestClient client(server->port());
  ASSERT_TRUE(
      client.Send(PostRequest("/a", "1") + PostRequest("/b", "2") + PostRequest("/c", "3")));
  std::jthread answerer([&] {
    for (int i = 0; i < 3; ++i) {
      auto [request, respond] = parked.Pop();
      respond(TextResponse(request.target));
    }
  });
  for (std::string expected : {"/a", "/b", "/c"}) {
    std::optional<Response> response = client.Read();
    ASSERT_TRUE(response);
    EXPECT_EQ(response->body(), expected);
  }
}

TEST(HttpServerTest, HandlerAnswersLaterFromAnotherThread) {
  ParkedRequests parked;
  auto server = StartOrDie(TestOptions(), parked.handler());
  ASSERT_NE(server, nullptr);
  TestClient client(server->port());
  ASSERT_TRUE(client.Send(PostRequest("/later", "payload")));
  auto [request, respond] = parked.Pop();
  EXPECT_EQ(request.body, "payload");
  EXPECT_EQ(server->in_flight(), 1u);
  std::jthread other([respond = std::move(respond)] { respond(TextResponse("answered later")); });
  std::optional<Response> response = client.Read();
  ASSERT_TRUE(response);
  EXPECT_EQ(response->body(), "answered later");
  EXPECT_EQ(server->in_flight(), 0u);
}

// Counts handlers that arrived; each waits (bounded) until `n` have.
class Rendezvous {
 public:
  explicit Rendezvous(int n) : n_(n) {}
  // True when `n` handlers were inside Meet at once within the real-time guard.
  bool Meet() {
    const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    MutexLock lock(&mu_);
    ++arrived_;
    cv_.SignalAll();
    while (arrived_ < n_) {
      if (cv_.WaitUntil(&mu_, give_up)) return arrived_ >= n_;
    }
    return true;
  }

 private:
  const int n_;
  Mutex mu_;
  CondVar cv_;
  int arrived_ ABSL_GUARDED_BY(mu_) = 0;
};

TEST(HttpServerTest, HandlersRunConcurrentlyOnSeveralIoThreads) {
  // Each handler waits for the other: both can only meet when two I/O
  // threads run handlers at the same time.
  Rendezvous rendezvous(2);
  auto server = StartOrDie(TestOptions(), [&](HttpRequest request, Responder respond) {
    respond(TextResponse(rendezvous.Meet() ? "met" : "alone"));
  });
  ASSERT_NE(server, nullptr);
  std::vector<std::string> bodies(2);
  {
    std::vector<std::jthread> clients;
    for (int i = 0; i < 2; ++i) {
      clients.emplace_back([&, i] {
        TestClient client(server->port());
        if (auto response = client.RoundTrip(GetRequest("/meet"))) bodies[i] = response->body();
      });
    }
  }
  EXPECT_EQ(bodies, std::vector<std::string>({"met", "met"}));
}

TEST(HttpServerTest, ConcurrentClientsAllGetTheirOwnResponses) {
  auto server = StartOrDie(TestOptions(), Echo);
  ASSERT_NE(server, nullptr);
  constexpr int kClients = 8;
  constexpr int kRequests = 100;
  std::vector<int> correct(kClients, 0);
  {
    std::vector<std::jthread> clients;
    for (int c = 0; c < kClients; ++c) {
      clients.emplace_back([&, c] {
        TestClient client(server->port());
        for (int i = 0; i < kRequests; ++i) {
          std::string body = fmt::format("client {} request {}", c, i);
          auto response = client.RoundTrip(PostRequest("/echo", body));
          if (response && response->body() == body) ++correct[c];
        }
      });
    }
  }
  EXPECT_EQ(correct, std::vector<int>(kClients, kRequests));
}

TEST(HttpServerTest, ChunkedRequestBodyIsReassembled) {
  auto server = StartOrDie(TestOptions(), Echo);
  ASSERT_NE(server, nullptr);
  TestClient client(server->port());
  std::optional<Response> response = client.RoundTrip(
      "POST /c HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
      "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n");
  ASSERT_TRUE(response);
  EXPECT_EQ(response->body(), "hello world");
}

TEST(HttpServerTest, BodyOverTheLimitGets413WithJsonErrorAndClose) {
  HttpServerOptions options = TestOptions();
  options.max_body_bytes = 1024;
  auto server = StartOrDie(options, Echo);
  ASSERT_NE(server, nullptr);
  TestClient client(server->port());
  std::optional<Response> response = client.RoundTrip(PostRequest("/big", std::string(4096, 'b')));
  ASSERT_TRUE(response);
  EXPECT_EQ(response->result_int(), 413);
  EXPECT_EQ(HeaderOf(*response, "Content-Type"), "application/json");
  EXPECT_EQ(response->body(),
            R"({"error": "request body of 4096 bytes exceeds the limit of 1024 bytes"})");
  EXPECT_FALSE(response->keep_alive());
  EXPECT_TRUE(client.WaitForClose());
}

TEST(HttpServerTest, ChunkedBodyOverTheLimitGets413) {
  HttpServerOptions options = TestOptions();
  options.max_body_bytes = 8;
  auto server = StartOrDie(options, Echo);
  ASSERT_NE(server, nullptr);
  TestClient client(server->port());
  std::optional<Response> response = client.RoundTrip(
      "POST /c HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
      "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n");
  ASSERT_TRUE(response);
  EXPECT_EQ(response->result_int(), 413);
  EXPECT_EQ(response->body(), R"({"error": "request body exceeds the limit of 8 bytes"})");
}

TEST(HttpServerTest, HeaderOverTheLimitGets431AndClose) {
  HttpServerOptions options = TestOptions();
  options.max_header_bytes = 1024;
  auto server = StartOrDie(options, Echo);
  ASSERT_NE(server, nullptr);
  TestClient client(server->port());
  std::optional<Response> response =
      client.RoundTrip(GetRequest("/", "X-Big: " + std::string(4096, 'h') + "\r\n"));
  ASSERT_TRUE(response);
  EXPECT_EQ(response->result_int(), 431);
  EXPECT_THAT(response->body(), HasSubstr("\"error\""));
  EXPECT_TRUE(client.WaitForClose());
}

TEST(HttpServerTest, MalformedRequestLineGets400AndClose) {
  auto server = StartOrDie(TestOptions(), Echo);
  ASSERT_NE(server, nullptr);
  TestClient client(server->port());
  std::optional<Response> response = client.RoundTrip("THIS IS NOT HTTP\r\n\r\n");
  ASSERT_TRUE(response);
  EXPECT_EQ(response->result_int(), 400);
  EXPECT_THAT(response->body(), HasSubstr(R"({"error": "malformed HTTP request)"));
  EXPECT_FALSE(response->keep_alive());
  EXPECT_TRUE(client.WaitForClose());
}

TEST(HttpServerTest, ConnectionCloseIsHonoured) {
  auto server = StartOrDie(TestOptions(), Echo);
  ASSERT_NE(server, nullptr);
  TestClient client(server->port());
  std::optional<Response> response =
      client.RoundTrip(PostRequest("/", "bye", "Connection: close\r\n"));
  ASSERT_TRUE(response);
  EXPECT_EQ(response->body(), "bye");
  EXPECT_EQ(HeaderOf(*response, "Connection"), "close");
  EXPECT_TRUE(client.WaitForClose());
}

TEST(HttpServerTest, Http10ClosesUnlessKeepAliveWasAsked) {
  auto server = StartOrDie(TestOptions(), Echo);
  ASSERT_NE(server, nullptr);
  TestClient keep(server->port());
  for (int i = 0; i < 2; ++i) {
    std::optional<Response> response =
        keep.RoundTrip("GET /k HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
    ASSERT_TRUE(response);
    EXPECT_EQ(HeaderOf(*response, "Connection"), "keep-alive");
  }
  TestClient once(server->port());
  std::optional<Response> response = once.RoundTrip("GET /once HTTP/1.0\r\n\r\n");
  ASSERT_TRUE(response);
  EXPECT_EQ(HeaderOf(*response, "Connection"), "close");
  EXPECT_TRUE(once.WaitForClose());
}

TEST(HttpServerTest, IdleKeepAliveConnectionIsClosedAfterIdleTimeout) {
  HttpServerOptions options = TestOptions();
  options.idle_timeout = std::chrono::seconds(1);
  auto server = StartOrDie(options, Echo);
  ASSERT_NE(server, nullptr);
  TestClient client(server->port());
  ASSERT_TRUE(client.RoundTrip(PostRequest("/", "x")));
  EXPECT_TRUE(client.WaitForClose());
}

TEST(HttpServerTest, IncompleteRequestIsClosedAfterReadTimeout) {
  HttpServerOptions options = TestOptions();
  options.read_timeout = std::chrono::seconds(1);
  auto server = StartOrDie(options, Echo);
  ASSERT_NE(server, nullptr);
  TestClient client(server->port());
  ASSERT_TRUE(client.Send("POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 10\r\n\r\nabc"));
  EXPECT_TRUE(client.WaitForClose());
}

TEST(HttpServerTest, ExpectContinueGetsInterimResponseThenLargeBodyWorks) {
  auto server = StartOrDie(TestOptions(), Echo);
  ASSERT_NE(server, nullptr);
  TestClient client(server->port());
  const std::string body(2 << 20, 'e');
  ASSERT_TRUE(client.Send(fmt::format(
      "POST /big HTTP/1.1\r\nHost: t\r\nContent-Length: {}\r\nExpect: 100-continue\r\n\r\n",
      body.size())));
  std::optional<Response> interim = client.Read();
  ASSERT_TRUE(interim);
  EXPECT_EQ(interim->result_int(), 100);
  ASSERT_TRUE(client.Send(body));
  std::optional<Response> response = client.Read();
  ASSERT_TRUE(response);
  EXPECT_EQ(response->result_int(), 200);
  EXPECT_EQ(response->body(), body);
}

TEST(HttpServerTest, ExpectContinueWithBodySentAtOnceWorks) {
  auto server = StartOrDie(TestOptions(), Echo);
  ASSERT_NE(server, nullptr);
  TestClient client(server->port());
  std::optional<Response> response =
      client.RoundTrip(PostRequest("/", "eager", "Expect: 100-continue\r\n"));
  ASSERT_TRUE(response);
  EXPECT_EQ(response->result_int(), 200);
  EXPECT_EQ(response->body(), "eager");
}

TEST(HttpServerTest, ExpectContinueOverTheLimitGets413WithoutContinue) {
  HttpServerOptions options = TestOptions();
  options.max_body_bytes = 1024;
  auto server = StartOrDie(options, Echo);
  ASSERT_NE(server, nullptr);
  TestClient client(server->port());
  std::optional<Response> response = client.RoundTrip(
      "POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 5000\r\nExpect: 100-continue\r\n\r\n");
  ASSERT_TRUE(response);
  EXPECT_EQ(response->result_int(), 413);
  EXPECT_TRUE(client.WaitForClose());
}

TEST(HttpServerTest, HandlerDroppingTheResponderGets500) {
  auto server = StartOrDie(TestOptions(), [](HttpRequest, Responder) {});
  ASSERT_NE(server, nullptr);
  TestClient client(server->port());
  std::optional<Response> response = client.RoundTrip(GetRequest("/"));
  ASSERT_TRUE(response);
  EXPECT_EQ(response->result_int(), 500);
  EXPECT_EQ(server->in_flight(), 0u);
}

TEST(HttpServerTest, HandlerExceptionGets500AndConnectionSurvives) {
  auto server = StartOrDie(TestOptions(), [](HttpRequest request, Responder respond) {
    if (request.target == "/throw") throw std::runtime_error("boom");
    respond(TextResponse("fine"));
  });
  ASSERT_NE(server, nullptr);
  TestClient client(server->port());
  std::optional<Response> failed = client.RoundTrip(GetRequest("/throw"));
  ASSERT_TRUE(failed);
  EXPECT_EQ(failed->result_int(), 500);
  std::optional<Response> fine = client.RoundTrip(GetRequest("/ok"));
  ASSERT_TRUE(fine);
  EXPECT_EQ(fine->body(), "fine");
}

TEST(HttpServerTest, SecondResponderCallIsIgnored) {
  auto server = StartOrDie(TestOptions(), [](HttpRequest, Responder respond) {
    respond(TextResponse("first"));
    respond(TextResponse("second"));
  });
  ASSERT_NE(server, nullptr);
  TestClient client(server->port());
  std::optional<Response> first = client.RoundTrip(GetRequest("/"));
  ASSERT_TRUE(first);
  EXPECT_EQ(first->body(), "first");
  std::optional<Response> next = client.RoundTrip(GetRequest("/"));
  ASSERT_TRUE(next);
  EXPECT_EQ(next->body(), "first");
}

TEST(HttpServerTest, ShutdownDeliversTheResponseOfARequestInFlight) {
  ParkedRequests parked;
  auto server = StartOrDie(TestOptions(), parked.handler());
  ASSERT_NE(server, nullptr);
  TestClient client(server->port());
  ASSERT_TRUE(client.Send(PostRequest("/slow", "x")));
  auto [request, respond] = parked.Pop();
  ASSERT_EQ(server->in_flight(), 1u);
  // An idle keep-alive connection: Shutdown closes it once draining began,
  // which tells this test that Shutdown has begun.
  TestClient idle(server->port());
  ASSERT_TRUE(idle.Send(PostRequest("/idle", "y")));
  auto [idle_request, idle_respond] = parked.Pop();
  idle_respond(TextResponse("idle now"));
  ASSERT_TRUE(idle.Read());
  std::jthread shutdown([&] { server->Shutdown(); });
  ASSERT_TRUE(idle.WaitForClose());
  const std::string body(4 << 20, 'r');
  respond(TextResponse(body));
  std::optional<Response> response = client.Read();
  ASSERT_TRUE(response);
  EXPECT_EQ(response->result_int(), 200);
  EXPECT_EQ(response->body(), body);
  EXPECT_EQ(HeaderOf(*response, "Connection"), "close");
  EXPECT_TRUE(client.WaitForClose());
  shutdown.join();
  EXPECT_EQ(server->in_flight(), 0u);
}

TEST(HttpServerTest, ShutdownClosesIdleKeepAliveConnections) {
  auto server = StartOrDie(TestOptions(), Echo);
  ASSERT_NE(server, nullptr);
  TestClient client(server->port());
  ASSERT_TRUE(client.RoundTrip(PostRequest("/", "x")));
  server->Shutdown();
  EXPECT_TRUE(client.WaitForClose());
  server->Shutdown();  // idempotent
}

TEST(HttpServerTest, ShutdownGivesUpAfterDrainTimeoutAndLateResponderIsHarmless) {
  HttpServerOptions options = TestOptions();
  options.drain_timeout = std::chrono::seconds(1);
  ParkedRequests parked;
  auto server = StartOrDie(options, parked.handler());
  ASSERT_NE(server, nullptr);
  TestClient client(server->port());
  ASSERT_TRUE(client.Send(GetRequest("/never")));
  auto [request, respond] = parked.Pop();
  server->Shutdown();
  EXPECT_TRUE(client.WaitForClose());
  EXPECT_EQ(server->in_flight(), 1u);
  server.reset();
  respond(TextResponse("too late"));  // a no-op once the server is gone
}

TEST(HttpServerTest, StartOnAPortInUseIsUnavailable) {
  auto first = StartOrDie(TestOptions(), Echo);
  ASSERT_NE(first, nullptr);
  HttpServerOptions options = TestOptions();
  options.port = first->port();
  absl::StatusOr<std::unique_ptr<HttpServer>> second = HttpServer::Start(options, Echo);
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(std::string(second.status().message()),
              HasSubstr(fmt::format("127.0.0.1:{}", first->port())));
}

TEST(HttpServerTest, StartWithABadHostIsInvalidArgument) {
  for (std::string host : {"not-an-ip", "300.1.2.3", ""}) {
    HttpServerOptions options = TestOptions();
    options.host = host;
    absl::StatusOr<std::unique_ptr<HttpServer>> server = HttpServer::Start(options, Echo);
    ASSERT_FALSE(server.ok()) << host;
    EXPECT_EQ(server.status().code(), absl::StatusCode::kInvalidArgument) << host;
  }
}

TEST(HttpServerTest, StartWithBadOptionsIsInvalidArgument) {
  HttpServerOptions options = TestOptions();
  options.io_threads = 0;
  EXPECT_EQ(HttpServer::Start(options, Echo).status().code(), absl::StatusCode::kInvalidArgument);
  options = TestOptions();
  options.port = 70000;
  EXPECT_EQ(HttpServer::Start(options, Echo).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(HttpServer::Start(TestOptions(), nullptr).status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace dnoscope::serving::http
