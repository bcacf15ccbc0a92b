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
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "bench/distributed_bench.h"

namespace dnoscope::bench {

struct StagesBenchOptions {
  // Measured requests per measurement (after 3 warm-up requests).
  int repeats = 200;
  // A measurement stops early after this long (slow reference models).
  std::chrono::milliseconds max_time_per_measurement{15000};
  // Video whose frames are used; empty or unreadable: synthetic 640x360
  // frames (a note says so).
  std::string video;
  // Folder with yolo-fastest-1.1.cfg, yolo-fastest-1.1.weights and
  // coco.names; empty or incomplete: Yolo-Fastest is skipped (a note says so).
  std::string yolo_dir;
  std::string scratch_dir;
  BenchProgress progress;
};

struct StageLatencyRow {
  // "difference", "specialized", "reference" or "network".
  std::string stage;
  // What ran, e.g. "hog", "yolo-fastest-1.1", "MSE 100x100".
  std::string model;
  // "local" or "remote".
  std::string where;
  int64_t count = 0;
  double p50_ms = 0;
  double p99_ms = 0;
  double mean_ms = 0;
  // The seed's single-request latency for this stage, seconds.
  double seed_seconds = 0;
};

struct StagesBenchResult {
  // The video the frames came from, or "synthetic".
  std::string frame_source;
  int width = 0;
  int height = 0;
  std::vector<StageLatencyRow> rows;
  // Skipped measurements and fallbacks.
  std::vector<std::string> notes;
};

// InvalidArgument for repeats < 1 or no scratch_dir; errors writing the
// model repository, loading the models, starting the server or from a
// request.
absl::StatusOr<StagesBenchResult> RunStagesBench(const StagesBenchOptions& options);

std::string FormatStagesBench(const StagesBenchResult& result);
std::string StagesBenchCsv(const StagesBenchResult& result);
std::string StagesBenchJson(const StagesBenchResult& result);

}  // namespace dnoscope::bench
