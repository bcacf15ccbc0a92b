// LiveSource on a FakeClock: back-off schedule, pacing, lateness, drops,
// reconnects with continuing frame indices, stop.
#include "live/live_source.h"

#include <atomic>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "live/backoff.h"
#include "testing/fake_clock.h"
#include "testing/fakes.h"

namespace dnoscope::live {
namespace {

using std::chrono::milliseconds;
using testing::FakeClock;
using testing::FakeFrameSource;

std::vector<video::Frame> Frames(int n) {
  std::vector<video::Frame> frames;
  for (int i = 0; i < n; ++i) {
    video::Frame f;
    f.index = i;
    f.image = cv::Mat(4, 4, CV_8UC3, cv::Scalar(i, i, i));
    frames.push_back(f);
  }
  return frames;
}

// A 10 fps source of `n` frames, then `end` (OK: the end of the stream).
std::unique_ptr<video::FrameSource> Source(int n, absl::Status end = absl::OkStatus()) {
  return std::make_unique<FakeFrameSource>(Frames(n), 4, 4, std::move(end));
}

double Ms(Clock::Duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

TEST(BackoffTest, DoublesUpToTheCapAndResets) {
  Backoff b({milliseconds(500), 2, std::chrono::seconds(5)});
  std::vector<double> delays;
  for (int i = 0; i < 6; ++i) delays.push_back(Ms(b.Next()));
  EXPECT_EQ(delays, (std::vector<double>{500, 1000, 2000, 4000, 5000, 5000}));
  b.Reset();
  EXPECT_EQ(Ms(b.Next()), 500);
}

TEST(StreamScheduleTest, FixedScheduleMeasuresAgainstTheFirstFrame) {
  const Clock::TimePoint t0(std::chrono::hours(1));
  StreamSchedule s(10, /*fixed=*/true);
  EXPECT_EQ(s.Due(0, t0), t0);
  EXPECT_EQ(s.Due(3, t0 + milliseconds(999)), t0 + milliseconds(300));
  EXPECT_EQ(Ms(s.Observe(3, t0 + milliseconds(450))), 150);
  // Early is not negative, and a fixed schedule does not move.
  EXPECT_EQ(Ms(s.Observe(4, t0 + milliseconds(350))), 0);
  EXPECT_EQ(s.Due(5, t0), t0 + milliseconds(500));
}

TEST(StreamScheduleTest, LiveScheduleAnchorsAtTheEarliestArrival) {
  const Clock::TimePoint t0(std::chrono::hours(1));
  StreamSchedule s(10, /*fixed=*/false);
  EXPECT_EQ(Ms(s.Observe(0, t0)), 0);  // the first frame arrived late (start-up)...
  EXPECT_EQ(Ms(s.Observe(1, t0 + milliseconds(40))), 0);  // ...frame 1 shows by 60 ms
  EXPECT_EQ(Ms(s.Observe(2, t0 + milliseconds(140))), 0);
  EXPECT_EQ(Ms(s.Observe(3, t0 + milliseconds(300))), 60);
  s.Restart();  // after a reconnect the stream's clock restarts
  EXPECT_EQ(Ms(s.Observe(50, t0 + milliseconds(9000))), 0);
  EXPECT_EQ(Ms(s.Observe(51, t0 + milliseconds(9250))), 150);
}

struct Fixture {
  FakeClock clock;
  StreamStats stats{"cam", &clock};
  StopFlag stop;
};

std::unique_ptr<LiveSource> Make(Fixture& f, std::unique_ptr<video::FrameSource> first,
                                 LiveSourceOptions o, SourceOpener reopen = nullptr) {
  auto s = LiveSource::Create(std::move(first), std::move(reopen), o, &f.stats, &f.stop, &f.clock);
  EXPECT_TRUE(s.ok()) << s.status();
  return s.ok() ? std::move(*s) : nullptr;
}

TEST(LiveSourceTest, RealtimeReleasesFramesAtTheFrameRate) {
  Fixture f;
  LiveSourceOptions o;
  o.realtime = true;
  auto source = Make(f, Source(5), o);
  const Clock::TimePoint start = f.clock.Now();
  std::vector<double> released;
  std::atomic<bool> done{false};
  std::thread consumer([&] {
    while (true) {
      auto frame = source->Next();
      ASSERT_TRUE(frame.ok());
      if (!*frame) break;
      released.push_back(Ms(f.clock.Now() - start));
    }
    done = true;
  });
  // Each frame after the first waits for its due time on the clock.
  for (int i = 1; i < 5; ++i) {
    ASSERT_TRUE(f.clock.BlockUntilWaiterFor(start + milliseconds(100 * i)));
    f.clock.AdvanceTo(start + milliseconds(100 * i));
  }
  consumer.join();
  EXPECT_EQ(released, (std::vector<double>{0, 100, 200, 300, 400}));
  const StreamStats::Snapshot s = f.stats.snapshot();
  EXPECT_EQ(s.lateness_samples, 5);
  EXPECT_EQ(s.max_lateness_s, 0);
}

TEST(LiveSourceTest, LateFramesAreMeasuredAndDroppedPastTheBound) {
  Fixture f;
  LiveSourceOptions o;
  o.realtime = true;
  o.max_lateness = milliseconds(150);
  auto source = Make(f, Source(6), o);
  // The consumer takes frame 0 at once, then falls 400 ms behind.
  auto f0 = source->Next();
  ASSERT_TRUE(f0.ok() && *f0);
  EXPECT_FALSE((*f0)->dropped);
  f.clock.Advance(milliseconds(500));
  std::vector<bool> dropped;
  for (int i = 1; i < 6; ++i) {
    auto frame = source->Next();  // never waits: every frame is already due
    ASSERT_TRUE(frame.ok() && *frame);
    EXPECT_EQ((*frame)->index, i);
    dropped.push_back((*frame)->dropped);
    EXPECT_EQ((*frame)->image.empty(), (*frame)->dropped);
  }
  // Due at 100..500 ms, taken at 500 ms: 400, 300, 200 ms late are dropped;
  // 100 ms and on time are kept.
  EXPECT_EQ(dropped, (std::vector<bool>{true, true, true, false, false}));
  const StreamStats::Snapshot s = f.stats.snapshot();
  EXPECT_DOUBLE_EQ(s.max_lateness_s, 0.4);
  EXPECT_DOUBLE_EQ(s.last_lateness_s, 0);
}

TEST(LiveSourceTest, WithoutABoundLateFramesAreKept) {
  Fixture f;
  LiveSourceOptions o;
  o.measure_lateness = true;  // a live source: no pacing, lateness only
  auto source = Make(f, Source(3), o);
  ASSERT_TRUE(source->Next().ok());
  f.clock.Advance(milliseconds(900));
  auto frame = source->Next();
  ASSERT_TRUE(frame.ok() && *frame);
  EXPECT_FALSE((*frame)->dropped);
  EXPECT_DOUBLE_EQ(f.stats.snapshot().last_lateness_s, 0.8);
}

TEST(LiveSourceTest, NeedsAFrameRateToPace) {
  Fixture f;
  struct NoFps : FakeFrameSource {
    using FakeFrameSource::FakeFrameSource;
    const video::VideoInfo& info() const override { return info_; }
    video::VideoInfo info_;
  };
  LiveSourceOptions o;
  o.realtime = true;
  auto s = LiveSource::Create(std::make_unique<NoFps>(Frames(1), 4, 4), nullptr, o, &f.stats,
                              &f.stop, &f.clock);
  EXPECT_EQ(s.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(s.status().message().find("--realtime"), std::string::npos) << s.status();
}

// Drives the clock for a consumer thread: advances to the next deadline
// whenever the consumer waits, until it is done.
void DriveUntil(FakeClock& clock, const std::atomic<bool>& done) {
  while (!done) {
    if (clock.BlockUntilWaiters(1, milliseconds(20))) clock.AdvanceToNextDeadline();
  }
}

TEST(LiveSourceTest, ReconnectsWithBackoffAndKeepsIndicesIncreasing) {
  Fixture f;
  const Clock::TimePoint start = f.clock.Now();
  std::vector<int64_t> reopen_indices;
  std::vector<double> reopen_at;
  int calls = 0;
  SourceOpener reopen =
      [&](int64_t first_index) -> absl::StatusOr<std::unique_ptr<video::FrameSource>> {
    reopen_indices.push_back(first_index);
    reopen_at.push_back(Ms(f.clock.Now() - start));
    if (++calls == 3) return Source(2);  // back after two refused attempts
    return absl::UnavailableError("connection refused");
  };
  LiveSourceOptions o;
  o.measure_lateness = true;
  o.reconnect = true;
  o.reconnect_for = std::chrono::seconds(5);
  o.backoff = {milliseconds(500), 2, std::chrono::seconds(10)};
  auto source = Make(f, Source(3, absl::UnavailableError("reset by peer")), o, reopen);
  std::vector<int64_t> indices;
  absl::Status end;
  std::atomic<bool> done{false};
  std::thread consumer([&] {
    while (true) {
      auto frame = source->Next();
      if (!frame.ok()) {
        end = frame.status();
        break;
      }
      if (!*frame) break;
      indices.push_back((*frame)->index);
    }
    done = true;
  });
  DriveUntil(f.clock, done);
  consumer.join();
  EXPECT_EQ(indices, (std::vector<int64_t>{0, 1, 2, 3, 4}));
  // Lost after frame 2 at t=0: attempts after 0.5, 1 and 2 s of back-off.
  // The second source ends after 2 frames; the outage then lasts past 5 s
  // (attempts at +0.5, +1.5, +3.5; the next would be at +7.5).
  ASSERT_EQ(reopen_at.size(), 6u);
  EXPECT_EQ(std::vector<double>(reopen_at.begin(), reopen_at.begin() + 3),
            (std::vector<double>{500, 1500, 3500}));
  EXPECT_EQ(reopen_indices[0], 3);
  EXPECT_EQ(reopen_indices[3], 5);
  EXPECT_EQ(end.code(), absl::StatusCode::kUnavailable);
  EXPECT_NE(end.message().find("giving up"), std::string::npos) << end;
  const StreamStats::Snapshot s = f.stats.snapshot();
  EXPECT_EQ(s.reconnects, 1);
  EXPECT_DOUBLE_EQ(s.gap_seconds, 3.5);
  EXPECT_EQ(s.max_lateness_s, 0);  // the schedule restarted after the gap
}

TEST(LiveSourceTest, WithoutReconnectAnErrorEndsTheInput) {
  Fixture f;
  auto source = Make(f, Source(1, absl::DataLossError("truncated")), {});
  ASSERT_TRUE(source->Next().ok());
  EXPECT_EQ(source->Next().status().code(), absl::StatusCode::kDataLoss);
}

TEST(LiveSourceTest, TheRangeEndIsNotALoss) {
  Fixture f;
  LiveSourceOptions o;
  o.reconnect = true;
  o.end_index = 2;
  int reopened = 0;
  auto source = Make(f, Source(2), o, [&](int64_t) {
    ++reopened;
    return absl::StatusOr<std::unique_ptr<video::FrameSource>>(Source(2));
  });
  ASSERT_TRUE(source->Next().ok());
  ASSERT_TRUE(source->Next().ok());
  auto end = source->Next();
  ASSERT_TRUE(end.ok());
  EXPECT_FALSE(end->has_value());
  EXPECT_EQ(reopened, 0);
}

TEST(LiveSourceTest, StopEndsTheInputEvenWhileWaitingToReconnect) {
  Fixture f;
  LiveSourceOptions o;
  o.reconnect = true;
  auto source = Make(f, Source(1, absl::UnavailableError("gone")), o, [](int64_t) {
    return absl::StatusOr<std::unique_ptr<video::FrameSource>>(absl::UnavailableError("down"));
  });
  ASSERT_TRUE(source->Next().ok());
  absl::StatusOr<std::optional<video::Frame>> last;
  std::thread consumer([&] { last = source->Next(); });
  ASSERT_TRUE(f.clock.BlockUntilWaiters(1));  // waiting out the back-off
  f.stop.Stop();
  consumer.join();
  ASSERT_TRUE(last.ok()) << last.status();
  EXPECT_FALSE(last->has_value());
  EXPECT_FALSE(source->Next()->has_value());
}

}  // namespace
}  // namespace dnoscope::live
