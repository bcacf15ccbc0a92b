#include "live/live_source.h"

#include <algorithm>
#include <chrono>
#include <utility>

#include "fmt/format.h"
#include "spdlog/spdlog.h"

namespace dnoscope::live {

Clock::Duration StreamSchedule::Offset(int64_t index) const {
  return std::chrono::duration_cast<Clock::Duration>(
      std::chrono::duration<double>(static_cast<double>(index) / fps_));
}

Clock::TimePoint StreamSchedule::Due(int64_t index, Clock::TimePoint now) {
  if (!anchored_) {
    anchor_ = now - Offset(index);
    anchored_ = true;
  }
  return anchor_ + Offset(index);
}

Clock::Duration StreamSchedule::Observe(int64_t index, Clock::TimePoint at) {
  const Clock::TimePoint due = Due(index, at);
  if (at <= due) {
    // Early (or on time): a live schedule moves its anchor to this frame.
    if (!fixed_) anchor_ = at - Offset(index);
    return Clock::Duration::zero();
  }
  return at - due;
}

absl::StatusOr<std::unique_ptr<LiveSource>> LiveSource::Create(
    std::unique_ptr<video::FrameSource> first, SourceOpener reopen, LiveSourceOptions options,
    StreamStats* stats, StopFlag* stop, Clock* clock) {
  if (first == nullptr || stats == nullptr || clock == nullptr) {
    return absl::InvalidArgumentError("live source needs a source, stats and a clock");
  }
  if (options.reconnect && !reopen) {
    return absl::InvalidArgumentError("live source: reconnecting needs a way to reopen");
  }
  const video::VideoInfo& info = first->info();
  if ((options.realtime || options.max_lateness) && !(info.fps > 0)) {
    return absl::InvalidArgumentError(fmt::format(
        "'{}' reports no frame rate: {} needs one to know when a frame is due", info.uri,
        options.realtime ? "--realtime" : "--max-lateness-ms"));
  }
  return std::unique_ptr<LiveSource>(new LiveSource(std::move(first), std::move(reopen),
                                                    std::move(options), stats, stop, clock));
}

LiveSource::LiveSource(std::unique_ptr<video::FrameSource> first, SourceOpener reopen,
                       LiveSourceOptions options, StreamStats* stats, StopFlag* stop, Clock* clock)
    : inner_(std::move(first)),
      reopen_(std::move(reopen)),
      options_(std::move(options)),
      stats_(stats),
      stop_(stop),
      clock_(clock),
      info_(inner_->info()) {
  if (info_.fps > 0 && (options_.measure_lateness || options_.realtime)) {
    schedule_.emplace(info_.fps, /*fixed=*/options_.realtime);
  }
}

int64_t LiveSource::corrupt_frames() const {
  return corrupt_before_ + (inner_ ? inner_->corrupt_frames() : 0);
}

absl::Status LiveSource::Reopen(const absl::Status& cause) {
  const Clock::TimePoint since = *down_since_;
  std::string last_error(cause.message());
  Backoff backoff(options_.backoff);
  for (int attempt = 1;; ++attempt) {
    const Clock::Duration delay = backoff.Next();
    const Clock::TimePoint at = clock_->Now() + delay;
    if (options_.reconnect_for && at - since > *options_.reconnect_for) {
      return absl::UnavailableError(fmt::format(
          "stream '{}' down for {:.1f} s, giving up (--reconnect-s {:.0f}); last error: {}",
          info_.uri, SecondsBetween(since, clock_->Now()),
          std::chrono::duration<double>(*options_.reconnect_for).count(), last_error));
    }
    if (stop_ != nullptr ? stop_->WaitUntil(clock_, at) : (clock_->SleepFor(delay), false)) {
      return absl::OkStatus();
    }
    absl::StatusOr<std::unique_ptr<video::FrameSource>> opened = reopen_(next_index_);
    if (opened.ok()) {
      inner_ = std::move(*opened);
      offset_ = next_index_;
      return absl::OkStatus();
    }
    last_error = std::string(opened.status().message());
    spdlog::warn("stream '{}': reconnect attempt {} failed after {:.1f} s down: {}", info_.uri,
                 attempt, SecondsBetween(since, clock_->Now()), last_error);
  }
}

absl::StatusOr<std::optional<video::Frame>> LiveSource::Next() {
  std::optional<video::Frame> frame;
  while (!frame) {
    if (Stopped()) return std::nullopt;
    if (inner_ == nullptr) {
      absl::Status reopened = Reopen(absl::UnavailableError("stream lost"));
      if (!reopened.ok()) return reopened;
      if (inner_ == nullptr) return std::nullopt;  // stopped while waiting
    }
    absl::StatusOr<std::optional<video::Frame>> next = inner_->Next();
    if (next.ok() && next->has_value()) {
      frame = std::move(**next);
      break;
    }
    const bool range_done = options_.end_index && next_index_ >= *options_.end_index;
    if (!options_.reconnect || Stopped() || range_done) return next;
    const absl::Status cause =
        next.ok() ? absl::UnavailableError("the stream ended or went silent (read timeout)")
                  : next.status();
    if (!down_since_) down_since_ = last_arrival_.value_or(clock_->Now());
    spdlog::warn("stream '{}' lost after frame {}: {}; reconnecting", info_.uri, next_index_ - 1,
                 std::string(cause.message()));
    corrupt_before_ += inner_->corrupt_frames();
    inner_.reset();
    absl::Status reopened = Reopen(cause);
    if (!reopened.ok()) return reopened;
  }
  frame->index += offset_;
  next_index_ = frame->index + 1;
  Clock::TimePoint at = clock_->Now();
  if (down_since_) {
    const Clock::Duration gap = at - *down_since_;
    stats_->RecordReconnect(gap);
    spdlog::warn("stream '{}' back after a {:.1f} s gap (reconnect {}); frame indices continue "
                 "at {}",
                 info_.uri, std::chrono::duration<double>(gap).count(),
                 stats_->snapshot().reconnects, frame->index);
    down_since_.reset();
    if (schedule_) schedule_->Restart();
  }
  if (schedule_) {
    if (options_.realtime) {
      const Clock::TimePoint due = schedule_->Due(frame->index, at);
      if (due > at) {
        if (stop_ != nullptr ? stop_->WaitUntil(clock_, due)
                             : (clock_->SleepFor(due - at), false)) {
          return std::nullopt;
        }
        at = std::max(due, clock_->Now());
      }
    }
    const Clock::Duration lateness = schedule_->Observe(frame->index, at);
    stats_->RecordLateness(lateness);
    if (options_.max_lateness && lateness > *options_.max_lateness && frame->sampled &&
        !frame->corrupt) {
      frame->dropped = true;
      frame->image.release();
    }
  }
  last_arrival_ = at;
  return frame;
}

}  // namespace dnoscope::live
