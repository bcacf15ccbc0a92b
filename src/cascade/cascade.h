// The local cascade: frames -> difference detector -> specialized model (if
// configured) -> reference detector for the frames still undecided. Every
// frame of the range gets exactly one FrameResult, delivered in frame order.
//
// Two threads: the caller's thread only decodes and feeds a bounded queue; a
// worker thread owned by Run() pre-processes (ROI crop, resize to each
// stage's resolution), runs the stages and emits results. Decoding, the
// physical limit of an edge client, thus overlaps everything else. Memory is
// bounded by the queue capacity whatever the video length.
//
// Thread-safety: a Cascade runs one video at a time; Run() is not reentrant.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "cascade/cascade_config.h"
#include "common/clock.h"
#include "detect/difference_detector.h"
#include "labels/prediction_csv.h"
#include "models/model.h"
#include "video/frame_source.h"
#include "video/preprocess.h"

namespace dnoscope::cascade {

struct StageSeconds {
  double decode = 0;      // FrameSource::Next (decode, grab)
  double preprocess = 0;  // ROI crop + resizes
  double difference = 0;
  // Time spent in the stage; for the distributed cascade, wall time during
  // which the stage had at least one request outstanding.
  double specialized = 0;
  double reference = 0;
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
};

// Called once per frame, in frame order, from the worker thread. A non-OK
// return stops the run with that status.
using ResultCallback = std::function<absl::Status(const labels::FrameResult&)>;
// Called from the worker thread after each frame with the summary so far.
using ProgressCallback = std::function<void(const CascadeSummary&)>;

struct CascadeOptions {
  // Frames buffered between the decoder and the stages.
  size_t queue_capacity = 16;
  // Interpolation for the cheap stages' resizes.
  video::Interpolation interpolation = video::Interpolation::kArea;
};

class Cascade {
 public:
  // `reference` is required; `specialized` may be null (stage disabled) and is
  // required when config.specialized_enabled(). `clock` is not owned and must
  // outlive the cascade. InvalidArgument for inconsistent configs, errors
  // loading the background image.
  static absl::StatusOr<std::unique_ptr<Cascade>> Create(const CascadeConfig& config,
                                                         const CascadeOptions& options,
                                                         std::unique_ptr<models::Model> specialized,
                                                         std::unique_ptr<models::Model> reference,
                                                         Clock* clock);

  // Runs over every frame `source` yields. On error the results delivered so
  // far are complete and in order; the status says what stopped the run.
  absl::StatusOr<CascadeSummary> Run(video::FrameSource& source, const ResultCallback& on_result,
                                     const ProgressCallback& on_progress = {});

  ~Cascade();

 private:
  class Worker;
  Cascade(CascadeConfig config, CascadeOptions options, std::unique_ptr<models::Model> specialized,
          std::unique_ptr<models::Model> reference,
          std::unique_ptr<detect::DifferenceDetector> diff, Clock* clock);

  CascadeConfig config_;
  CascadeOptions options_;
  std::unique_ptr<models::Model> specialized_;
  std::unique_ptr<models::Model> reference_;
  std::unique_ptr<detect::DifferenceDetector> diff_;
  Clock* clock_;
};

// Decodes and pre-processes like Run() does (same range, sampling, ROI crop
// and difference-resolution resize) without running any stage; returns
// frames per second. Used as the physical limit to compare the cascade with.
absl::StatusOr<double> MeasureDecodeOnly(video::FrameSource& source, const CascadeConfig& config,
                                         const CascadeOptions& options, Clock* clock);

// True when a reference detection counts as the queried object under `config`
// (class name, min confidence, box centre inside the ROI).
bool MatchesQuery(const models::BoxDetection& detection,
                  const std::vector<std::string>& class_names, const CascadeConfig& config);

}  // namespace dnoscope::cascade
