// MultiStreamRun: N streams (cameras, videos) through one process. Each
// stream is one cascade::Cascade over the SAME model stages (one
// ModelStage per stage for the process: one load balancer and in-flight
// budget per server, and — with a models::BatchingStage as the specialized
// stage — specialized requests merged across streams), run on its own
// threads, with its own policy state, reorder window and output. A stream's
// rows are exactly those a single-stream run of it writes.
//
// Fairness: streams never wait for each other. Each has its own decoder,
// edge, dispatch and emitter threads; at a shared stage, requests wait in
// submission order (normal priority first), and each stream has at most
// CascadeOptions::max_model_frames frames in the stages, so a fast stream
// cannot take a stage's whole in-flight budget and a slow or stalled one
// (its source blocks, its sink is slow) holds at most its own share.
//
// Memory: per stream at most queue_capacity + max_model_frames full frames
// and max_window_frames rows in the reorder window (cascade.h); in total N
// times that, N fixed by the streams file.
//
// Failures: a stream whose source, sink or stages fail ends with that
// error (its rows before the failure are written); the others go on.
//
// Seams for per-stream pieces: StreamIo opens each stream's frame source
// (where decorators such as pacing or reconnection wrap it) and its row
// sink (where more sinks than the CSV plug in), once per stream, before
// any stream starts.
//
// Thread-safety: Run() once, from one thread; Statuses() from any thread.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "cascade/cascade.h"
#include "cascade/cascade_config.h"
#include "cascade/summary.h"
#include "common/clock.h"
#include "labels/prediction_csv.h"
#include "video/frame_source.h"

namespace dnoscope::streams {

// One stream, fully resolved: the cascade config after every override and
// the source options (range, sampling).
struct StreamPlan {
  std::string name;
  cascade::CascadeConfig config;
  video::FrameSourceOptions source;
  // Prediction CSV path ("-": stdout).
  std::string out;
};

// Where a stream's rows go, in frame order, from the stream's emitter thread.
class RowSink {
 public:
  virtual ~RowSink() = default;
  virtual absl::Status Write(const labels::FrameResult& row) = 0;
  // Flushes; called once after the stream's last row (also on failure).
  virtual absl::Status Close() = 0;
};

// The prediction CSV at `path` (what `dnoscope run --out` writes).
// `audit_column`: the CSV has the accuracy audit's "audited" column.
absl::StatusOr<std::unique_ptr<RowSink>> OpenCsvSink(const std::string& path,
                                                     bool audit_column = false);

struct StreamIo {
  // Default (when empty): video::OpenFrameSource(plan.source).
  std::function<absl::StatusOr<std::unique_ptr<video::FrameSource>>(const StreamPlan&)>
      open_source;
  // Default (when empty): OpenCsvSink(plan.out), with the audit column when
  // the run audits.
  std::function<absl::StatusOr<std::unique_ptr<RowSink>>(const StreamPlan&)> open_sink;
};

// A stream's figures while it runs.
struct StreamStatus {
  std::string name;
  int64_t frames = 0;
  // Rows per second since the stream started.
  double frames_per_second = 0;
  // How far behind the wall clock a live stream is; unset for files (and
  // until a live source reports it).
  std::optional<double> lateness_ms;
  bool finished = false;
  bool failed = false;
};

struct StreamOutcome {
  std::string name;
  // OK, or what ended the stream early.
  absl::Status status;
  // The run's summary; for a failed stream, the rows written before the
  // failure (wall_seconds and frames_per_second filled in both cases).
  cascade::CascadeSummary summary;
  cascade::RunReport report;
  video::VideoInfo video;
};

struct MultiStreamSummary {
  std::vector<StreamOutcome> streams;
  double wall_seconds = 0;
  // Over every stream.
  int64_t frames = 0;
  double frames_per_second = 0;
  int failed_streams = 0;
};

class MultiStreamRun {
 public:
  // Builds one cascade per plan over `stages` (not owned; must outlive the
  // run) and opens every source and sink through `io`. The first error,
  // prefixed with the stream's name; nothing has run then. `clock` is not
  // owned.
  static absl::StatusOr<std::unique_ptr<MultiStreamRun>> Create(std::vector<StreamPlan> plans,
                                                                cascade::Stages stages,
                                                                const cascade::CascadeOptions& options,
                                                                StreamIo io = {},
                                                                Clock* clock = Clock::Real());
  ~MultiStreamRun();

  // Runs every stream on its own thread and returns when all ended. While
  // they run, calls `on_tick` on the caller's thread every `tick_period`
  // (e.g. to draw progress from Statuses()).
  MultiStreamSummary Run(const std::function<void()>& on_tick = {},
                         std::chrono::milliseconds tick_period = std::chrono::milliseconds(250));

  // Per-stream figures so far, in plan order.
  std::vector<StreamStatus> Statuses() const;

 private:
  struct Stream;
  MultiStreamRun(std::vector<std::unique_ptr<Stream>> streams, Clock* clock);
  void RunStream(Stream& s);

  std::vector<std::unique_ptr<Stream>> streams_;
  Clock* clock_;
};

// "gate 812 f 41.0 f/s late - | yard 640 f 32.5 f/s late - | all 73.5 f/s".
std::string ProgressLine(const std::vector<StreamStatus>& statuses);

// JSON {"streams": [{"name", "status": "ok"|"failed", "error"?, ...
// cascade::SummaryToJson fields..., "stages": cascade::ReportToJson}],
// "aggregate": {"streams", "failed_streams", "frames", "wall_seconds",
// "frames_per_second", "status_counts"{...}}}.
std::string MultiStreamSummaryToJson(const MultiStreamSummary& summary);
// A readable table: one line per stream, then the aggregate.
std::string MultiStreamSummaryToTable(const MultiStreamSummary& summary);

}  // namespace dnoscope::streams
