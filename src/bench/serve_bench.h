// `dnoscope bench serve`: throughput and latency of the model server on
// loopback for (a) a trivial model (identity) and (b) the specialized CNN,
// over KServe JSON and the binary tensor extension, at several client
// concurrencies; plus the in-process OpenCV DNN throughput of the same CNN in
// the same run, so that serving overhead is a ratio, not an absolute number.
//
// The server (emulation::ModelServer) runs in this process on 127.0.0.1
// with an ephemeral port, against a scratch model repository;
// the closed-loop load generator shares the machine with it, as a client on
// the same host would.
//
// Thread-safety: RunServeBench blocks; call it from one thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "bench/scenario.h"

namespace dnoscope::bench {

struct ServeBenchOptions {
  // Outstanding requests the load generator keeps (one connection each).
  std::vector<int> concurrency = {1, 4, 16, 64};
  // Measured window per cell, after `warmup`.
  std::chrono::milliseconds duration{3000};
  std::chrono::milliseconds warmup{500};
  // Server HTTP I/O threads and client I/O threads.
  int server_io_threads = 2;
  int client_io_threads = 1;
  // Specialized model: an ONNX classifier UINT8 [N,H,W,3] -> FP32 [N,1];
  // empty: NoScope's default CNN (2 conv x 32 filters, dense 128, 50x50)
  // with random weights, which costs what a trained one does.
  std::string specialized_model;
  // Dynamic batching of the served CNN (and of the identity model).
  int max_batch_size = 64;
  int64_t max_queue_delay_us = 500;
};

// Tables: "serve" (one row per model, protocol and concurrency: requests/s,
// latency p50/p90/p99, requests, errors) and "serve_figures" (the CNN in
// process and served, their ratio and the trivial model's best rate, with
// the goals). InvalidArgument for bad options; errors from building the
// repository, loading the models or starting the server.
absl::StatusOr<ScenarioResult> RunServeBench(const ServeBenchOptions& options,
                                             const ScenarioEnv& env);

}  // namespace dnoscope::bench
