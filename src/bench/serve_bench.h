// `dnoscope bench serve`: throughput and latency of the model server on
// loopback for (a) a trivial model (identity) and (b) the specialized CNN,
// over KServe JSON and the binary tensor extension, at several client
// concurrencies; plus the in-process OpenCV DNN throughput of the same CNN in
// the same run, so that serving overhead is a ratio, not an absolute number.
//
// The server (model manager, REST handler, HTTP server) runs in this process
// on 127.0.0.1 with an ephemeral port, against a scratch model repository;
// the closed-loop load generator shares the machine with it, as a client on
// the same host would.
//
// Thread-safety: RunServeBench blocks; call it from one thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

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
  // Scratch directory for the model repository (created; must be writable).
  std::string scratch_dir;
  // Progress lines ("trivial/binary c=16 ...") as cells finish; may be empty.
  std::function<void(const std::string&)> progress;
};

struct ServeBenchRow {
  std::string model;     // "trivial" or "specialized"
  std::string protocol;  // "json" or "binary"
  int concurrency = 0;
  double requests_per_second = 0;
  // Frames (batch items) per second; one per request here.
  double items_per_second = 0;
  double p50_ms = 0;
  double p90_ms = 0;
  double p99_ms = 0;
  int64_t requests = 0;
  int64_t errors = 0;
  std::string first_error;
};

struct ServeBenchResult {
  std::vector<ServeBenchRow> rows;
  // The CNN run in this process, batches of max_batch_size, one thread.
  double in_process_frames_per_second = 0;
  int in_process_batch = 0;
  // Best served CNN frames/s over the binary protocol, and its ratio to the
  // in-process figure (goal: >= 0.7).
  double served_binary_frames_per_second = 0;
  double served_over_in_process = 0;
  // Best trivial-model requests/s (goal: >= 10,000 on 2 cores).
  double trivial_requests_per_second = 0;
};

// Runs every cell. InvalidArgument for bad options; errors from building
// the repository, loading the models or starting the server.
absl::StatusOr<ServeBenchResult> RunServeBench(const ServeBenchOptions& options);

// A plain-text table with the goals and the measured ratios.
std::string FormatServeBench(const ServeBenchResult& result);
// One line per row, with a header.
std::string ServeBenchCsv(const ServeBenchResult& result);
// Every row and the summary figures.
std::string ServeBenchJson(const ServeBenchResult& result);

}  // namespace dnoscope::bench
