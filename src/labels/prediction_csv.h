// The cascade's per-frame output CSV:
//   frame,label,status,diff_score,specialized_confidence,reference_confidence
// one row per frame in frame order; label is 0/1; status is one of
// skipped, diff_reused, specialized, reference, corrupt, dropped; scores a
// stage did not compute are empty.
//
// Thread-safety: free functions are thread-safe; PredictionCsvWriter is not.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace dnoscope::labels {

// How a frame got its label.
enum class FrameStatus {
  kSkipped,      // not sampled (--skip): copies the previous sampled frame's label
  kDiffReused,   // difference detector: too similar to its reference frame
  kSpecialized,  // specialized model was certain (c <= c_low or c >= c_high)
  kReference,    // reference detector decided
  kCorrupt,      // undecodable frame: copies the previous frame's label
  kDropped,      // live input: dropped unseen to keep up (--max-lateness-ms); copies the
                 // previous frame's label, like a skipped frame
};
inline constexpr int kNumFrameStatuses = 6;

std::string_view FrameStatusName(FrameStatus status);
absl::StatusOr<FrameStatus> ParseFrameStatus(std::string_view name);

struct FrameResult {
  int64_t frame = 0;
  bool label = false;
  FrameStatus status = FrameStatus::kReference;
  // NaN when the stage did not run for this frame.
  float diff_score = std::nanf("");
  float specialized_confidence = std::nanf("");
  float reference_confidence = std::nanf("");
  // Also sent to the reference by the accuracy audit (the label above is
  // still the cascade's own).
  bool audited = false;
};

inline constexpr std::string_view kPredictionCsvHeader =
    "frame,label,status,diff_score,specialized_confidence,reference_confidence";
// Runs with the accuracy audit add one column after the NoScope-compatible
// ones: 1 when the frame was also sent to the reference by the audit.
inline constexpr std::string_view kAuditColumn = "audited";

// Reads both layouts (with and without the audit column).
// Errors: "<source_name>:<line>: <what>" (InvalidArgument).
absl::StatusOr<std::vector<FrameResult>> ParsePredictionCsv(std::string_view text,
                                                            std::string_view source_name);
// NotFound when missing.
absl::StatusOr<std::vector<FrameResult>> ReadPredictionCsv(const std::string& path);

// Formats one CSV row (no newline), with the audit column when asked.
std::string FormatPredictionRow(const FrameResult& result, bool audit_column = false);

class PredictionCsvWriter {
 public:
  // `path` "-" writes to stdout; `audit_column` adds the "audited" column.
  static absl::StatusOr<std::unique_ptr<PredictionCsvWriter>> Open(const std::string& path,
                                                                   bool audit_column = false);
  ~PredictionCsvWriter();
  absl::Status Write(const FrameResult& result);
  absl::Status Close();

 private:
  PredictionCsvWriter(FILE* file, std::string path, bool owned)
      : file_(file), path_(std::move(path)), owned_(owned) {}
  FILE* file_;
  std::string path_;
  bool owned_;
  bool audit_column_ = false;
};

}  // namespace dnoscope::labels
