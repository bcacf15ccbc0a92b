// The fake clock itself: waits end only when the test advances the time or
// signals the condition, and BlockUntilWaiters sees the waiting threads.
#include "testing/fake_clock.h"

#include <atomic>
#include <thread>

#include "gtest/gtest.h"

namespace dnoscope::testing {
namespace {

using std::chrono::milliseconds;

TEST(FakeClockTest, SleepForBlocksUntilTheTimeIsAdvanced) {
  FakeClock clock;
  const Clock::TimePoint start = clock.Now();
  std::atomic<bool> woke{false};
  std::thread sleeper([&] {
    clock.SleepFor(milliseconds(100));
    woke = true;
  });
  ASSERT_TRUE(clock.BlockUntilWaiters(1));
  clock.Advance(milliseconds(99));
  EXPECT_EQ(clock.waiters(), 1);
  EXPECT_FALSE(woke.load());
  clock.Advance(milliseconds(1));
  sleeper.join();
  EXPECT_TRUE(woke.load());
  EXPECT_EQ(clock.Now() - start, milliseconds(100));
}

TEST(FakeClockTest, WaitUntilReturnsAtOnceForAPastDeadline) {
  FakeClock clock;
  Mutex mu;
  CondVar cv;
  MutexLock lock(&mu);
  EXPECT_TRUE(clock.WaitUntil(&mu, &cv, clock.Now()));
  EXPECT_EQ(clock.waiters(), 0);
}

TEST(FakeClockTest, SignalEndsAWaitBeforeItsDeadline) {
  FakeClock clock;
  Mutex mu;
  CondVar cv;
  bool ready = false;
  bool deadline_reached = true;
  std::thread waiter([&] {
    MutexLock lock(&mu);
    const Clock::TimePoint deadline = clock.Now() + std::chrono::hours(1);
    while (!ready) {
      if (clock.WaitUntil(&mu, &cv, deadline)) break;
    }
    deadline_reached = !ready;
  });
  ASSERT_TRUE(clock.BlockUntilWaiters(1));
  {
    MutexLock lock(&mu);
    ready = true;
  }
  cv.SignalAll();
  waiter.join();
  EXPECT_FALSE(deadline_reached);
}

TEST(FakeClockTest, AdvanceToNextDeadlineWakesTheEarliestWaiter) {
  FakeClock clock;
  const Clock::TimePoint start = clock.Now();
  std::thread a([&] { clock.SleepFor(milliseconds(30)); });
  std::thread b([&] { clock.SleepFor(milliseconds(10)); });
  ASSERT_TRUE(clock.BlockUntilWaiters(2));
  EXPECT_EQ(clock.NextDeadline(), start + milliseconds(10));
  ASSERT_TRUE(clock.AdvanceToNextDeadline());
  b.join();
  EXPECT_EQ(clock.Now(), start + milliseconds(10));
  ASSERT_TRUE(clock.BlockUntilWaiters(1));
  EXPECT_EQ(clock.NextDeadline(), start + milliseconds(30));
  ASSERT_TRUE(clock.AdvanceToNextDeadline());
  a.join();
  EXPECT_FALSE(clock.AdvanceToNextDeadline());
}

TEST(FakeClockTest, BlockUntilWaitersGivesUpAfterItsRealTimeout) {
  FakeClock clock;
  EXPECT_FALSE(clock.BlockUntilWaiters(1, milliseconds(1)));
}

}  // namespace
}  // namespace dnoscope::testing
