// Renders a CascadeSummary for people (a table) and for tools (JSON).
// Pure functions; thread-safe.
#pragma once

#include <string>

#include "cascade/cascade.h"
#include "video/frame_source.h"

namespace dnoscope::cascade {

// JSON with keys frames, wall_seconds, frames_per_second, positive_frames,
// corrupt_frames, status_counts{skipped, diff_reused, specialized, reference,
// corrupt}, status_shares{...}, stage_seconds{decode, preprocess, difference,
// specialized, reference}, video{uri, width, height, fps, frame_count}, and,
// when measured, decode_only_frames_per_second and cascade_over_decode_ratio.
std::string SummaryToJson(const CascadeSummary& summary, const video::VideoInfo& video);

// A readable multi-line table of the same figures.
std::string SummaryToTable(const CascadeSummary& summary, const video::VideoInfo& video);

// One line for progress displays: "diff 80.1% spec 9.9% ref 10.0% | 123 positive".
std::string StatusShareLine(const CascadeSummary& summary);

}  // namespace dnoscope::cascade
