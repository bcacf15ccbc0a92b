// `dnoscope bench throughput`: the cascade with real models on a real clip.
// On frames [start, start + frames) of a clip from the shared data folder:
//
//  1. reference  Yolo-Fastest 1.1 (OpenCV DNN, in process) on every frame:
//                its labels are the truth, its frames/s the baseline;
//  2. training   a small specialized CNN (one architecture, a few epochs)
//                trained on the first `train_share` of the range from those
//                labels; c_low / c_high fitted on the validation split of
//                those frames so that at most fn_target of its positives
//                score <= c_low and at most fp_target of its negatives
//                score >= c_high;
//  3. local      cascade::Cascade on the rest of the range (the test part),
//                every model in process;
//  4. remote     cascade::Cascade with remote stages on the same frames, both models
//                served by one in-process server on 127.0.0.1.
//
// Each run reports frames/s, the share of frames each stage decided, FP and
// FN rates against the reference labels and the speedup over the reference
// on every frame.
//
// Thread-safety: RunThroughputBench blocks; call it from one thread (the
// training sets libtorch's process-wide thread count).
#pragma once

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "bench/scenario.h"

namespace dnoscope::bench {

struct ThroughputBenchOptions {
  // Shared data folder: videos/<clip> and models/yolo-fastest-1.1/.
  std::string data_dir = "../shared/data";
  std::string clip = "one-by-one-person-detection.mp4";
  // The queried COCO class.
  std::string object = "person";
  // Frames [start, start + frames) of the clip (cut at its end; the person
  // clip has 1394).
  int64_t start = 0;
  int64_t frames = 1400;
  // Share of the range the specialized model is trained on (the rest is
  // the test part the cascades run on).
  double train_share = 0.5;
  // Training epochs of the single candidate (2 conv layers, 16 filters,
  // 32 dense units, 50x50 input).
  int epochs = 5;
  // Threshold fit on the training frames (shares, 0..1).
  double fn_target = 0.02;
  double fp_target = 0.02;
  // Difference detector (global MSE at 100x100 against the last labeled
  // frame): a frame reuses a label when its MSE is at most this.
  double diff_threshold = 20;
};

// Table "throughput": one row per way of labeling ("reference": Yolo-Fastest
// on every frame of the range; "local" and "remote": the cascades on the
// test part) with frames/s, the frames each stage decided, FP and FN
// against the reference labels and the speedup over the reference; and
// "throughput_model" (the trained model and its thresholds).
// InvalidArgument for bad options; NotFound when the clip or Yolo-Fastest
// is missing from data_dir; errors of training, the servers or the runs.
absl::StatusOr<ScenarioResult> RunThroughputBench(const ThroughputBenchOptions& options,
                                                  const ScenarioEnv& env);

}  // namespace dnoscope::bench
