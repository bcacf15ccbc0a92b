// The workload of the replay scenarios: a video plus the two label CSVs
// that make a label-replay classifier and a label-replay detector
// (emulation/replay_fleet.h) behave like a trained specialized model and a
// reference detector on that video; and the cascade config, model specs
// and client options every replay scenario uses.
//
// Thread-safety: blocking functions (one call per directory) and pure ones.
#pragma once

#include <cstdint>
#include <functional>
#include <set>
#include <string>

#include "absl/status/statusor.h"
#include "cascade/cascade_config.h"
#include "client/load_balancer.h"
#include "client/remote_model.h"
#include "emulation/replay_fleet.h"

namespace dnoscope::bench {

// Repository names of the replay models and the queried object.
inline constexpr char kSpecializedModel[] = "spec";
inline constexpr char kReferenceModel[] = "ref";
inline constexpr char kObject[] = "person";

// A synthetic video's size and length.
struct VideoSize {
  int64_t frames = 0;
  int width = 0;
  int height = 0;
};

struct ReplayWorkloadOptions {
  // Video to use; empty: render a synthetic scene (video/synthetic.h).
  std::string video;
  // The synthetic scene's length and size; of a given video, the first
  // `frames` frames (0: all of it; needs a known frame count).
  VideoSize size{1500, 640, 360};
  // Share (0..1) of frames the replay classifier is unsure about (confidence
  // 0.5); the others get 0.95 when the reference finds the object, else 0.
  double uncertain_share = 0.25;
};

struct ReplayWorkload {
  std::string video;
  VideoSize size;
  bool synthetic = false;
  // Label CSV of the replay detector: the synthetic truth, or for a given
  // video a pseudo-random third of the frames with one centred box.
  std::string reference_labels;
  // Label CSV of the replay classifier (see uncertain_share).
  std::string classifier_labels;
  // Frames the reference labels mark positive.
  std::set<int64_t> positive;
  // Frames the classifier is unsure about.
  int64_t uncertain_frames = 0;
};

// Prepares the workload in `dir` (created). Errors: InvalidArgument for bad
// options or a video without a known frame count and frames == 0; the
// video's open/probe error; I/O errors writing the CSVs or the scene.
absl::StatusOr<ReplayWorkload> PrepareReplayWorkload(const ReplayWorkloadOptions& options,
                                                     const std::string& dir);

// Writes the replay classifier's label CSV for frames [0, frames) of `w`:
// confidence 0.5 for frames where `unsure(f)`, else 0.95 where the
// reference sees the object; frames with neither have no row. Returns how
// many frames are unsure. Errors: the CSV writer's.
absl::StatusOr<int64_t> WriteClassifierLabels(const std::string& path, const ReplayWorkload& w,
                                              int64_t frames,
                                              const std::function<bool(int64_t)>& unsure);

// The cascade over the replay models: object kObject, reference
// kReferenceModel; with `specialized` the replay classifier
// kSpecializedModel with c_low 0.2 and c_high 0.8, so that unsure frames
// (0.5) go on to the reference; the difference detector on or off.
cascade::CascadeConfig ReplayCascadeConfig(bool specialized, bool difference);

// The replay models of `w`: the classifier (batches up to max_batch_size
// merged by the server; 0: none) and the detector.
emulation::ReplayModelSpec ClassifierSpec(const ReplayWorkload& w, int max_batch_size);
emulation::ReplayModelSpec DetectorSpec(const ReplayWorkload& w);

// Client options for `model`: `policy` over the endpoints, at most
// `max_in_flight` requests at each.
client::RemoteModelOptions RemoteOptions(const std::string& model, client::BalancePolicy policy,
                                         int max_in_flight);

}  // namespace dnoscope::bench
