// Swap under load: closed-loop clients at full speed on loopback against a
// ModelServer whose repository is polled on a FakeClock, while version 2 is
// dropped into the repository and version 1 removed. No request fails,
// requests answered before the poll ran on version 1, and every request
// sent after the poll completed is answered by version 2 (the new version
// answers within the poll interval plus one request). Assertions are on
// counts and versions, never on timing.
#include <atomic>
#include <filesystem>
#include <thread>
#include <vector>

#include "emulation/model_server.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "serving/http/test_client.h"
#include "testing/fake_clock.h"
#include "testing/test_env.h"

namespace dnoscope::emulation {
namespace {

using ::dnoscope::testing::FakeClock;
using ::dnoscope::testing::ScratchDir;
using ::dnoscope::testing::WriteFile;
using serving::http::testing::PostRequest;
using serving::http::testing::TestClient;
namespace fs = std::filesystem;

constexpr int kClients = 4;
// Requests each client completes before the swap, and after it.
constexpr int kRequestsPerPhase = 50;
constexpr char kBody[] =
    R"({"inputs": [{"name": "INPUT0", "datatype": "FP32", "shape": [1, 2], "data": [1, 2]}]})";

struct Answer {
  // The poll had completed when the request was sent.
  bool sent_after_swap = false;
  int status = 0;
  std::string version;
};

TEST(ModelSwapTest, NewVersionUnderFullLoadFailsNoRequest) {
  ScratchDir dir;
  fs::create_directories(dir.File("repo/echo/1"));
  WriteFile(dir.File("repo/echo/config.json"), R"({"backend": "identity", "max_batch_size": 8})");
  FakeClock clock;
  const Clock::TimePoint start = clock.Now();
  const auto poll = std::chrono::seconds(1);
  auto server = ModelServer::Start(dir.File("repo"),
                                   {.io_threads = 2, .repository_poll = poll, .clock = &clock});
  ASSERT_TRUE(server.ok()) << server.status();
  ASSERT_TRUE(clock.BlockUntilWaiterFor(start + poll));  // the poller waits for its first poll
  const int port = (*server)->endpoint().port;

  std::atomic<bool> swapped{false}, stop{false};
  std::atomic<int> before{0}, after{0};
  std::vector<std::vector<Answer>> answers(kClients);
  std::vector<std::thread> clients;
  for (int c = 0; c < kClients; ++c) {
    clients.emplace_back([&, c] {
      TestClient client(port);
      if (!client.connected()) return;
      while (!stop.load()) {
        Answer a{.sent_after_swap = swapped.load()};
        auto response = client.RoundTrip(PostRequest("/v2/models/echo/infer", kBody));
        if (response) {
          a.status = response->result_int();
          auto json = nlohmann::json::parse(response->body(), nullptr, false);
          if (json.is_object()) a.version = json.value("model_version", "");
        }
        answers[c].push_back(a);
        ++(a.sent_after_swap ? after : before);
        if (!response) return;  // the connection broke: counted as a failure
      }
    });
  }
  auto wait_for = [&](std::atomic<int>& count) {
    const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (count.load() < kClients * kRequestsPerPhase &&
           std::chrono::steady_clock::now() < give_up) {
      std::this_thread::yield();
    }
  };
  wait_for(before);
  // Drop version 2 in, take version 1 out, and let the poll interval pass.
  fs::create_directories(dir.File("repo/echo/2"));
  fs::remove_all(dir.File("repo/echo/1"));
  clock.Advance(poll);
  ASSERT_TRUE(clock.BlockUntilWaiterFor(start + 2 * poll));  // the poll is done
  swapped = true;
  wait_for(after);
  stop = true;
  for (std::thread& t : clients) t.join();

  int v1 = 0, v2 = 0, failed = 0, after_swap = 0;
  for (const auto& per_client : answers) {
    for (const Answer& a : per_client) {
      if (a.status != 200) ++failed;
      v1 += a.version == "1";
      v2 += a.version == "2";
      if (a.sent_after_swap) {
        ++after_swap;
        EXPECT_EQ(a.version, "2") << "a request sent after the poll ran on the old version";
      }
    }
  }
  EXPECT_EQ(failed, 0);
  EXPECT_GE(v1, kClients * kRequestsPerPhase);
  EXPECT_GE(after_swap, kClients * kRequestsPerPhase);
  EXPECT_EQ(v1 + v2, before.load() + after.load());
  // The server agrees: every answer counted as a success of its version.
  const serving::ModelStats::Snapshot total = (*server)->Counters("echo");
  EXPECT_EQ(total.request_failure, 0u);
  auto stats = (*server)->service().Statistics("echo", -1);
  ASSERT_TRUE(stats.ok()) << stats.status();
  ASSERT_EQ(stats->size(), 1u);
  EXPECT_EQ((*stats)[0].version, 2);
  EXPECT_EQ((*stats)[0].success.count, v2);
  EXPECT_EQ((*stats)[0].fail.count, 0);
}

}  // namespace
}  // namespace dnoscope::emulation
