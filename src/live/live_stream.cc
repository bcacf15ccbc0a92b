#include "live/live_stream.h"

#include <utility>

#include "fmt/format.h"
#include "nlohmann/json.hpp"

namespace dnoscope::live {

SourceOpener OpenerFor(video::FrameSourceOptions options) {
  return [options](int64_t first_index) -> absl::StatusOr<std::unique_ptr<video::FrameSource>> {
    video::FrameSourceOptions o = options;
    if (first_index > 0) {
      o.range.start = 0;
      if (o.range.end) *o.range.end -= first_index;
    }
    return video::OpenFrameSource(o);
  };
}

LiveRows::LiveRows(std::string stream, double fps, StreamStats* stats,
                   std::vector<EventSink*> sinks, WallClock wall)
    : detector_(std::move(stream), fps), stats_(stats), sinks_(std::move(sinks)),
      wall_(std::move(wall)) {}

void LiveRows::OnRow(const labels::FrameResult& r) {
  stats_->RecordRow(r.status);
  std::optional<Event> event = detector_.Observe(r, wall_());
  if (!event) return;
  stats_->RecordEvent();
  for (EventSink* sink : sinks_) sink->Publish(*event);
}

namespace {

int64_t Dropped(const StreamStats::Snapshot& s) {
  return s.rows_by_status[static_cast<int>(labels::FrameStatus::kDropped)];
}

}  // namespace

std::string LiveProgressText(const StreamStats::Snapshot& s) {
  std::string out;
  if (s.lateness_samples > 0) {
    out += fmt::format(" | late {:.0f} ms (max {:.0f} ms)", s.last_lateness_s * 1e3,
                       s.max_lateness_s * 1e3);
  }
  if (Dropped(s) > 0) out += fmt::format(", {} dropped", Dropped(s));
  if (s.reconnects > 0) {
    out += fmt::format(", {} reconnect{}", s.reconnects, s.reconnects == 1 ? "" : "s");
  }
  return out;
}

std::string LiveSummaryTable(const StreamStats::Snapshot& s) {
  std::string out;
  if (s.lateness_samples > 0) {
    out += fmt::format("lateness       mean {:.1f} ms, max {:.1f} ms over {} frames\n",
                       s.mean_lateness_s * 1e3, s.max_lateness_s * 1e3, s.lateness_samples);
  }
  if (s.reconnects > 0) {
    out += fmt::format("reconnects     {} ({:.1f} s without frames)\n", s.reconnects,
                       s.gap_seconds);
  }
  if (s.events > 0) out += fmt::format("events         {}\n", s.events);
  return out;
}

std::string LiveSummaryJson(const StreamStats::Snapshot& s) {
  nlohmann::ordered_json j;
  j["lateness_ms"] = {{"frames", s.lateness_samples},
                      {"mean", s.mean_lateness_s * 1e3},
                      {"max", s.max_lateness_s * 1e3},
                      {"last", s.last_lateness_s * 1e3}};
  j["dropped_frames"] = Dropped(s);
  j["reconnects"] = s.reconnects;
  j["gap_seconds"] = s.gap_seconds;
  j["events"] = s.events;
  return j.dump();
}

}  // namespace dnoscope::live
