#include "client/load_balancer.h"

#include <array>
#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "testing/fake_clock.h"

namespace dnoscope::client {
namespace {

using ::std::chrono::milliseconds;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Optional;

std::vector<Endpoint> Endpoints(int n) {
  std::vector<Endpoint> endpoints;
  for (int i = 0; i < n; ++i) endpoints.push_back({"10.0.0.1", 8000 + i});
  return endpoints;
}

class LoadBalancerTest : public ::testing::Test {
 protected:
  std::unique_ptr<LoadBalancer> Make(int n, LoadBalancerOptions options = {}) {
    auto balancer = LoadBalancer::Create(Endpoints(n), options, &clock_);
    EXPECT_TRUE(balancer.ok()) << balancer.status();
    return balancer.ok() ? std::move(balancer).value() : nullptr;
  }

  // Fails requests on `endpoint` until it is ejected (others excluded).
  static void FailUntilEjected(LoadBalancer& lb, size_t endpoint, int failures) {
    std::vector<size_t> others;
    for (size_t i = 0; i < lb.size(); ++i) {
      if (i != endpoint) others.push_back(i);
    }
    for (int i = 0; i < failures; ++i) {
      ASSERT_THAT(lb.Pick(others), Optional(endpoint));
      lb.Release(endpoint, /*success=*/false);
    }
  }

  testing::FakeClock clock_;
};

TEST(ParseBalancePolicyTest, ParsesEveryName) {
  const struct {
    std::string name;
    BalancePolicy policy;
  } kCases[] = {{"random", BalancePolicy::kRandom},
                {"round-robin", BalancePolicy::kRoundRobin},
                {"p2c", BalancePolicy::kPowerOfTwo}};
  for (const auto& c : kCases) {
    SCOPED_TRACE(c.name);
    auto policy = ParseBalancePolicy(c.name);
    ASSERT_TRUE(policy.ok()) << policy.status();
    EXPECT_EQ(*policy, c.policy);
    EXPECT_EQ(BalancePolicyName(c.policy), c.name);
  }
}

TEST(ParseBalancePolicyTest, RejectsUnknownNamesListingTheValidOnes) {
  for (const std::string name : {"", "Random", "roundrobin", "p2c ", "least-loaded"}) {
    SCOPED_TRACE(name);
    auto policy = ParseBalancePolicy(name);
    ASSERT_FALSE(policy.ok());
    EXPECT_EQ(policy.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(std::string(policy.status().message()),
                ::testing::AllOf(HasSubstr("random"), HasSubstr("round-robin"), HasSubstr("p2c")));
  }
}

TEST(LoadBalancerCreateTest, RejectsBadInput) {
  testing::FakeClock clock;
  auto with = [](auto change) {
    LoadBalancerOptions options;
    change(options);
    return options;
  };
  const struct {
    std::string name;
    std::vector<Endpoint> endpoints;
    LoadBalancerOptions options;
    Clock* clock;
  } kCases[] = {
      {"empty", {}, {}, &clock},
      {"duplicate", {{"a", 1}, {"b", 1}, {"a", 1}}, {}, &clock},
      {"empty host", {{"", 80}}, {}, &clock},
      {"bad port", {{"a", 0}}, {}, &clock},
      {"null clock", Endpoints(2), {}, nullptr},
      {"max_in_flight 0", Endpoints(2), with([](auto& o) { o.max_in_flight_per_endpoint = 0; }),
       &clock},
      {"eject_after 0", Endpoints(2), with([](auto& o) { o.eject_after_failures = 0; }), &clock},
      {"eject_base 0", Endpoints(2), with([](auto& o) { o.eject_base = milliseconds(0); }), &clock},
      {"eject_max < base", Endpoints(2),
       with([](auto& o) { o.eject_max = o.eject_base - milliseconds(1); }), &clock},
  };
  for (const auto& c : kCases) {
    SCOPED_TRACE(c.name);
    auto balancer = LoadBalancer::Create(c.endpoints, c.options, c.clock);
    EXPECT_EQ(balancer.status().code(), absl::StatusCode::kInvalidArgument);
  }
  auto ok = LoadBalancer::Create(Endpoints(3), {}, &clock);
  ASSERT_TRUE(ok.ok()) << ok.status();
  EXPECT_EQ((*ok)->size(), 3u);
}

TEST_F(LoadBalancerTest, RandomSpreadsPicksEvenly) {
  auto lb = Make(3, {.policy = BalancePolicy::kRandom, .seed = 42});
  constexpr int kPicks = 30000;
  std::array<int, 3> counts{};
  for (int i = 0; i < kPicks; ++i) {
    std::optional<size_t> picked = lb->Pick();
    ASSERT_TRUE(picked.has_value());
    ++counts[*picked];
    lb->Release(*picked, true);
  }
  for (int count : counts) {
    EXPECT_NEAR(count, kPicks / 3, kPicks / 3 * 0.05);
  }
}

TEST_F(LoadBalancerTest, RandomIsDeterministicForASeed) {
  auto a = Make(5, {.policy = BalancePolicy::kRandom, .seed = 7});
  auto b = Make(5, {.policy = BalancePolicy::kRandom, .seed = 7});
  for (int i = 0; i < 100; ++i) {
    std::optional<size_t> picked = a->Pick();
    ASSERT_EQ(picked, b->Pick());
    a->Release(*picked, true);
    b->Release(*picked, true);
  }
}

TEST_F(LoadBalancerTest, RoundRobinCyclesInOrder) {
  auto lb = Make(3, {.policy = BalancePolicy::kRoundRobin});
  std::vector<size_t> order;
  for (int i = 0; i < 7; ++i) {
    order.push_back(*lb->Pick());
    lb->Release(order.back(), true);
  }
  EXPECT_THAT(order, ElementsAre(0, 1, 2, 0, 1, 2, 0));
}

TEST_F(LoadBalancerTest, RoundRobinSkipsIneligibleEndpoints) {
  auto lb = Make(4, {.policy = BalancePolicy::kRoundRobin, .max_in_flight_per_endpoint = 1});
  EXPECT_THAT(lb->Pick(), Optional(0u));  // Endpoint 0 stays full.
  std::vector<size_t> order;
  for (int i = 0; i < 5; ++i) {
    const std::array<size_t, 1> exclude = {2};
    order.push_back(*lb->Pick(exclude));
    lb->Release(order.back(), true);
  }
  EXPECT_THAT(order, ElementsAre(1, 3, 1, 3, 1));
}

TEST_F(LoadBalancerTest, PowerOfTwoAvoidsTheLoadedEndpoint) {
  auto lb = Make(3, {.policy = BalancePolicy::kPowerOfTwo});
  const std::array<size_t, 2> only_zero = {1, 2};
  for (int i = 0; i < 3; ++i) ASSERT_THAT(lb->Pick(only_zero), Optional(0u));
  std::array<int, 3> counts{};
  for (int i = 0; i < 3000; ++i) {
    const size_t picked = *lb->Pick();
    ++counts[picked];
    lb->Release(picked, true);
  }
  EXPECT_EQ(counts[0], 0);
  EXPECT_NEAR(counts[1], 1500, 150);
  EXPECT_NEAR(counts[2], 1500, 150);
}

TEST_F(LoadBalancerTest, PowerOfTwoSpreadsConcurrentRequests) {
  auto lb = Make(4, {.policy = BalancePolicy::kPowerOfTwo, .max_in_flight_per_endpoint = 100});
  // Never releasing: the less-loaded of any pair is chosen, so loads stay within one.
  for (int i = 0; i < 40; ++i) ASSERT_TRUE(lb->Pick().has_value());
  for (const auto& stats : lb->Stats()) EXPECT_NEAR(stats.in_flight, 10, 2);
}

TEST_F(LoadBalancerTest, MaxInFlightLimitsPicksUntilRelease) {
  for (BalancePolicy policy :
       {BalancePolicy::kRandom, BalancePolicy::kRoundRobin, BalancePolicy::kPowerOfTwo}) {
    SCOPED_TRACE(BalancePolicyName(policy));
    auto lb = Make(2, {.policy = policy, .max_in_flight_per_endpoint = 2});
    std::array<int, 2> counts{};
    for (int i = 0; i < 4; ++i) ++counts[lb->Pick().value()];
    EXPECT_THAT(counts, ElementsAre(2, 2));
    EXPECT_EQ(lb->Pick(), std::nullopt);
    EXPECT_FALSE(lb->AllEjected());
    lb->Release(1, true);
    EXPECT_THAT(lb->Pick(), Optional(1u));
    EXPECT_EQ(lb->Pick(), std::nullopt);
  }
}

TEST_F(LoadBalancerTest, NeverPicksExcludedEndpoints) {
  for (BalancePolicy policy :
       {BalancePolicy::kRandom, BalancePolicy::kRoundRobin, BalancePolicy::kPowerOfTwo}) {
    SCOPED_TRACE(BalancePolicyName(policy));
    auto lb = Make(3, {.policy = policy});
    const std::array<size_t, 3> exclude = {0, 2, 99};  // Out-of-range entries are ignored.
    for (int i = 0; i < 50; ++i) {
      ASSERT_THAT(lb->Pick(exclude), Optional(1u));
      lb->Release(1, true);
    }
    const std::array<size_t, 3> all = {0, 1, 2};
    EXPECT_EQ(lb->Pick(all), std::nullopt);
  }
}

TEST_F(LoadBalancerTest, EjectsAfterConsecutiveFailures) {
  auto lb = Make(2, {.eject_after_failures = 3});
  FailUntilEjected(*lb, 0, 2);
  EXPECT_FALSE(lb->Stats()[0].ejected);
  FailUntilEjected(*lb, 0, 1);
  EXPECT_TRUE(lb->Stats()[0].ejected);
  EXPECT_EQ(lb->Stats()[0].ejections, 1);
  for (int i = 0; i < 20; ++i) {
    ASSERT_THAT(lb->Pick(), Optional(1u));
    lb->Release(1, true);
  }
  const std::array<size_t, 1> exclude = {1};
  EXPECT_EQ(lb->Pick(exclude), std::nullopt);
}

TEST_F(LoadBalancerTest, SuccessResetsTheFailureCount) {
  auto lb = Make(2, {.eject_after_failures = 3});
  const std::array<size_t, 1> only_zero = {1};
  for (int round = 0; round < 5; ++round) {
    FailUntilEjected(*lb, 0, 2);
    ASSERT_THAT(lb->Pick(only_zero), Optional(0u));
    lb->Release(0, true);
  }
  EXPECT_FALSE(lb->Stats()[0].ejected);
  EXPECT_EQ(lb->Stats()[0].failures, 10);
  EXPECT_EQ(lb->Stats()[0].ejections, 0);
}

TEST_F(LoadBalancerTest, DueForProbeOnlyAfterEjectBase) {
  auto lb = Make(2, {.eject_after_failures = 1, .eject_base = milliseconds(500)});
  FailUntilEjected(*lb, 0, 1);
  EXPECT_THAT(lb->DueForProbe(), IsEmpty());
  clock_.Advance(milliseconds(499));
  EXPECT_THAT(lb->DueForProbe(), IsEmpty());
  clock_.Advance(milliseconds(1));
  EXPECT_THAT(lb->DueForProbe(), ElementsAre(0));
  // Once per ejection period: probing, not handed out again nor picked.
  clock_.Advance(milliseconds(5000));
  EXPECT_THAT(lb->DueForProbe(), IsEmpty());
  EXPECT_TRUE(lb->Stats()[0].ejected);
  const std::array<size_t, 1> exclude = {1};
  EXPECT_EQ(lb->Pick(exclude), std::nullopt);
}

TEST_F(LoadBalancerTest, HealthyProbeReadmits) {
  auto lb = Make(2, {.eject_after_failures = 2});
  FailUntilEjected(*lb, 0, 2);
  clock_.Advance(milliseconds(500));
  ASSERT_THAT(lb->DueForProbe(), ElementsAre(0));
  lb->ProbeResult(0, /*healthy=*/true);
  EXPECT_FALSE(lb->Stats()[0].ejected);
  const std::array<size_t, 1> exclude = {1};
  EXPECT_THAT(lb->Pick(exclude), Optional(0u));
  // The failure count was reset: one failure does not eject again.
  lb->Release(0, false);
  EXPECT_FALSE(lb->Stats()[0].ejected);
}

TEST_F(LoadBalancerTest, UnhealthyProbeDoublesTheBackoff) {
  auto lb = Make(2, {.eject_after_failures = 1, .eject_base = milliseconds(500)});
  FailUntilEjected(*lb, 0, 1);
  clock_.Advance(milliseconds(500));
  ASSERT_THAT(lb->DueForProbe(), ElementsAre(0));
  lb->ProbeResult(0, /*healthy=*/false);
  EXPECT_EQ(lb->Stats()[0].ejections, 2);
  clock_.Advance(milliseconds(500));
  EXPECT_THAT(lb->DueForProbe(), IsEmpty());
  clock_.Advance(milliseconds(499));
  EXPECT_THAT(lb->DueForProbe(), IsEmpty());
  clock_.Advance(milliseconds(1));
  EXPECT_THAT(lb->DueForProbe(), ElementsAre(0));
}

TEST_F(LoadBalancerTest, BackoffIsCappedAtEjectMax) {
  auto lb = Make(1, {.eject_after_failures = 1,
                     .eject_base = milliseconds(500),
                     .eject_max = milliseconds(3000)});
  FailUntilEjected(*lb, 0, 1);
  // Backoffs 500, 1000, 2000, then 3000 (not 4000) from here on.
  for (int backoff_ms : {500, 1000, 2000, 3000, 3000}) {
    SCOPED_TRACE(backoff_ms);
    const milliseconds backoff(backoff_ms);
    EXPECT_EQ(lb->NextEventTime(), clock_.Now() + backoff);
    clock_.Advance(backoff);
    ASSERT_THAT(lb->DueForProbe(), ElementsAre(0));
    lb->ProbeResult(0, /*healthy=*/false);
  }
}

TEST_F(LoadBalancerTest, BackoffResetsOnlyAfterASuccessfulRequest) {
  auto lb = Make(1, {.eject_after_failures = 1, .eject_base = milliseconds(500)});
  FailUntilEjected(*lb, 0, 1);
  clock_.Advance(milliseconds(500));
  ASSERT_THAT(lb->DueForProbe(), ElementsAre(0));
  lb->ProbeResult(0, /*healthy=*/true);
  // Fails again right after the probe: the backoff doubles.
  FailUntilEjected(*lb, 0, 1);
  EXPECT_EQ(lb->NextEventTime(), clock_.Now() + milliseconds(1000));
  clock_.Advance(milliseconds(1000));
  ASSERT_THAT(lb->DueForProbe(), ElementsAre(0));
  lb->ProbeResult(0, /*healthy=*/true);
  ASSERT_THAT(lb->Pick(), Optional(0u));
  lb->Release(0, true);
  // After a successful request the next ejection starts at eject_base again.
  FailUntilEjected(*lb, 0, 1);
  EXPECT_EQ(lb->NextEventTime(), clock_.Now() + milliseconds(500));
}

TEST_F(LoadBalancerTest, SuccessfulReleaseReadmitsAProbingEndpoint) {
  auto lb = Make(2, {.max_in_flight_per_endpoint = 8, .eject_after_failures = 1});
  const std::array<size_t, 1> only_zero = {1};
  ASSERT_THAT(lb->Pick(only_zero), Optional(0u));  // Still in flight at the ejection.
  FailUntilEjected(*lb, 0, 1);
  clock_.Advance(milliseconds(500));
  ASSERT_THAT(lb->DueForProbe(), ElementsAre(0));
  lb->Release(0, true);
  EXPECT_FALSE(lb->Stats()[0].ejected);
  lb->ProbeResult(0, /*healthy=*/false);  // Too late: ignored.
  EXPECT_FALSE(lb->Stats()[0].ejected);
}

TEST_F(LoadBalancerTest, AllEjectedSinceTracksTheLastEjectionAndRecovery) {
  auto lb = Make(2, {.eject_after_failures = 1, .eject_base = milliseconds(500)});
  FailUntilEjected(*lb, 0, 1);
  EXPECT_FALSE(lb->AllEjected());
  EXPECT_EQ(lb->AllEjectedSince(), std::nullopt);
  clock_.Advance(milliseconds(200));
  const Clock::TimePoint all_out = clock_.Now();
  FailUntilEjected(*lb, 1, 1);
  EXPECT_TRUE(lb->AllEjected());
  EXPECT_THAT(lb->AllEjectedSince(), Optional(all_out));
  EXPECT_EQ(lb->Pick(), std::nullopt);
  // Re-ejection after a failed probe keeps the original start.
  clock_.Advance(milliseconds(300));
  ASSERT_THAT(lb->DueForProbe(), ElementsAre(0));
  lb->ProbeResult(0, /*healthy=*/false);
  EXPECT_THAT(lb->AllEjectedSince(), Optional(all_out));
  clock_.Advance(milliseconds(200));
  ASSERT_THAT(lb->DueForProbe(), ElementsAre(1));
  lb->ProbeResult(1, /*healthy=*/true);
  EXPECT_FALSE(lb->AllEjected());
  EXPECT_EQ(lb->AllEjectedSince(), std::nullopt);
}

TEST_F(LoadBalancerTest, NextEventTimeIsTheEarliestEjectionEnd) {
  auto lb = Make(3, {.eject_after_failures = 1, .eject_base = milliseconds(500)});
  EXPECT_EQ(lb->NextEventTime(), Clock::TimePoint::max());
  FailUntilEjected(*lb, 1, 1);
  const Clock::TimePoint first_end = clock_.Now() + milliseconds(500);
  EXPECT_EQ(lb->NextEventTime(), first_end);
  clock_.Advance(milliseconds(100));
  FailUntilEjected(*lb, 2, 1);
  EXPECT_EQ(lb->NextEventTime(), first_end);
  clock_.Advance(milliseconds(400));
  ASSERT_THAT(lb->DueForProbe(), ElementsAre(1));
  // A probing endpoint waits for the caller, not for the clock.
  EXPECT_EQ(lb->NextEventTime(), clock_.Now() + milliseconds(100));
  clock_.Advance(milliseconds(100));
  ASSERT_THAT(lb->DueForProbe(), ElementsAre(2));
  EXPECT_EQ(lb->NextEventTime(), Clock::TimePoint::max());
}

TEST_F(LoadBalancerTest, StatsCountRequestsFailuresAndInFlight) {
  auto lb = Make(2, {.policy = BalancePolicy::kRoundRobin, .eject_after_failures = 2});
  ASSERT_THAT(lb->Pick(), Optional(0u));
  ASSERT_THAT(lb->Pick(), Optional(1u));
  ASSERT_THAT(lb->Pick(), Optional(0u));
  lb->Release(0, false);
  lb->Release(1, true);
  lb->Release(1, false);  // Nothing in flight: ignored.
  lb->Release(7, false);  // Out of range: ignored.
  const auto stats = lb->Stats();
  ASSERT_EQ(stats.size(), 2u);
  EXPECT_EQ(stats[0].endpoint, (Endpoint{"10.0.0.1", 8000}));
  EXPECT_EQ(stats[0].in_flight, 1);
  EXPECT_EQ(stats[0].requests, 2);
  EXPECT_EQ(stats[0].failures, 1);
  EXPECT_EQ(stats[1].in_flight, 0);
  EXPECT_EQ(stats[1].requests, 1);
  EXPECT_EQ(stats[1].failures, 0);
  EXPECT_EQ(stats[1].ejections, 0);
}

TEST_F(LoadBalancerTest, ConcurrentPicksAndReleasesReturnInFlightToZero) {
  auto lb = Make(3, {.max_in_flight_per_endpoint = 4, .eject_after_failures = 3});
  std::atomic<int64_t> picked{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 10000; ++i) {
        if (std::optional<size_t> endpoint = lb->Pick()) {
          picked.fetch_add(1, std::memory_order_relaxed);
          lb->Release(*endpoint, /*success=*/(i + t) % 5 != 0);
        }
        if (i % 100 == 0) {
          clock_.Advance(milliseconds(100));
          for (size_t due : lb->DueForProbe()) lb->ProbeResult(due, /*healthy=*/true);
          lb->Stats();
          lb->NextEventTime();
        }
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  int64_t requests = 0;
  for (const auto& stats : lb->Stats()) {
    EXPECT_EQ(stats.in_flight, 0);
    requests += stats.requests;
  }
  EXPECT_EQ(requests, picked.load());
  EXPECT_GT(picked.load(), 0);
}

}  // namespace
}  // namespace dnoscope::client
