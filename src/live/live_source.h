// LiveSource: the FrameSource decorator that gives `dnoscope run` live
// semantics, per stream:
//
//  - pacing (--realtime): a file is released at its frame rate, frame i at
//    start + i/fps on the Clock, to rehearse live input;
//  - lateness: how far the wall clock is behind the stream when a frame is
//    handed on (StreamSchedule below), recorded in the stream's StreamStats;
//  - dropping (--max-lateness-ms): a sampled frame later than the bound is
//    handed on with `dropped` set and no image, so no model sees it and the
//    policy gives it status `dropped` and the previous row's label;
//  - reconnecting (live URLs): a source that errors, ends or goes silent (its
//    read timeout) is reopened with capped exponential back-off until it
//    delivers again or the outage exceeds `reconnect_for`; the gap is logged
//    and recorded; frame indices keep increasing across reconnects (a
//    reopened stream's frame 0 follows the last frame before the loss, and
//    --skip sampling restarts there);
//  - stopping: once the StopFlag is raised, Next() ends the input, so the
//    cascade drains and writes every row of the frames it took in.
//
// Lateness is measured where the cascade takes frames in: when the cascade
// falls behind, its bounded queues make it ask for the next frame later,
// which shows as lateness (and a dropped frame costs almost nothing, so
// dropping lets it catch up).
//
// Thread-safety: like every FrameSource, one thread at a time.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "common/clock.h"
#include "live/backoff.h"
#include "live/stop_flag.h"
#include "live/stream_stats.h"
#include "video/frame_source.h"

namespace dnoscope::live {

// When frames are due, from the stream's frame rate. Frame i is due at
// anchor + i/fps. Paced (fixed) schedules anchor at the first frame's
// release; live ones at min over frames of (arrival - i/fps), i.e. the
// earliest-arriving frame defines "on time" (so a frame that arrived early
// never makes later ones look late, and lateness is never negative).
class StreamSchedule {
 public:
  // `fps` > 0.
  StreamSchedule(double fps, bool fixed) : fps_(fps), fixed_(fixed) {}

  // When frame `index` is due; anchors the schedule at `now` when unset.
  Clock::TimePoint Due(int64_t index, Clock::TimePoint now);
  // Lateness of frame `index` handed on at `at` (>= 0).
  Clock::Duration Observe(int64_t index, Clock::TimePoint at);
  // Forgets the anchor (after a reconnect: the stream's clock restarted).
  void Restart() { anchored_ = false; }

 private:
  Clock::Duration Offset(int64_t index) const;

  double fps_;
  bool fixed_;
  bool anchored_ = false;
  Clock::TimePoint anchor_{};
};

// Opens the stream again; `first_index` is the index the reopened source's
// frame 0 will get (to clip a frame range).
using SourceOpener =
    std::function<absl::StatusOr<std::unique_ptr<video::FrameSource>>(int64_t first_index)>;

struct LiveSourceOptions {
  // Release frames at the video's frame rate (needs a known frame rate).
  bool realtime = false;
  // Measure lateness (live sources and --realtime; a file read as fast as
  // it decodes is never late). Needs a known frame rate; off without one.
  bool measure_lateness = false;
  // The frame range's end: reaching it ends the input (no reconnect).
  std::optional<int64_t> end_index;
  // Drop sampled frames later than this; nullopt: never drop.
  std::optional<Clock::Duration> max_lateness;
  // Reopen a lost stream (live URLs); needs an opener.
  bool reconnect = false;
  // Give up (Unavailable) once the stream has been down this long; nullopt:
  // keep trying until stopped.
  std::optional<Clock::Duration> reconnect_for;
  BackoffOptions backoff;
};

class LiveSource final : public video::FrameSource {
 public:
  // `first` is the opened source; `reopen` opens it again (required when
  // options.reconnect). `stats`, `stop` and `clock` are not owned; `stop`
  // may be null. InvalidArgument for --realtime or a lateness bound on a
  // source without a known frame rate.
  static absl::StatusOr<std::unique_ptr<LiveSource>> Create(
      std::unique_ptr<video::FrameSource> first, SourceOpener reopen, LiveSourceOptions options,
      StreamStats* stats, StopFlag* stop, Clock* clock);

  const video::VideoInfo& info() const override { return info_; }
  absl::StatusOr<std::optional<video::Frame>> Next() override;
  int64_t corrupt_frames() const override;

 private:
  LiveSource(std::unique_ptr<video::FrameSource> first, SourceOpener reopen,
             LiveSourceOptions options, StreamStats* stats, StopFlag* stop, Clock* clock);
  // Reopens the stream after a loss; OK with inner_ set, OK with inner_
  // null when stopped, Unavailable when giving up.
  absl::Status Reopen(const absl::Status& cause);
  bool Stopped() const { return stop_ != nullptr && stop_->stopped(); }

  std::unique_ptr<video::FrameSource> inner_;
  const SourceOpener reopen_;
  const LiveSourceOptions options_;
  StreamStats* const stats_;
  StopFlag* const stop_;
  Clock* const clock_;
  const video::VideoInfo info_;
  std::optional<StreamSchedule> schedule_;
  int64_t offset_ = 0;       // added to the inner source's frame indices
  int64_t next_index_ = 0;   // the index after the last frame handed on
  int64_t corrupt_before_ = 0;  // corrupt frames of sources closed since
  std::optional<Clock::TimePoint> last_arrival_;
  std::optional<Clock::TimePoint> down_since_;  // set while the stream is lost
};

}  // namespace dnoscope::live
