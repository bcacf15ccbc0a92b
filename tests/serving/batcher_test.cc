#include "serving/batcher.h"

#include <chrono>
#include <ostream>
#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace dnoscope::serving {
namespace {

using std::chrono::microseconds;

struct PolicyCase {
  std::string name;
  int max_batch_size = 4;
  microseconds max_queue_delay{100};
  std::vector<int> preferred;
  std::vector<int> queued;
  bool incompatible_follows = false;
  bool flush = false;
  // How long the oldest request has waited when deciding.
  microseconds waited{0};
  // Expected: requests to run (0 = wait until oldest + max_queue_delay).
  size_t run_count = 0;
};

void PrintTo(const PolicyCase& c, std::ostream* os) { *os << c.name; }

class BatchPolicyTableTest : public ::testing::TestWithParam<PolicyCase> {};

TEST_P(BatchPolicyTableTest, Decides) {
  const PolicyCase& c = GetParam();
  auto policy = BatchPolicy::Create({.max_batch_size = c.max_batch_size,
                                     .max_queue_delay = c.max_queue_delay,
                                     .preferred_batch_sizes = c.preferred});
  ASSERT_TRUE(policy.ok()) << policy.status();
  const Clock::TimePoint oldest(std::chrono::seconds(10));
  const QueueSnapshot queue{.oldest_arrival = oldest,
                            .batch_sizes = c.queued,
                            .incompatible_follows = c.incompatible_follows,
                            .flush = c.flush};
  const BatchDecision decision = policy->Decide(queue, oldest + c.waited);
  EXPECT_EQ(decision.run_count, c.run_count);
  if (c.run_count == 0) {
    EXPECT_EQ(decision.wake_at, oldest + c.max_queue_delay);
  }
}

INSTANTIATE_TEST_SUITE_P(
    Rules, BatchPolicyTableTest,
    ::testing::Values(
        PolicyCase{.name = "FullBatchRunsAtOnce", .queued = {1, 1, 2}, .run_count = 3},
        PolicyCase{.name = "NextRequestDoesNotFit", .queued = {3, 2}, .run_count = 1},
        PolicyCase{.name = "NeverExceedsMax", .queued = {1, 2, 2}, .run_count = 2},
        PolicyCase{.name = "SingleFullRequest", .queued = {4, 1}, .run_count = 1},
        PolicyCase{.name = "PartialBatchWaits", .queued = {1, 1}, .run_count = 0},
        PolicyCase{.name = "PartialBatchWaitsUntilDelay",
                   .queued = {1, 1},
                   .waited = microseconds(99),
                   .run_count = 0},
        PolicyCase{.name = "DelayExpiredRunsPartial",
                   .queued = {1, 1},
                   .waited = microseconds(100),
                   .run_count = 2},
        PolicyCase{.name = "DelayExpiredRunsWhatFits",
                   .max_batch_size = 8,
                   .queued = {3, 3, 3},
                   .waited = microseconds(500),
                   .run_count = 2},
        PolicyCase{.name = "DelayZeroRunsImmediately",
                   .max_queue_delay = microseconds(0),
                   .queued = {1},
                   .run_count = 1},
        PolicyCase{.name = "PreferredSizeRunsAtOnce",
                   .max_batch_size = 8,
                   .preferred = {2},
                   .queued = {1, 1, 1},
                   .run_count = 2},
        PolicyCase{.name = "LargestPreferredSizeWins",
                   .max_batch_size = 8,
                   .preferred = {2, 3},
                   .queued = {1, 1, 1, 1},
                   .run_count = 3},
        PolicyCase{.name = "PreferredSizeNotReachedWaits",
                   .max_batch_size = 8,
                   .preferred = {4},
                   .queued = {1, 2},
                   .run_count = 0},
        PolicyCase{
            .name = "FullBeatsPreferred", .preferred = {2}, .queued = {1, 1, 2}, .run_count = 3},
        PolicyCase{.name = "IncompatibleRequestEndsBatch",
                   .queued = {1, 1},
                   .incompatible_follows = true,
                   .run_count = 2},
        PolicyCase{.name = "FlushRunsPartial", .queued = {1, 2}, .flush = true, .run_count = 2},
        PolicyCase{.name = "NoBatchDimRunsAlone",
                   .max_batch_size = 0,
                   .max_queue_delay = microseconds(1000),
                   .queued = {1},
                   .run_count = 1}),
    [](const ::testing::TestParamInfo<PolicyCase>& info) { return info.param.name; });

// The policy is pure: time is an argument, so no clock (fake or real) is
// needed to pin the deadline to the microsecond.
TEST(BatchPolicyTest, PartialBatchRunsExactlyAtItsDeadlineNotBefore) {
  auto policy = BatchPolicy::Create({.max_batch_size = 8, .max_queue_delay = microseconds(250)});
  ASSERT_TRUE(policy.ok());
  const Clock::TimePoint arrival(std::chrono::seconds(10));
  const QueueSnapshot queue{.oldest_arrival = arrival, .batch_sizes = {2, 1}};

  BatchDecision decision = policy->Decide(queue, arrival);
  EXPECT_EQ(decision.run_count, 0u);
  EXPECT_EQ(decision.wake_at, arrival + microseconds(250));

  decision = policy->Decide(queue, arrival + microseconds(249));
  EXPECT_EQ(decision.run_count, 0u);
  EXPECT_EQ(decision.wake_at, arrival + microseconds(250));

  EXPECT_EQ(policy->Decide(queue, arrival + microseconds(250)).run_count, 2u);
}

TEST(BatchPolicyTest, RejectsInvalidOptions) {
  EXPECT_FALSE(BatchPolicy::Create({.max_batch_size = -1}).ok());
  EXPECT_FALSE(
      BatchPolicy::Create({.max_batch_size = 4, .max_queue_delay = microseconds(-1)}).ok());
  EXPECT_FALSE(BatchPolicy::Create({.max_batch_size = 4, .preferred_batch_sizes = {5}}).ok());
  EXPECT_FALSE(BatchPolicy::Create({.max_batch_size = 4, .preferred_batch_sizes = {0}}).ok());
  EXPECT_FALSE(BatchPolicy::Create({.max_batch_size = 0, .preferred_batch_sizes = {1}}).ok());
  EXPECT_TRUE(BatchPolicy::Create({.max_batch_size = 4, .preferred_batch_sizes = {4, 2}}).ok());
}

}  // namespace
}  // namespace dnoscope::serving
