#include "bench/serve_bench.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <random>

#include "absl/status/status.h"
#include "client/load_generator.h"
#include "common/status_macros.h"
#include "fmt/format.h"
#include "models/backends/identity.h"
#include "models/model_repository.h"
#include "nlohmann/json.hpp"
#include "protocol/kserve.h"
#include "serving/http/server.h"
#include "serving/metrics.h"
#include "serving/inference_service.h"
#include "serving/model_manager.h"
#include "serving/rest/rest_handler.h"
#include "train/onnx_export.h"
#include "train/trained_model.h"

namespace dnoscope::bench {
namespace {

namespace fs = std::filesystem;

constexpr char kTrivial[] = "trivial";
constexpr char kSpecialized[] = "specialized";
constexpr int kTrivialElements = 16;

absl::Status WriteText(const fs::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  if (!out) return absl::InternalError(fmt::format("cannot write '{}'", path.string()));
  return absl::OkStatus();
}

absl::StatusOr<std::string> SpecializedOnnx(const ServeBenchOptions& options) {
  if (options.specialized_model.empty()) {
    return train::ExportOnnx(train::RandomTrainedModel({2, 32, 128}, 50, 50, /*seed=*/7));
  }
  std::ifstream in(options.specialized_model, std::ios::binary);
  if (!in) {
    return absl::NotFoundError(
        fmt::format("specialized model '{}' not found", options.specialized_model));
  }
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// <scratch>/repo with "trivial" (identity FP32) and "specialized" (the CNN).
absl::StatusOr<std::string> BuildRepository(const ServeBenchOptions& options) {
  const fs::path root = fs::path(options.scratch_dir) / "repo";
  std::error_code ec;
  fs::create_directories(root / kTrivial / "1", ec);
  fs::create_directories(root / kSpecialized / "1", ec);
  if (ec) return absl::InternalError(fmt::format("cannot create '{}': {}", root.string(), ec.message()));
  const std::string batching = fmt::format(
      R"("max_batch_size": {}, "dynamic_batching": {{"max_queue_delay_us": {}}})",
      options.max_batch_size, options.max_queue_delay_us);
  DNS_RETURN_IF_ERROR(WriteText(root / kTrivial / "config.json",
                                fmt::format(R"({{"backend": "identity", "max_batch_size": {}}})",
                                            options.max_batch_size)));
  DNS_RETURN_IF_ERROR(WriteText(
      root / kSpecialized / "config.json",
      fmt::format(R"({{"backend": "opencv_dnn", "kind": "classifier",
                      "files": {{"model": "model.onnx"}}, {}}})",
                  batching)));
  DNS_ASSIGN_OR_RETURN(std::string onnx, SpecializedOnnx(options));
  DNS_RETURN_IF_ERROR(WriteText(root / kSpecialized / "1" / "model.onnx", onnx));
  return root.string();
}

// One request body per (model, protocol), sent unchanged every time.
struct Workload {
  std::string model;
  std::string protocol;
  client::HttpCall call;
};

absl::StatusOr<Workload> MakeWorkload(const std::string& model, const Tensor& input, bool binary) {
  protocol::InferRequest request;
  request.inputs.push_back(input);
  request.binary_data_output = binary;
  DNS_ASSIGN_OR_RETURN(protocol::EncodedMessage message,
                       protocol::EncodeInferRequest(request, binary));
  Workload w{model, binary ? "binary" : "json", {}};
  w.call.target = fmt::format("/v2/models/{}/infer", model);
  w.call.body = std::move(message.body);
  if (message.json_length) {
    w.call.content_type = "application/octet-stream";
    w.call.headers.emplace_back("Inference-Header-Content-Length",
                                std::to_string(*message.json_length));
  }
  return w;
}

absl::StatusOr<std::vector<Workload>> MakeWorkloads(const models::ModelMetadata& cnn) {
  std::vector<float> values(kTrivialElements);
  for (int i = 0; i < kTrivialElements; ++i) values[i] = 0.25f * i;
  const Tensor trivial = Tensor::Fp32(models::kIdentityInput, {1, kTrivialElements}, values);
  const std::vector<int64_t>& shape = cnn.inputs[0].shape;  // [-1,H,W,3]
  std::vector<uint8_t> pixels(static_cast<size_t>(shape[1] * shape[2] * 3));
  std::mt19937 rng(1);
  for (uint8_t& p : pixels) p = static_cast<uint8_t>(rng());
  const Tensor image =
      Tensor::Uint8(cnn.inputs[0].name, {1, shape[1], shape[2], 3}, pixels.data(), pixels.size());
  std::vector<Workload> workloads;
  for (const auto& [name, tensor] : {std::pair{kTrivial, &trivial}, {kSpecialized, &image}}) {
    for (bool binary : {false, true}) {
      DNS_ASSIGN_OR_RETURN(Workload w, MakeWorkload(name, *tensor, binary));
      workloads.push_back(std::move(w));
    }
  }
  return workloads;
}

absl::StatusOr<ServeBenchRow> RunCell(const ServeBenchOptions& options, const Workload& w,
                                      int port, int concurrency) {
  client::LoadOptions load;
  load.endpoint = {"127.0.0.1", port};
  load.concurrency = concurrency;
  load.duration = options.duration;
  load.warmup = options.warmup;
  load.io_threads = options.client_io_threads;
  DNS_ASSIGN_OR_RETURN(client::LoadResult r,
                       client::RunClosedLoop(load, [&w](int64_t) { return w.call; }));
  ServeBenchRow row;
  row.model = w.model;
  row.protocol = w.protocol;
  row.concurrency = concurrency;
  row.requests = r.requests;
  row.errors = r.errors;
  row.first_error = r.first_error;
  // Only successful requests count as throughput.
  row.requests_per_second = r.seconds > 0 ? (r.requests - r.errors) / r.seconds : 0;
  row.items_per_second = row.requests_per_second;
  row.p50_ms = r.latency.Percentile(50) / 1000;
  row.p90_ms = r.latency.Percentile(90) / 1000;
  row.p99_ms = r.latency.Percentile(99) / 1000;
  return row;
}

// The CNN in this process: batches of `batch` frames for `duration`.
absl::StatusOr<double> InProcessFramesPerSecond(const std::string& repository, int batch,
                                                std::chrono::milliseconds duration) {
  DNS_ASSIGN_OR_RETURN(std::unique_ptr<models::ModelRepository> repo,
                       models::ModelRepository::Open(repository));
  DNS_ASSIGN_OR_RETURN(std::unique_ptr<models::Model> model, repo->Load(kSpecialized));
  const std::vector<int64_t>& shape = model->metadata().inputs[0].shape;
  std::vector<cv::Mat> frames;
  cv::RNG rng(3);
  for (int i = 0; i < batch; ++i) {
    cv::Mat frame(static_cast<int>(shape[1]), static_cast<int>(shape[2]), CV_8UC3);
    rng.fill(frame, cv::RNG::UNIFORM, 0, 256);
    frames.push_back(frame);
  }
  DNS_RETURN_IF_ERROR(models::Classify(*model, frames).status());  // warm-up
  const auto start = std::chrono::steady_clock::now();
  int64_t done = 0;
  while (std::chrono::steady_clock::now() - start < duration) {
    DNS_RETURN_IF_ERROR(models::Classify(*model, frames).status());
    done += batch;
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return done / seconds;
}

absl::Status CheckOptions(const ServeBenchOptions& o) {
  if (o.concurrency.empty() ||
      std::any_of(o.concurrency.begin(), o.concurrency.end(), [](int c) { return c < 1; })) {
    return absl::InvalidArgumentError("concurrency levels must be >= 1");
  }
  if (o.duration.count() <= 0 || o.scratch_dir.empty() || o.max_batch_size < 1) {
    return absl::InvalidArgumentError("duration, scratch_dir and max_batch_size must be set");
  }
  return absl::OkStatus();
}

void Summarize(ServeBenchResult& result) {
  for (const ServeBenchRow& row : result.rows) {
    if (row.model == kSpecialized && row.protocol == "binary") {
      result.served_binary_frames_per_second =
          std::max(result.served_binary_frames_per_second, row.items_per_second);
    }
    if (row.model == kTrivial) {
      result.trivial_requests_per_second =
          std::max(result.trivial_requests_per_second, row.requests_per_second);
    }
  }
  if (result.in_process_frames_per_second > 0) {
    result.served_over_in_process =
        result.served_binary_frames_per_second / result.in_process_frames_per_second;
  }
}

}  // namespace

absl::StatusOr<ServeBenchResult> RunServeBench(const ServeBenchOptions& options) {
  DNS_RETURN_IF_ERROR(CheckOptions(options));
  DNS_ASSIGN_OR_RETURN(std::string repository, BuildRepository(options));
  serving::MetricsRegistry metrics;
  serving::ModelManagerOptions manager_options;
  DNS_ASSIGN_OR_RETURN(std::unique_ptr<serving::ModelManager> models,
                       serving::ModelManager::Create(repository, manager_options, &metrics));
  DNS_ASSIGN_OR_RETURN(const serving::ServedModel* cnn, models->Find(kSpecialized));
  DNS_ASSIGN_OR_RETURN(const serving::ServedVersion* cnn_version, cnn->Resolve(-1));
  DNS_ASSIGN_OR_RETURN(std::vector<Workload> workloads, MakeWorkloads(cnn_version->metadata));
  DNS_ASSIGN_OR_RETURN(std::unique_ptr<serving::InferenceService> service,
                       serving::InferenceService::Create({}, models.get()));
  serving::rest::RestHandler handler(service.get());
  serving::http::HttpServerOptions http;
  http.port = 0;
  http.io_threads = options.server_io_threads;
  DNS_ASSIGN_OR_RETURN(
      std::unique_ptr<serving::http::HttpServer> server,
      serving::http::HttpServer::Start(http, [&handler](serving::http::HttpRequest request,
                                                        serving::http::Responder respond) {
        handler.Handle(std::move(request), std::move(respond));
      }));
  ServeBenchResult result;
  for (const Workload& w : workloads) {
    for (int concurrency : options.concurrency) {
      DNS_ASSIGN_OR_RETURN(ServeBenchRow row, RunCell(options, w, server->port(), concurrency));
      if (options.progress) {
        options.progress(fmt::format("{}/{} c={}: {:.0f} req/s, p50 {:.2f} ms, p99 {:.2f} ms{}",
                                     row.model, row.protocol, concurrency,
                                     row.requests_per_second, row.p50_ms, row.p99_ms,
                                     row.errors ? fmt::format(", {} errors ({})", row.errors,
                                                              row.first_error)
                                                : ""));
      }
      result.rows.push_back(std::move(row));
    }
  }
  server->Shutdown();
  models->Shutdown();
  result.in_process_batch = options.max_batch_size;
  DNS_ASSIGN_OR_RETURN(result.in_process_frames_per_second,
                       InProcessFramesPerSecond(repository, options.max_batch_size,
                                                options.duration));
  Summarize(result);
  return result;
}

std::string FormatServeBench(const ServeBenchResult& result) {
  std::string out = fmt::format("{:<12} {:<7} {:>5} {:>10} {:>9} {:>9} {:>9} {:>7}\n", "model",
                                "proto", "conc", "req/s", "p50 ms", "p90 ms", "p99 ms", "errors");
  for (const ServeBenchRow& r : result.rows) {
    out += fmt::format("{:<12} {:<7} {:>5} {:>10.0f} {:>9.2f} {:>9.2f} {:>9.2f} {:>7}\n", r.model,
                       r.protocol, r.concurrency, r.requests_per_second, r.p50_ms, r.p90_ms,
                       r.p99_ms, r.errors);
  }
  out += fmt::format(
      "\nspecialized CNN in process (OpenCV DNN, batch {}): {:.0f} frames/s\n"
      "specialized CNN served, binary protocol, best:   {:.0f} frames/s = {:.2f}x in-process "
      "(goal >= 0.70x)\n"
      "trivial model served, best:                      {:.0f} requests/s (goal >= 10,000)\n",
      result.in_process_batch, result.in_process_frames_per_second,
      result.served_binary_frames_per_second, result.served_over_in_process,
      result.trivial_requests_per_second);
  return out;
}

std::string ServeBenchCsv(const ServeBenchResult& result) {
  std::string out = "model,protocol,concurrency,requests_per_second,p50_ms,p90_ms,p99_ms,requests,errors\n";
  for (const ServeBenchRow& r : result.rows) {
    out += fmt::format("{},{},{},{:.1f},{:.3f},{:.3f},{:.3f},{},{}\n", r.model, r.protocol,
                       r.concurrency, r.requests_per_second, r.p50_ms, r.p90_ms, r.p99_ms,
                       r.requests, r.errors);
  }
  return out;
}

std::string ServeBenchJson(const ServeBenchResult& result) {
  nlohmann::ordered_json rows = nlohmann::ordered_json::array();
  for (const ServeBenchRow& r : result.rows) {
    rows.push_back({{"model", r.model}, {"protocol", r.protocol}, {"concurrency", r.concurrency},
                    {"requests_per_second", r.requests_per_second}, {"p50_ms", r.p50_ms},
                    {"p90_ms", r.p90_ms}, {"p99_ms", r.p99_ms}, {"requests", r.requests},
                    {"errors", r.errors}});
  }
  nlohmann::ordered_json j = {
      {"rows", rows},
      {"in_process_frames_per_second", result.in_process_frames_per_second},
      {"in_process_batch", result.in_process_batch},
      {"served_binary_frames_per_second", result.served_binary_frames_per_second},
      {"served_over_in_process", result.served_over_in_process},
      {"trivial_requests_per_second", result.trivial_requests_per_second}};
  return j.dump(2) + "\n";
}

}  // namespace dnoscope::bench
