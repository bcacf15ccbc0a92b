// `dnoscope bench ablations`: what each client feature of the distributed
// cascade buys, one small table per feature, each varying one thing while
// the rest stays fixed. Everything runs in this process against label-replay
// servers on 127.0.0.1 (no emulated network delay: loopback only), over the
// first `frames` frames of a synthetic video; difference detector off, a
// remote zero-cost replay classifier sends `uncertain_share` of the frames
// on to the reference.
//
//  balance   random vs p2c with 4 reference servers, the last 3x slower;
//            shared window and a high per-server limit, so the policy
//            decides where requests go.
//  batching  client batching of the specialized stage: max_batch 1 (the
//            seed: one frame per request) vs 8 and 16, a partial batch
//            waiting 2 or 20 ms; the specialized server costs the seed's
//            0.026 s x 0.1 per request and gets one request at a time (else
//            it merges queued requests itself: the last row shows that).
//  payload   reference payload raw (KServe binary) vs JPEG q90 vs PNG vs raw
//            in KServe JSON; reference servers cost nothing, so the bytes and
//            the encoding set the pace.
//  window    CascadeOptions::max_model_frames 1, 4, 16, 64 (frames in
//            the model stages at once), then at 64 the per-server in-flight
//            limit (LoadBalancerOptions::max_in_flight_per_endpoint) 1 and 4.
//
// Thread-safety: RunAblationBench blocks; call it from one thread.
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "bench/scenario.h"
#include "bench/workload.h"

namespace dnoscope::bench {

struct AblationOptions {
  // The synthetic video each run processes (its size sets the reference
  // payload).
  VideoSize size{600, 640, 360};
  // Share of frames sent on to the reference.
  double uncertain_share = 0.5;
  // Which tables, in order: "balance", "batching", "payload", "window".
  std::vector<std::string> tables = {"balance", "batching", "payload", "window"};
};

// One table per ablation, "ablations_<name>": one row per variant with the
// wall time, frames/s and the requests, frames per request, MB sent and
// latency p50/p99 of the stage the ablation is about, and the end-to-end
// p99 (balance: also the requests of the slow server). InvalidArgument for
// bad options or an unknown table name; errors preparing the workload,
// starting the servers or from a run.
absl::StatusOr<ScenarioResult> RunAblationBench(const AblationOptions& options,
                                                const ScenarioEnv& env);

}  // namespace dnoscope::bench
