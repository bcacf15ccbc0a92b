// The cascade engine: frames -> difference detector -> specialized stage (if
// configured) -> reference stage for the frames still undecided, every
// decision made by the one CascadePolicy (policy.h). The model stages are
// models::ModelStage — in this process (models/local_stage.h, the embedded
// default) or on model servers (client/remote_model.h) — so local and
// distributed runs execute the same code and give the same rows. Stages are
// not owned and may be shared by several cascades running at once (streams);
// each Run() keeps its own state and withdraws its own requests when it
// stops, so a failed run leaves the stages usable.
//
// Threads of one Run(): the caller's thread decodes into a bounded queue; an
// edge thread pre-processes, runs the difference detector, batches
// specialized requests and submits them; a dispatch thread builds reference
// payloads (resize, JPEG/PNG) for the frames the specialized stage is unsure
// about; stage callbacks record verdicts; an emitter thread completes rows in
// frame order (the policy's label memory) and hands them to the caller. A
// frame the difference detector reused waits in the reorder window for its
// anchor's label. Two bounds keep memory flat for any video length:
// `max_window_frames` frames between decode and emit, and `max_model_frames`
// frames (which hold their full image) in the model stages. When either is
// full the edge thread blocks, the frame queue fills, and the decoder waits:
// back-pressure reaches decoding.
//
// Every frame of the range gets exactly one row, delivered in frame order.
// When a stage request fails for good (e.g. every endpoint down past the
// remote patience) the rows before the first unlabeled frame are all
// delivered and Run() returns the error naming that frame.
//
// Thread-safety: one Run() at a time per Cascade; report() and
// InFlightLine() may be called from any thread during a run (e.g. from the
// progress callback). Distinct Cascades may run at once over shared stages.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "cascade/cascade_config.h"
#include "cascade/client_batcher.h"
#include "cascade/drift.h"
#include "cascade/stage_requests.h"
#include "cascade/summary.h"
#include "common/clock.h"
#include "labels/prediction_csv.h"
#include "models/model_stage.h"
#include "video/frame_source.h"
#include "video/preprocess.h"

namespace dnoscope::cascade {

// Called once per frame, in frame order, from the emitter thread. A non-OK
// return stops the run with that status.
using ResultCallback = std::function<absl::Status(const labels::FrameResult&)>;
// Called from the emitter thread after each row with the summary so far.
using ProgressCallback = std::function<void(const CascadeSummary&)>;

// The model stages of a cascade; not owned, must outlive it.
struct Stages {
  // Required exactly when the config names a specialized model.
  models::ModelStage* specialized = nullptr;
  // Required.
  models::ModelStage* reference = nullptr;
};

struct CascadeOptions {
  // Decoded frames buffered before the edge thread.
  size_t queue_capacity = 16;
  // Frames decoded but not yet emitted (the reorder window).
  int max_window_frames = 1024;
  // Frames inside the model stages at once (each keeps its full image).
  int max_model_frames = 64;
  // Client-side batching of specialized requests (capped at the model's
  // max_batch_size).
  BatchingOptions specialized_batching;
  PayloadOptions reference_payload;
  // Interpolation for the cheap stages' resizes.
  video::Interpolation interpolation = video::Interpolation::kArea;
  // The accuracy audit (audit.h): off unless audit.rate > 0; needs a
  // reference stage. An audited row is emitted once its audit is back.
  AuditOptions audit;
  // The drift response (drift.h): off unless drift.mode is set; needs the
  // audit. Its targets are the config's drift.fp_target/fn_target (set
  // there by the optimizer or the command line; required), its level the
  // audit's, and a change decided at frame F applies from frame
  // F + max_window_frames.
  DriftOptions drift;
};

class Cascade {
 public:
  // Checks the config, the options and the stages' roles (models/signature.h:
  // the reference must be a detector reporting class names, the specialized
  // stage a classifier). `clock` is not owned. InvalidArgument naming what
  // is wrong; errors loading the difference detector's background image.
  static absl::StatusOr<std::unique_ptr<Cascade>> Create(const CascadeConfig& config,
                                                         const CascadeOptions& options,
                                                         Stages stages,
                                                         Clock* clock = Clock::Real());
  ~Cascade();

  // Runs over every frame `source` yields. On error the results delivered so
  // far are complete and in order; the status says what stopped the run.
  // May be called again (also after a failed run) for another video.
  absl::StatusOr<CascadeSummary> Run(video::FrameSource& source, const ResultCallback& on_result,
                                     const ProgressCallback& on_progress = {});

  // Per-stage requests, bytes and latencies of the current (or last) run.
  RunReport report() const;
  // "spec 3 (a:2 b:1) ref 5 (c:3 d:2)": requests in flight per stage.
  std::string InFlightLine() const;

 private:
  struct Shared;
  class RunState;
  explicit Cascade(std::unique_ptr<Shared> shared);
  std::unique_ptr<Shared> shared_;
};

// Decodes and pre-processes like Run() does (same range, sampling, ROI crop
// and difference-resolution resize) without running any stage; returns
// frames per second. Used as the physical limit to compare the cascade with.
absl::StatusOr<double> MeasureDecodeOnly(video::FrameSource& source, const CascadeConfig& config,
                                         const CascadeOptions& options, Clock* clock);

}  // namespace dnoscope::cascade
