#include "cascade/client_batcher.h"

#include "gtest/gtest.h"
#include "testing/fake_clock.h"

namespace dnoscope::cascade {
namespace {

using std::chrono::microseconds;
using std::chrono::milliseconds;

TEST(ClientBatcherTest, BatchOfOneSendsEveryItemAtOnce) {
  testing::FakeClock clock;
  ClientBatcher<int> batcher({.max_batch = 1, .max_delay = milliseconds(5)});
  for (int i = 0; i < 3; ++i) {
    std::optional<std::vector<int>> batch = batcher.Add(i, clock.Now());
    ASSERT_TRUE(batch.has_value());
    EXPECT_EQ(*batch, std::vector<int>{i});
  }
  EXPECT_EQ(batcher.pending(), 0u);
  EXPECT_FALSE(batcher.Deadline().has_value());
}

TEST(ClientBatcherTest, FullBatchIsSentInArrivalOrder) {
  testing::FakeClock clock;
  ClientBatcher<int> batcher({.max_batch = 3, .max_delay = milliseconds(100)});
  EXPECT_FALSE(batcher.Add(7, clock.Now()).has_value());
  EXPECT_FALSE(batcher.Add(8, clock.Now()).has_value());
  std::optional<std::vector<int>> batch = batcher.Add(9, clock.Now());
  ASSERT_TRUE(batch.has_value());
  EXPECT_EQ(*batch, (std::vector<int>{7, 8, 9}));
  EXPECT_EQ(batcher.pending(), 0u);
}

TEST(ClientBatcherTest, PartialBatchIsDueOnlyAfterMaxDelayFromItsFirstItem) {
  testing::FakeClock clock;
  ClientBatcher<int> batcher({.max_batch = 8, .max_delay = milliseconds(10)});
  const Clock::TimePoint first = clock.Now();
  batcher.Add(1, clock.Now());
  clock.Advance(milliseconds(6));
  batcher.Add(2, clock.Now());
  ASSERT_TRUE(batcher.Deadline().has_value());
  EXPECT_EQ(*batcher.Deadline(), first + milliseconds(10));
  EXPECT_FALSE(batcher.TakeIfDue(clock.Now()).has_value());
  clock.Advance(milliseconds(3));  // 9 ms after the first item
  EXPECT_FALSE(batcher.TakeIfDue(clock.Now()).has_value());
  clock.Advance(milliseconds(1));  // 10 ms
  std::optional<std::vector<int>> batch = batcher.TakeIfDue(clock.Now());
  ASSERT_TRUE(batch.has_value());
  EXPECT_EQ(*batch, (std::vector<int>{1, 2}));
  // The next batch's delay counts from its own first item.
  clock.Advance(milliseconds(50));
  batcher.Add(3, clock.Now());
  EXPECT_FALSE(batcher.TakeIfDue(clock.Now() + milliseconds(9)).has_value());
  EXPECT_TRUE(batcher.TakeIfDue(clock.Now() + milliseconds(10)).has_value());
}

TEST(ClientBatcherTest, ZeroDelayMakesAnyPendingBatchDue) {
  testing::FakeClock clock;
  ClientBatcher<int> batcher({.max_batch = 4, .max_delay = microseconds(0)});
  batcher.Add(1, clock.Now());
  std::optional<std::vector<int>> batch = batcher.TakeIfDue(clock.Now());
  ASSERT_TRUE(batch.has_value());
  EXPECT_EQ(batch->size(), 1u);
}

TEST(ClientBatcherTest, FlushReturnsThePendingItemsOnce) {
  testing::FakeClock clock;
  ClientBatcher<int> batcher({.max_batch = 4, .max_delay = milliseconds(10)});
  EXPECT_FALSE(batcher.Flush().has_value());
  batcher.Add(1, clock.Now());
  batcher.Add(2, clock.Now());
  std::optional<std::vector<int>> batch = batcher.Flush();
  ASSERT_TRUE(batch.has_value());
  EXPECT_EQ(*batch, (std::vector<int>{1, 2}));
  EXPECT_FALSE(batcher.Flush().has_value());
}

TEST(ClientBatcherTest, NonPositiveBatchSizeMeansOne) {
  testing::FakeClock clock;
  ClientBatcher<int> batcher({.max_batch = 0});
  EXPECT_TRUE(batcher.Add(1, clock.Now()).has_value());
}

}  // namespace
}  // namespace dnoscope::cascade
