#include "cascade/summary.h"

#include "fmt/format.h"
#include "nlohmann/json.hpp"

namespace dnoscope::cascade {
namespace {

using labels::FrameStatus;

double Share(const CascadeSummary& s, FrameStatus status) {
  return s.frames > 0 ? static_cast<double>(s.status_counts[static_cast<int>(status)]) / s.frames
                      : 0.0;
}

constexpr FrameStatus kAllStatuses[] = {FrameStatus::kSkipped, FrameStatus::kDiffReused,
                                        FrameStatus::kSpecialized, FrameStatus::kReference,
                                        FrameStatus::kCorrupt};

}  // namespace

std::string SummaryToJson(const CascadeSummary& s, const video::VideoInfo& video) {
  nlohmann::json counts, shares;
  for (FrameStatus st : kAllStatuses) {
    const std::string name(labels::FrameStatusName(st));
    counts[name] = s.status_counts[static_cast<int>(st)];
    shares[name] = Share(s, st);
  }
  nlohmann::json j = {
      {"frames", s.frames},
      {"wall_seconds", s.wall_seconds},
      {"frames_per_second", s.frames_per_second},
      {"positive_frames", s.positive_frames},
      {"corrupt_frames", s.corrupt_frames},
      {"status_counts", counts},
      {"status_shares", shares},
      {"stage_seconds",
       {{"decode", s.stage_seconds.decode},
        {"preprocess", s.stage_seconds.preprocess},
        {"difference", s.stage_seconds.difference},
        {"specialized", s.stage_seconds.specialized},
        {"reference", s.stage_seconds.reference}}},
      {"video",
       {{"uri", video.uri},
        {"width", video.width},
        {"height", video.height},
        {"fps", video.fps},
        {"frame_count", video.frame_count}}},
  };
  if (s.decode_only_frames_per_second) {
    j["decode_only_frames_per_second"] = *s.decode_only_frames_per_second;
    j["cascade_over_decode_ratio"] = *s.decode_only_frames_per_second > 0
                                         ? s.frames_per_second / *s.decode_only_frames_per_second
                                         : 0.0;
  }
  return j.dump(2);
}

std::string SummaryToTable(const CascadeSummary& s, const video::VideoInfo& video) {
  std::string out = fmt::format("video          {} ({}x{}, {:.2f} fps)\n", video.uri, video.width,
                                video.height, video.fps);
  out += fmt::format("frames         {} ({} with the object, {:.1f}%)\n", s.frames,
                     s.positive_frames, s.frames ? 100.0 * s.positive_frames / s.frames : 0.0);
  for (FrameStatus st : kAllStatuses) {
    const int64_t n = s.status_counts[static_cast<int>(st)];
    if (n == 0 && st == FrameStatus::kCorrupt) continue;
    out += fmt::format("  {:<12} {:>8}  {:5.1f}%\n", labels::FrameStatusName(st), n,
                       100.0 * Share(s, st));
  }
  out += fmt::format("time           {:.2f} s wall, {:.1f} frames/s\n", s.wall_seconds,
                     s.frames_per_second);
  const StageSeconds& t = s.stage_seconds;
  out += fmt::format(
      "  stage seconds decode {:.2f}, preprocess {:.2f}, difference {:.3f}, specialized {:.2f}, "
      "reference {:.2f}\n",
      t.decode, t.preprocess, t.difference, t.specialized, t.reference);
  if (s.decode_only_frames_per_second) {
    const double d = *s.decode_only_frames_per_second;
    out += fmt::format("decode only    {:.1f} frames/s (cascade runs at {:.2f}x of decoding)\n", d,
                       d > 0 ? s.frames_per_second / d : 0.0);
  }
  return out;
}

std::string StatusShareLine(const CascadeSummary& s) {
  return fmt::format("diff {:.1f}% spec {:.1f}% ref {:.1f}% skip {:.1f}% | {} positive",
                     100 * Share(s, FrameStatus::kDiffReused),
                     100 * Share(s, FrameStatus::kSpecialized),
                     100 * Share(s, FrameStatus::kReference), 100 * Share(s, FrameStatus::kSkipped),
                     s.positive_frames);
}

}  // namespace dnoscope::cascade
