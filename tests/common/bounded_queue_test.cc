#include "common/bounded_queue.h"

#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "testing/fake_clock.h"

namespace dnoscope {
namespace {

TEST(BoundedQueueTest, KeepsFifoOrder) {
  BoundedQueue<int> q(4);
  for (int i = 0; i < 4; ++i) ASSERT_TRUE(q.Push(i));
  for (int i = 0; i < 4; ++i) EXPECT_EQ(q.Pop(), i);
}

TEST(BoundedQueueTest, TryPushRefusesWhenFull) {
  BoundedQueue<int> q(2);
  EXPECT_TRUE(q.TryPush(1));
  EXPECT_TRUE(q.TryPush(2));
  EXPECT_FALSE(q.TryPush(3));
  EXPECT_EQ(q.size(), 2u);
}

TEST(BoundedQueueTest, CloseDrainsThenEnds) {
  BoundedQueue<int> q(3);
  q.Push(7);
  q.Close();
  EXPECT_FALSE(q.Push(8));
  EXPECT_EQ(q.Pop(), 7);
  EXPECT_EQ(q.Pop(), std::nullopt);
}

TEST(BoundedQueueTest, ProducerBlockedByFullQueueDeliversEverythingInOrder) {
  BoundedQueue<int> q(1);
  constexpr int kItems = 1000;
  std::jthread producer([&] {
    for (int i = 0; i < kItems; ++i) q.Push(i);
    q.Close();
  });
  std::vector<int> got;
  while (auto v = q.Pop()) got.push_back(*v);
  ASSERT_EQ(got.size(), static_cast<size_t>(kItems));
  for (int i = 0; i < kItems; ++i) EXPECT_EQ(got[i], i);
}

TEST(BoundedQueuePopUntilTest, ReturnsQueuedItemsEvenPastTheDeadline) {
  testing::FakeClock clock;
  BoundedQueue<int> q(4);
  ASSERT_TRUE(q.Push(5));
  bool timed_out = true;
  std::optional<int> item = q.PopUntil(&clock, clock.Now(), &timed_out);
  ASSERT_TRUE(item.has_value());
  EXPECT_EQ(*item, 5);
  EXPECT_FALSE(timed_out);
}

TEST(BoundedQueuePopUntilTest, TimesOutWhenTheClockReachesTheDeadline) {
  testing::FakeClock clock;
  BoundedQueue<int> q(4);
  const Clock::TimePoint deadline = clock.Now() + std::chrono::milliseconds(5);
  bool timed_out = false;
  std::optional<int> item;
  std::thread consumer([&] { item = q.PopUntil(&clock, deadline, &timed_out); });
  ASSERT_TRUE(clock.BlockUntilWaiters(1));
  clock.Advance(std::chrono::milliseconds(4));  // not yet
  EXPECT_EQ(clock.NextDeadline(), deadline);
  clock.Advance(std::chrono::milliseconds(1));
  consumer.join();
  EXPECT_FALSE(item.has_value());
  EXPECT_TRUE(timed_out);
}

TEST(BoundedQueuePopUntilTest, ClosedAndDrainedIsNotATimeout) {
  testing::FakeClock clock;
  BoundedQueue<int> q(4);
  q.Close();
  bool timed_out = true;
  EXPECT_FALSE(q.PopUntil(&clock, clock.Now() + std::chrono::seconds(60), &timed_out).has_value());
  EXPECT_FALSE(timed_out);
}

TEST(BoundedQueuePopUntilTest, WakesForAnItemPushedWhileWaiting) {
  testing::FakeClock clock;
  BoundedQueue<int> q(4);
  bool timed_out = true;
  std::optional<int> item;
  std::thread consumer(
      [&] { item = q.PopUntil(&clock, clock.Now() + std::chrono::seconds(60), &timed_out); });
  ASSERT_TRUE(clock.BlockUntilWaiters(1));  // the consumer waits; no time passes
  ASSERT_TRUE(q.Push(9));
  consumer.join();
  ASSERT_TRUE(item.has_value());
  EXPECT_EQ(*item, 9);
  EXPECT_FALSE(timed_out);
}

}  // namespace
}  // namespace dnoscope
