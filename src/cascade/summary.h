// What a cascade run reports: frames by status, time per stage, and per
// model stage its requests, latencies and endpoints (in-process stages
// report one endpoint, "local"). Rendered for people (tables) and tools
// (JSON). Pure functions over values; thread-safe.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cascade/audit.h"
#include "cascade/drift.h"
#include "labels/prediction_csv.h"
#include "models/model_stage.h"
#include "video/frame_source.h"

namespace dnoscope::cascade {

struct StageSeconds {
  double decode = 0;      // FrameSource::Next (decode, grab)
  double preprocess = 0;  // ROI crop + resizes
  double difference = 0;
  // Wall time during which the stage had at least one request outstanding.
  double specialized = 0;
  double reference = 0;
};

struct LatencySummary {
  int64_t count = 0;
  double p50_ms = 0;
  double p90_ms = 0;
  double p99_ms = 0;
  double max_ms = 0;
};

struct StageReport {
  // "specialized" or "reference".
  std::string stage;
  std::string description;
  // Requests (batches for a batched specialized stage) this run sent, and
  // the frames in them.
  int64_t requests = 0;
  int64_t frames = 0;
  int64_t bytes_sent = 0;
  // Request latency, submit to result.
  LatencySummary latency;
  // The stage's own counters (shared by every run using the stage).
  models::StageStats stats;
};

struct CascadeSummary {
  int64_t frames = 0;
  int64_t positive_frames = 0;
  int64_t corrupt_frames = 0;
  std::array<int64_t, labels::kNumFrameStatuses> status_counts{};
  double wall_seconds = 0;
  double frames_per_second = 0;
  StageSeconds stage_seconds;
  // Filled by MeasureDecodeOnly when asked for.
  std::optional<double> decode_only_frames_per_second;
  // The accuracy audit's estimates, when the run audits (over the rows so
  // far and the audits returned so far).
  std::optional<AuditEstimate> audit;
  // Audit requests the reference failed (their frames are not counted).
  int64_t audit_failures = 0;
  // The drift response, when the run has one.
  std::optional<DriftReport> drift;
};

struct RunReport {
  std::vector<StageReport> stages;
  // Decode to label known, over the frames the models labeled.
  LatencySummary model_frame_latency;
  // Decode to row emitted, over every frame.
  LatencySummary end_to_end_latency;
};

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

// JSON {"stages": [{stage, description, requests, frames, bytes_sent,
// retries, latency{count, p50_ms, p90_ms, p99_ms, max_ms}, endpoints[{endpoint,
// requests, failures, ejections, ejected, bytes_sent}]}], model_frame_latency,
// end_to_end_latency}.
std::string ReportToJson(const RunReport& report);
// Readable lines of the same (endpoints listed for remote stages only).
std::string ReportToTable(const RunReport& report);

// "ref 5 (c:3 d:2!)": requests in flight at a stage tagged `tag`, and per
// endpoint when it has several ("!" marks an ejected endpoint).
std::string InFlightText(std::string_view tag, const models::StageStats& stats);

}  // namespace dnoscope::cascade
