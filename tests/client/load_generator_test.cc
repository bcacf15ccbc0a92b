#include "client/load_generator.h"

#include <atomic>
#include <cstdio>
#include <thread>

#include "client/test_http_server.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "testing/fake_clock.h"

namespace dnoscope::client {
namespace {

using testing::TestHttpServer;
using testing::TestRequest;
using testing::TestResponse;
using ::testing::HasSubstr;

HttpCall MakeGet(int64_t i) {
  HttpCall call;
  call.method = "GET";
  call.target = "/r/" + std::to_string(i);
  return call;
}

int64_t Sum(const std::map<int, int64_t>& counts) {
  int64_t total = 0;
  for (const auto& [status, n] : counts) total += n;
  return total;
}

// Runs RunClosedLoop on fake time: the window (no warm-up) closes once the
// server has read `requests` requests, whatever real time that takes.
absl::StatusOr<LoadResult> RunUntilRequests(LoadOptions options, TestHttpServer& server,
                                            int64_t requests) {
  ::dnoscope::testing::FakeClock clock;
  options.warmup = std::chrono::milliseconds(0);
  const Clock::TimePoint window_end = clock.Now() + options.duration;
  absl::StatusOr<LoadResult> result = absl::UnknownError("not run");
  std::thread runner([&] { result = RunClosedLoop(options, MakeGet, &clock); });
  EXPECT_TRUE(clock.BlockUntilWaiterFor(window_end));  // sleeping through the window
  EXPECT_TRUE(server.WaitForRequests(requests));
  clock.AdvanceTo(window_end);
  runner.join();
  return result;
}

TEST(RunClosedLoopTest, KeepsExactlyConcurrencyRequestsOutstanding) {
  TestHttpServer server;
  // Hold the first requests until all `concurrency` are in, so the maximum is
  // reached for sure; the closed loop must never exceed it.
  server.SetHold(true);
  constexpr int kConcurrency = 4;
  std::thread releaser([&] {
    server.WaitForInFlight(kConcurrency);
    server.SetHold(false);
  });
  LoadOptions options;
  options.endpoint = server.endpoint();
  options.concurrency = kConcurrency;
  absl::StatusOr<LoadResult> result = RunUntilRequests(options, server, 200);
  releaser.join();
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(server.max_in_flight(), kConcurrency);
  EXPECT_EQ(server.accepted(), kConcurrency);
  EXPECT_GE(result->requests, 200 - kConcurrency);
  EXPECT_EQ(result->errors, 0) << result->first_error;
  EXPECT_EQ(result->latency.count(), result->requests);
}

TEST(RunClosedLoopTest, CountsStatusCodesAndErrors) {
  std::atomic<int64_t> seen{0};
  std::atomic<int64_t> unavailable{0};
  TestHttpServer server([&](const TestRequest&) {
    if (seen.fetch_add(1) % 3 == 2) {
      unavailable.fetch_add(1);
      return TestResponse{503, "overloaded"};
    }
    return TestResponse{200, "ok"};
  });
  constexpr int kConcurrency = 2;
  LoadOptions options;
  options.endpoint = server.endpoint();
  options.concurrency = kConcurrency;
  options.duration = std::chrono::milliseconds(300);
  absl::StatusOr<LoadResult> result = RunUntilRequests(options, server, 60);
  ASSERT_TRUE(result.ok()) << result.status();
  // Every request the server answered was counted, except at most one per
  // chain that completed after the window.
  EXPECT_LE(result->requests, server.requests());
  EXPECT_GE(result->requests, server.requests() - kConcurrency);
  EXPECT_EQ(Sum(result->status_counts), result->requests);
  EXPECT_GT(result->status_counts[200], 0);
  EXPECT_GT(result->status_counts[503], 0);
  EXPECT_LE(result->status_counts[503], unavailable.load());
  EXPECT_GE(result->status_counts[503], unavailable.load() - kConcurrency);
  EXPECT_EQ(result->errors, result->status_counts[503]);
  EXPECT_THAT(result->first_error, HasSubstr("503"));
  EXPECT_DOUBLE_EQ(result->seconds, 0.3);
  EXPECT_DOUBLE_EQ(result->requests_per_second, result->requests / 0.3);
}

TEST(RunClosedLoopTest, TransportErrorsCountUnderStatusZero) {
  std::atomic<int64_t> seen{0};
  TestHttpServer server([&](const TestRequest&) {
    TestResponse response;
    response.drop = seen.fetch_add(1) % 2 == 1;
    return response;
  });
  LoadOptions options;
  options.endpoint = server.endpoint();
  absl::StatusOr<LoadResult> result = RunUntilRequests(options, server, 20);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_GT(result->status_counts[0], 0);
  EXPECT_EQ(result->errors, result->status_counts[0]);
  EXPECT_THAT(result->first_error, HasSubstr("UNAVAILABLE"));
}

TEST(RunClosedLoopTest, RejectsBadOptionsAndBadCalls) {
  LoadOptions options;
  options.endpoint = {"127.0.0.1", 9};
  options.concurrency = 0;
  EXPECT_EQ(RunClosedLoop(options, MakeGet).status().code(), absl::StatusCode::kInvalidArgument);
  options.concurrency = 1;
  options.duration = std::chrono::milliseconds(0);
  EXPECT_EQ(RunClosedLoop(options, MakeGet).status().code(), absl::StatusCode::kInvalidArgument);
  options.duration = std::chrono::milliseconds(50);
  options.warmup = std::chrono::milliseconds(0);
  EXPECT_EQ(RunClosedLoop(options, [](int64_t) { return HttpCall{}; }).status().code(),
            absl::StatusCode::kInvalidArgument);
}

// Not a benchmark (see benchmarks/), just a sanity figure printed by the
// test; the one test here on real time, since real throughput is its point.
TEST(RunClosedLoopTest, SustainsThroughputOnLoopback) {
  TestHttpServer server;
  LoadOptions options;
  options.endpoint = server.endpoint();
  options.concurrency = 8;
  options.warmup = std::chrono::milliseconds(100);
  options.duration = std::chrono::milliseconds(500);
  absl::StatusOr<LoadResult> result = RunClosedLoop(options, MakeGet);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->errors, 0) << result->first_error;
  EXPECT_GT(result->requests, 0);
  std::printf("closed loop, 1 I/O thread, concurrency 8: %.0f requests/s, latency %s\n",
              result->requests_per_second, result->latency.ToString().c_str());
}

}  // namespace
}  // namespace dnoscope::client
