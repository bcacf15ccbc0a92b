// `dnoscope bench stages`: single-request latency of each cascade stage on
// this machine, local (in this process) and remote (a model server in this
// process on 127.0.0.1, one request at a time), next to the seed's section
// 4.4.1 figures (0.013 s difference detector, 0.026 s specialized NN, 4.26 s
// reference NN, 0.2 s network):
//
//  difference   global MSE against the anchor on a 100x100 frame, alone and
//               with the resize from the video frame;
//  specialized  NoScope's CNN (2 conv x 32, dense 128, 50x50) with random
//               weights (costs what a trained one does), one 50x50 image;
//  reference    HOG people detector, and Yolo-Fastest 1.1 when its files
//               are present, on one full frame (raw pixels when remote);
//  network      GET /v2/health/ready round trip on loopback.
//
// Thread-safety: RunStagesBench blocks; call it from one thread.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "bench/scenario.h"

namespace dnoscope::bench {

struct StagesBenchOptions {
  // Measured requests per measurement (after 3 warm-up requests).
  int repeats = 200;
  // A measurement stops early after this long (slow reference models).
  std::chrono::milliseconds max_time_per_measurement{15000};
  // Shared data folder: frames come from videos/one-by-one-person-detection.mp4
  // (unreadable: synthetic 640x360 frames), Yolo-Fastest from
  // models/yolo-fastest-1.1/ (incomplete: skipped); a note says which.
  std::string data_dir = "../shared/data";
};

// Table "stages": one row per measurement (stage, model, where: local,
// remote or loopback; count, p50, p99, mean, the seed's figure and seed /
// p50). InvalidArgument for repeats < 1; errors writing the model
// repository, loading the models, starting the server or from a request.
absl::StatusOr<ScenarioResult> RunStagesBench(const StagesBenchOptions& options,
                                              const ScenarioEnv& env);

}  // namespace dnoscope::bench
