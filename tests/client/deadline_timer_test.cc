#include "client/deadline_timer.h"

#include <chrono>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "common/mutex.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "testing/fake_clock.h"

namespace dnoscope::client {
namespace {

using ::std::chrono::milliseconds;
using ::testing::ElementsAre;
using ::testing::IsEmpty;

// Records which callbacks ran, in order, and lets the test wait for them.
class Log {
 public:
  std::function<void()> Add(std::string name) {
    return [this, name] {
      MutexLock lock(&mu_);
      ran_.push_back(name);
      changed_.SignalAll();
    };
  }
  // Blocks until `n` callbacks ran (a real-time guard fails a hang).
  bool WaitFor(size_t n) {
    const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    MutexLock lock(&mu_);
    while (ran_.size() < n) {
      if (changed_.WaitUntil(&mu_, give_up)) return ran_.size() >= n;
    }
    return true;
  }
  std::vector<std::string> ran() const {
    MutexLock lock(&mu_);
    return ran_;
  }

 private:
  mutable Mutex mu_;
  CondVar changed_;
  std::vector<std::string> ran_ ABSL_GUARDED_BY(mu_);
};

TEST(DeadlineTimerTest, RunsCallbacksWhenTheClockReachesTheirDeadlines) {
  testing::FakeClock clock;
  Log log;
  DeadlineTimer timer(&clock);
  const Clock::TimePoint start = clock.Now();
  timer.Schedule(start + milliseconds(20), log.Add("b"));
  timer.Schedule(start + milliseconds(10), log.Add("a"));
  ASSERT_TRUE(clock.BlockUntilWaiterFor(start + milliseconds(10)));
  clock.Advance(milliseconds(10) - std::chrono::nanoseconds(1));
  EXPECT_THAT(log.ran(), IsEmpty());
  clock.Advance(std::chrono::nanoseconds(1));
  ASSERT_TRUE(log.WaitFor(1));
  // The timer now sleeps until the next deadline and runs nothing before it.
  ASSERT_TRUE(clock.BlockUntilWaiterFor(start + milliseconds(20)));
  EXPECT_THAT(log.ran(), ElementsAre("a"));
  clock.Advance(milliseconds(10));
  ASSERT_TRUE(log.WaitFor(2));
  EXPECT_THAT(log.ran(), ElementsAre("a", "b"));
  EXPECT_EQ(timer.pending(), 0u);
}

TEST(DeadlineTimerTest, AnEarlierDeadlineShortensTheWait) {
  testing::FakeClock clock;
  Log log;
  DeadlineTimer timer(&clock);
  const Clock::TimePoint start = clock.Now();
  timer.Schedule(start + milliseconds(100), log.Add("late"));
  ASSERT_TRUE(clock.BlockUntilWaiterFor(start + milliseconds(100)));
  timer.Schedule(start + milliseconds(5), log.Add("early"));
  ASSERT_TRUE(clock.BlockUntilWaiterFor(start + milliseconds(5)));
  clock.Advance(milliseconds(5));
  ASSERT_TRUE(log.WaitFor(1));
  EXPECT_THAT(log.ran(), ElementsAre("early"));
}

TEST(DeadlineTimerTest, PastDeadlineRunsWithoutAdvancingTheClock) {
  testing::FakeClock clock;
  Log log;
  DeadlineTimer timer(&clock);
  timer.Schedule(clock.Now() - milliseconds(1), log.Add("overdue"));
  ASSERT_TRUE(log.WaitFor(1));
  EXPECT_THAT(log.ran(), ElementsAre("overdue"));
}

TEST(DeadlineTimerTest, CancelledCallbackNeverRuns) {
  testing::FakeClock clock;
  Log log;
  DeadlineTimer timer(&clock);
  const Clock::TimePoint start = clock.Now();
  const DeadlineTimer::Handle cancelled = timer.Schedule(start + milliseconds(10), log.Add("x"));
  timer.Schedule(start + milliseconds(20), log.Add("y"));
  EXPECT_TRUE(timer.Cancel(cancelled));
  EXPECT_FALSE(timer.Cancel(cancelled));
  clock.Advance(milliseconds(20));
  ASSERT_TRUE(log.WaitFor(1));
  EXPECT_THAT(log.ran(), ElementsAre("y"));
}

TEST(DeadlineTimerTest, StopDropsWhatHasNotRun) {
  testing::FakeClock clock;
  Log log;
  DeadlineTimer timer(&clock);
  timer.Schedule(clock.Now() + milliseconds(10), log.Add("dropped"));
  timer.Stop();
  timer.Stop();  // idempotent
  EXPECT_EQ(timer.pending(), 0u);
  timer.Schedule(clock.Now(), log.Add("after stop"));
  clock.Advance(milliseconds(10));
  EXPECT_THAT(log.ran(), IsEmpty());
}

}  // namespace
}  // namespace dnoscope::client
