// NoScope's label CSV: `frame,object_name,confidence,xmin,ymin,xmax,ymax`,
// one row per detection, frames without detections have no rows, frame
// numbers 0-based, box corners in full-frame pixels. A header row is written
// and accepted (but not required) on read.
//
// LabelIndex turns a detection list into a dense per-frame answer to "is
// there an <object> (with confidence >= c, centre in ROI) in frame f?".
//
// Thread-safety: free functions are thread-safe; LabelCsvWriter is not.
#pragma once

#include <cstdint>
#include <cstdio>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "common/roi.h"

namespace dnoscope::labels {

struct Detection {
  int64_t frame = 0;
  std::string object_name;
  float confidence = 0;
  float xmin = 0;
  float ymin = 0;
  float xmax = 0;
  float ymax = 0;
  bool operator==(const Detection&) const = default;
};

// Largest frame number a label CSV may name (about 1 year at 30 fps); larger
// ones are rejected so that a dense per-frame index stays allocatable.
inline constexpr int64_t kMaxLabelFrame = 1'000'000'000;

inline constexpr std::string_view kLabelCsvHeader =
    "frame,object_name,confidence,xmin,ymin,xmax,ymax";

// Parses CSV text. `source_name` names the input in errors, which read
// "<source_name>:<line>: <what is wrong>" (InvalidArgument).
absl::StatusOr<std::vector<Detection>> ParseLabelCsv(std::string_view text,
                                                     std::string_view source_name);

// Reads a label CSV file. NotFound when missing; InvalidArgument as above.
absl::StatusOr<std::vector<Detection>> ReadLabelCsv(const std::string& path);

// Formats one CSV row (no newline): floats with the fewest digits that read
// back to the same value, object names quoted when they hold ',' or '"'.
std::string FormatLabelRow(const Detection& detection);

// Streams detections to a CSV file, header first. Rows are written as given.
class LabelCsvWriter {
 public:
  // Creates/truncates `path`. Error: PermissionDenied/NotFound when it cannot be opened.
  static absl::StatusOr<std::unique_ptr<LabelCsvWriter>> Open(const std::string& path);
  ~LabelCsvWriter();

  // InvalidArgument for an object name holding a line break; FailedPrecondition
  // after Close(); errno-derived codes for write errors.
  absl::Status Write(const Detection& detection);
  // Flushes and closes; reports write errors (e.g. disk full).
  absl::Status Close();

 private:
  LabelCsvWriter(FILE* file, std::string path) : file_(file), path_(std::move(path)) {}
  FILE* file_;
  std::string path_;
};

// Writes all detections to `path` (header first).
absl::Status WriteLabelCsv(const std::string& path, std::span<const Detection> detections);

// Which detections count as "the object is present": the query predicate,
// the one rule for label files, the cascade's reference stage and the
// evaluation alike.
struct LabelFilter {
  // Object name to match exactly; empty matches every name.
  std::string object_name;
  // Minimum confidence (inclusive).
  float min_confidence = 0;
  // When set, the box centre must lie inside.
  std::optional<Roi> roi;

  // A detection of `object_name` with `confidence` and box corners
  // (x1, y1)-(x2, y2) in full-frame pixels.
  bool Matches(std::string_view object_name, float confidence, float x1, float y1, float x2,
               float y2) const;
  bool Matches(const Detection& d) const;
};

// Dense per-frame labels built from a detection list.
class LabelIndex {
 public:
  // `num_frames` < 0 means "max frame in `detections` + 1". Detections at or
  // past num_frames are ignored.
  static LabelIndex Build(std::span<const Detection> detections, const LabelFilter& filter,
                          int64_t num_frames = -1);

  int64_t num_frames() const { return static_cast<int64_t>(positive_.size()); }
  // False for frames outside [0, num_frames).
  bool Positive(int64_t frame) const;
  // Highest confidence of a matching detection; 0 when none or out of range.
  float MaxConfidence(int64_t frame) const;
  // Number of positive frames in [0, num_frames).
  int64_t CountPositive() const;

 private:
  std::vector<uint8_t> positive_;
  std::vector<float> max_confidence_;
};

}  // namespace dnoscope::labels
