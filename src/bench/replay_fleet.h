// Building blocks of the distributed-cascade benchmarks: model servers that
// run label-replay models (emulated service time, answers from a label CSV)
// in this process on 127.0.0.1 with an ephemeral port, and the workload they
// replay: a video plus the two label CSVs that make the replay classifier
// and the replay detector behave like a trained specialized model and a
// reference detector on that video.
//
// Thread-safety: ReplayServer is safe to use from any thread once started;
// PrepareReplayWorkload is a blocking function (one call per directory).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "client/endpoint.h"

namespace dnoscope::bench {

// One replay model of a server's repository.
struct ReplayModelSpec {
  // Repository name, e.g. "ref".
  std::string name;
  // "detector" (detections FP32 [N,6]) or "classifier" (confidence FP32 [N,1]).
  std::string kind = "detector";
  // Absolute path of the NoScope label CSV it replays.
  std::string labels_file;
  // Emulated service time per request (per batch for a batched classifier).
  double service_time_ms = 0;
  // Only rows of this object are replayed.
  std::string object_name = "person";
  // Model instances, i.e. requests served at once (1: one at a time).
  int instance_count = 1;
  // Server-side dynamic batching (0: none).
  int max_batch_size = 0;
};

// A model server (model manager + REST handler + HTTP server) serving
// replay models from a scratch repository.
class ReplayServer {
 public:
  // Writes the repository under `dir` (created) and starts serving on
  // 127.0.0.1, port 0, with `io_threads` HTTP threads. Errors: Internal for
  // I/O failures; the model's load error when one is not READY; the HTTP
  // server's start error.
  static absl::StatusOr<std::unique_ptr<ReplayServer>> Start(
      const std::string& dir, const std::vector<ReplayModelSpec>& models, int io_threads = 1);
  // Stops the HTTP server, then the models.
  ~ReplayServer();
  ReplayServer(const ReplayServer&) = delete;
  ReplayServer& operator=(const ReplayServer&) = delete;

  client::Endpoint endpoint() const;

 private:
  struct Impl;
  explicit ReplayServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

struct ReplayWorkloadOptions {
  // Video to use; empty: render a synthetic scene (see video/synthetic.h).
  std::string video;
  // Frames to process: the synthetic scene's length, or the first `frames`
  // frames of `video` (0: all of it; needs a known frame count).
  int64_t frames = 1500;
  // Synthetic scene size.
  int width = 640;
  int height = 360;
  // Share (0..1) of frames the replay classifier is unsure about (confidence
  // 0.5); the others get 0.95 when the reference finds the object, else 0.
  double uncertain_share = 0.25;
  // Object name of both CSVs (and of the query).
  std::string object_name = "person";
};

struct ReplayWorkload {
  std::string video;
  int64_t frames = 0;
  int width = 0;
  int height = 0;
  bool synthetic = false;
  // Label CSV of the replay detector: the synthetic truth, or for a given
  // video a pseudo-random third of the frames with one centred box.
  std::string reference_labels;
  // Label CSV of the replay classifier (see uncertain_share).
  std::string classifier_labels;
  // Frames the reference labels mark positive, and frames the classifier is
  // unsure about.
  int64_t positive_frames = 0;
  int64_t uncertain_frames = 0;
};

// Prepares the workload in `dir` (created). Errors: InvalidArgument for bad
// options or a video without a known frame count and frames == 0; the
// video's open/probe error; I/O errors writing the CSVs or the scene.
absl::StatusOr<ReplayWorkload> PrepareReplayWorkload(const ReplayWorkloadOptions& options,
                                                     const std::string& dir);

}  // namespace dnoscope::bench
