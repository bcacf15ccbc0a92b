// WebhookEventSink against an in-process HTTP server on 127.0.0.1:0:
// retries with back-off (FakeClock), giving up, the bounded queue.
#include "live/webhook.h"

#include <atomic>
#include <vector>

#include "client/test_http_server.h"
#include "gtest/gtest.h"
#include "testing/fake_clock.h"

namespace dnoscope::live {
namespace {

using client::testing::TestHttpServer;
using client::testing::TestRequest;
using client::testing::TestResponse;
using std::chrono::milliseconds;

Event EventAt(int64_t frame) {
  Event e;
  e.stream = "cam";
  e.present = true;
  e.frame = frame;
  e.confidence = 0.5f;
  return e;
}

std::string UrlOf(const TestHttpServer& server, const std::string& path) {
  return "http://" + server.endpoint().ToString() + path;
}

TEST(WebhookUrlTest, ParsesHostPortAndPath) {
  auto u = ParseWebhookUrl("http://127.0.0.1:9000/hooks/cam");
  ASSERT_TRUE(u.ok()) << u.status();
  EXPECT_EQ(u->endpoint.port, 9000);
  EXPECT_EQ(u->target, "/hooks/cam");
  EXPECT_EQ(ParseWebhookUrl("http://localhost:80")->target, "/");
  for (const char* bad : {"https://a:1/x", "ftp://a/x", "http://a/x", "http://:1/x"}) {
    auto r = ParseWebhookUrl(bad);
    EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument) << bad;
    EXPECT_NE(r.status().message().find(bad), std::string::npos) << r.status();
  }
}

TEST(WebhookTest, RetriesWithBackoffUntilAccepted) {
  std::atomic<int> calls{0};
  std::string path, body, type;
  TestHttpServer server([&](const TestRequest& r) {
    path = r.target;
    body = r.body;
    type = r.Header("content-type");
    return TestResponse{++calls <= 2 ? 503 : 204, ""};
  });
  testing::FakeClock clock;
  WebhookOptions o;
  o.backoff = {milliseconds(250), 2, std::chrono::seconds(5)};
  auto sink = WebhookEventSink::Create(UrlOf(server, "/hook"), o, &clock);
  ASSERT_TRUE(sink.ok()) << sink.status();
  const Clock::TimePoint t0 = clock.Now();
  (*sink)->Publish(EventAt(7));
  // Refused twice: the retries wait 250 ms, then 500 ms, of the clock.
  ASSERT_TRUE(clock.BlockUntilWaiterFor(t0 + milliseconds(250)));
  EXPECT_EQ(calls.load(), 1);
  clock.AdvanceTo(t0 + milliseconds(250));
  ASSERT_TRUE(clock.BlockUntilWaiterFor(t0 + milliseconds(750)));
  EXPECT_EQ(calls.load(), 2);
  clock.AdvanceTo(t0 + milliseconds(750));
  ASSERT_TRUE(server.WaitForRequests(3));
  (*sink)->Close();
  const WebhookEventSink::Counters c = (*sink)->counters();
  EXPECT_EQ(c.sent, 1);
  EXPECT_EQ(c.retries, 2);
  EXPECT_EQ(c.failed, 0);
  EXPECT_EQ(path, "/hook");
  EXPECT_EQ(type, "application/json");
  EXPECT_EQ(body, EventToJson(EventAt(7)));
}

TEST(WebhookTest, GivesUpAfterMaxAttempts) {
  TestHttpServer server([](const TestRequest&) { return TestResponse{500, "no"}; });
  testing::FakeClock clock;
  WebhookOptions o;
  o.max_attempts = 3;
  o.backoff = {milliseconds(100), 2, std::chrono::seconds(5)};
  auto sink = WebhookEventSink::Create(UrlOf(server, "/"), o, &clock);
  ASSERT_TRUE(sink.ok());
  const Clock::TimePoint t0 = clock.Now();
  (*sink)->Publish(EventAt(1));
  ASSERT_TRUE(clock.BlockUntilWaiterFor(t0 + milliseconds(100)));
  clock.AdvanceTo(t0 + milliseconds(100));
  ASSERT_TRUE(clock.BlockUntilWaiterFor(t0 + milliseconds(300)));
  clock.AdvanceTo(t0 + milliseconds(300));
  ASSERT_TRUE(server.WaitForRequests(3));
  (*sink)->Close();
  const WebhookEventSink::Counters c = (*sink)->counters();
  EXPECT_EQ(server.requests(), 3);
  EXPECT_EQ(c.failed, 1);
  EXPECT_EQ(c.sent, 0);
  EXPECT_EQ(c.retries, 2);
}

TEST(WebhookTest, AFullQueueDropsTheOldestWithoutBlocking) {
  Mutex mu;
  std::vector<std::string> bodies;
  TestHttpServer server([&](const TestRequest& r) {
    MutexLock lock(&mu);
    bodies.push_back(r.body);
    return TestResponse{200, "ok"};
  });
  WebhookOptions o;
  o.capacity = 2;
  auto sink = WebhookEventSink::Create(UrlOf(server, "/"), o);
  ASSERT_TRUE(sink.ok());
  server.SetHold(true);
  (*sink)->Publish(EventAt(1));
  ASSERT_TRUE(server.WaitForInFlight(1));  // event 1 is on the wire, unanswered
  for (int frame = 2; frame <= 5; ++frame) (*sink)->Publish(EventAt(frame));
  WebhookEventSink::Counters c = (*sink)->counters();
  EXPECT_EQ(c.dropped, 2);  // events 2 and 3
  EXPECT_EQ(c.queued, 2);
  server.SetHold(false);
  ASSERT_TRUE(server.WaitForRequests(3));
  (*sink)->Close();
  c = (*sink)->counters();
  EXPECT_EQ(c.sent, 3);
  EXPECT_EQ(c.dropped, 2);
  MutexLock lock(&mu);
  EXPECT_EQ(bodies, (std::vector<std::string>{EventToJson(EventAt(1)), EventToJson(EventAt(4)),
                                              EventToJson(EventAt(5))}));
}

TEST(WebhookTest, CloseGivesUpOnAnUnreachableWebhookAndCountsTheRest) {
  testing::FakeClock clock;
  WebhookOptions o;
  o.backoff = {milliseconds(100), 2, std::chrono::seconds(1)};
  o.drain_timeout = std::chrono::seconds(2);
  // Port 1 on loopback: connection refused.
  auto sink = WebhookEventSink::Create("http://127.0.0.1:1/x", o, &clock);
  ASSERT_TRUE(sink.ok());
  const Clock::TimePoint t0 = clock.Now();
  (*sink)->Publish(EventAt(1));
  (*sink)->Publish(EventAt(2));
  ASSERT_TRUE(clock.BlockUntilWaiterFor(t0 + milliseconds(100)));  // first retry wait
  std::thread closer([&] { (*sink)->Close(); });
  ASSERT_TRUE(clock.BlockUntilWaiterFor(t0 + std::chrono::seconds(2)));  // the drain limit
  clock.AdvanceTo(t0 + std::chrono::seconds(2));
  closer.join();
  const WebhookEventSink::Counters c = (*sink)->counters();
  EXPECT_EQ(c.sent, 0);
  EXPECT_EQ(c.dropped, 2);
  EXPECT_EQ(c.queued, 0);
}

}  // namespace
}  // namespace dnoscope::live
