// The per-stream pieces of a live run, for `dnoscope run` with one stream
// or many: the source stack (LiveSource over OpenFrameSource), the row
// observer (status counts, answer-change events) and the stream's lines in
// the progress line and the summary.
//
// Thread-safety: a LiveRows belongs to its stream's row callback; the free
// functions are pure.
#pragma once

#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include "labels/prediction_csv.h"
#include "live/events.h"
#include "live/live_source.h"
#include "live/stream_stats.h"
#include "video/frame_source.h"

namespace dnoscope::live {

// Opens `options` again after a loss: the reopened stream's frame 0 gets
// index `first_index`, so the range's end is moved back by it.
SourceOpener OpenerFor(video::FrameSourceOptions options);

// Sees every row of one stream in frame order: counts it and publishes the
// answer changes to `sinks` (not owned; may be empty).
class LiveRows {
 public:
  using WallClock = std::function<std::chrono::system_clock::time_point()>;
  LiveRows(std::string stream, double fps, StreamStats* stats, std::vector<EventSink*> sinks,
           WallClock wall = [] { return std::chrono::system_clock::now(); });

  void OnRow(const labels::FrameResult& r);

 private:
  EventDetector detector_;
  StreamStats* const stats_;
  const std::vector<EventSink*> sinks_;
  const WallClock wall_;
};

// " | late 12 ms (max 40 ms), 3 dropped, 1 reconnect": the stream's live
// figures for the progress line; empty when there is nothing live to say.
std::string LiveProgressText(const StreamStats::Snapshot& s);
// Summary lines (each ending in a newline); empty when nothing was measured.
std::string LiveSummaryTable(const StreamStats::Snapshot& s);
// {"lateness_ms": {...}, "dropped_frames": n, "reconnects": n, "gap_seconds": x, "events": n}
std::string LiveSummaryJson(const StreamStats::Snapshot& s);

}  // namespace dnoscope::live
