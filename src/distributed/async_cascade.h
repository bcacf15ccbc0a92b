// The distributed cascade: the edge client keeps decoding and the difference
// detector, and sends the specialized and reference stages to ModelStages
// (replicated model servers, or local models) asynchronously.
//
// Threads: the caller's thread decodes into a bounded queue; an edge thread
// pre-processes, runs the difference detector, batches specialized requests
// and submits them; a dispatch thread builds reference payloads (resize,
// JPEG/PNG) for the frames the specialized stage is unsure about; stage
// callbacks record results; an emitter thread writes rows in frame order.
// A frame the difference detector reused waits in the reorder window for
// its anchor's label. Two bounds keep memory flat for any video length:
// `max_window_frames` frames between decode and emit, and
// `max_model_frames` frames (which hold their full image) in the model
// stages. When either is full the edge thread blocks, the frame queue
// fills, and the decoder waits: back-pressure reaches decoding.
//
// Rows are exactly those of the local cascade (cascade.h) for the same
// config and models: same decisions, same order, each frame once. When a
// stage request fails for good (e.g. every endpoint down past the remote
// patience) the rows before the first unlabeled frame are all delivered and
// Run() returns the error naming that frame.
//
// A cascade may Run() several videos in turn. A run that stops with
// requests still in a stage shuts the stages down (to cancel them), so
// create a new cascade after a failed run.
//
// Thread-safety: one Run() at a time; report() and InFlightLine() may be
// called from any thread during a run (e.g. from the progress callback).
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "cascade/cascade.h"
#include "cascade/cascade_config.h"
#include "common/clock.h"
#include "common/histogram.h"
#include "distributed/client_batcher.h"
#include "distributed/model_stage.h"
#include "distributed/payload.h"
#include "video/frame_source.h"

namespace dnoscope::distributed {

struct AsyncCascadeOptions {
  // Decoded frames buffered before the edge thread.
  size_t queue_capacity = 16;
  // Frames decoded but not yet emitted (the reorder window).
  int max_window_frames = 1024;
  // Frames inside the model stages at once (each keeps its full image).
  int max_model_frames = 64;
  BatchingOptions specialized_batching;
  PayloadOptions reference_payload;
  video::Interpolation interpolation = video::Interpolation::kArea;
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
  // Requests (batches for a batched specialized stage) and frames in them.
  int64_t requests = 0;
  int64_t frames = 0;
  int64_t bytes_sent = 0;
  // Request latency, submit to result.
  LatencySummary latency;
  StageStats stats;
};

struct DistributedReport {
  std::vector<StageReport> stages;
  // Decode to label known, over the frames the models labeled.
  LatencySummary model_frame_latency;
  // Decode to row emitted, over every frame.
  LatencySummary end_to_end_latency;
};

class AsyncCascade {
 public:
  // `reference` is required; `specialized` is required exactly when
  // config.specialized_enabled(). The stages are owned and shut down with
  // the cascade. `clock` is not owned. InvalidArgument for inconsistent
  // configs or options, errors loading the background image.
  static absl::StatusOr<std::unique_ptr<AsyncCascade>> Create(
      const cascade::CascadeConfig& config, const AsyncCascadeOptions& options,
      std::unique_ptr<ModelStage> specialized, std::unique_ptr<ModelStage> reference,
      Clock* clock = Clock::Real());
  ~AsyncCascade();

  // As cascade::Cascade::Run. The progress callback runs on the emitter
  // thread after each row.
  absl::StatusOr<cascade::CascadeSummary> Run(video::FrameSource& source,
                                              const cascade::ResultCallback& on_result,
                                              const cascade::ProgressCallback& on_progress = {});

  // Per-stage requests, bytes, latencies and endpoint counters so far.
  DistributedReport report() const;
  // "spec 3 (a:2 b:1) ref 5 (c:3 d:2)": requests in flight per stage and endpoint.
  std::string InFlightLine() const;

 private:
  struct Impl;
  explicit AsyncCascade(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Readable lines and JSON for the report (appended to the cascade summary).
std::string ReportToTable(const DistributedReport& report);
std::string ReportToJson(const DistributedReport& report);

}  // namespace dnoscope::distributed
