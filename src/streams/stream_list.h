// The streams file of `dnoscope run --streams`: a JSON list with one entry
// per camera or video,
//
//   [{"name": "gate", "video": "gate.mp4", "config": "gate.json",
//     "out": "gate.csv", "roi": "0,200,640,360", "frames": "0:3000", "skip": 2},
//    {"name": "yard", "video": "rtsp://cam2/stream", "config": "yard.json",
//     "out": "yard.csv"}]
//
// `name`, `video` (file, URL or device), `config` (cascade JSON) and `out`
// (prediction CSV) are required; `roi` ("X0,Y0,X1,Y1" or [X0, Y0, X1, Y1]), `frames`
// ("START:END") and `skip` (>= 1) override the entry's config and video
// range, as --roi, --frames and --skip do for a single-stream run. Relative
// paths are relative to the streams file's folder. The whole file is
// checked before any stream starts: every problem is one InvalidArgument
// (NotFound for missing files) naming the entry as `entry 2 ("yard")`
// (entries count from 1).
//
// Pure functions (ReadStreamList and CheckStreamFiles read the disk);
// thread-safe.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "common/roi.h"

namespace dnoscope::streams {

struct StreamEntry {
  // Unique among the entries; used in logs, progress and the summary.
  std::string name;
  // File path (resolved) or URL/device as given.
  std::string video;
  // Cascade config JSON path (resolved).
  std::string config;
  // Prediction CSV path (resolved); unique among the entries.
  std::string out;
  std::optional<Roi> roi;
  std::optional<FrameRange> frames;
  std::optional<int> skip;
};

// `entry 2 ("yard")` for the entry at 0-based `index`.
std::string EntryLabel(size_t index, std::string_view name);

// Parses and checks a streams file's text (fields, types, duplicate names
// and out paths); relative paths are resolved against `base_dir` (may be
// empty: kept as given). Does not touch the disk.
absl::StatusOr<std::vector<StreamEntry>> ParseStreamList(std::string_view json_text,
                                                         const std::string& base_dir);

// Checks that each entry's config is a readable file and its video, when a
// file, is a video OpenCV can open (URLs and devices are not probed: a live
// source may come up later). NotFound/InvalidArgument naming the entry.
absl::Status CheckStreamFiles(const std::vector<StreamEntry>& entries);

// Reads `path` and ParseStreamList relative to its folder (no file checks).
// NotFound when the file cannot be read; the parse errors prefixed with `path`.
absl::StatusOr<std::vector<StreamEntry>> LoadStreamList(const std::string& path);

// LoadStreamList, then CheckStreamFiles.
absl::StatusOr<std::vector<StreamEntry>> ReadStreamList(const std::string& path);

}  // namespace dnoscope::streams
