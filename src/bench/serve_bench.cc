#include "bench/serve_bench.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <random>

#include "absl/status/status.h"
#include "client/grpc_transport.h"
#include "client/load_generator.h"
#include "common/file.h"
#include "common/status_macros.h"
#include "emulation/model_server.h"
#include "fmt/format.h"
#include "models/backends/identity.h"
#include "models/model_repository.h"
#include "protocol/kserve.h"
#include "train/onnx_export.h"
#include "train/trained_model.h"

namespace dnoscope::bench {
namespace {

constexpr char kTrivial[] = "trivial";
constexpr char kSpecialized[] = "specialized";
constexpr int kTrivialElements = 16;

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
absl::StatusOr<std::string> BuildRepository(const ServeBenchOptions& options,
                                            const std::string& scratch) {
  const std::string root = scratch + "/repo";
  std::error_code ec;  // a missing folder fails the model's load, which says why
  std::filesystem::create_directories(fmt::format("{}/{}/1", root, kTrivial), ec);
  DNS_RETURN_IF_ERROR(WriteFile(
      fmt::format("{}/{}/config.json", root, kTrivial),
      fmt::format(R"({{"backend": "identity", "max_batch_size": {}}})", options.max_batch_size)));
  DNS_RETURN_IF_ERROR(WriteFile(
      fmt::format("{}/{}/config.json", root, kSpecialized),
      fmt::format(R"({{"backend": "opencv_dnn", "kind": "classifier",
                      "files": {{"model": "model.onnx"}}, "max_batch_size": {},
                      "dynamic_batching": {{"max_queue_delay_us": {}}}}})",
                  options.max_batch_size, options.max_queue_delay_us)));
  DNS_ASSIGN_OR_RETURN(std::string onnx, SpecializedOnnx(options));
  DNS_RETURN_IF_ERROR(WriteFile(fmt::format("{}/{}/1/model.onnx", root, kSpecialized), onnx));
  return root;
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

// The one input each model gets: 16 FP32 for the trivial model, a random
// frame of the CNN's input size for the specialized one.
std::vector<std::pair<std::string, Tensor>> BenchInputs(const models::ModelMetadata& cnn) {
  std::vector<float> values(kTrivialElements);
  for (int i = 0; i < kTrivialElements; ++i) values[i] = 0.25f * i;
  const Tensor trivial = Tensor::Fp32(models::kIdentityInput, {1, kTrivialElements}, values);
  const std::vector<int64_t>& shape = cnn.inputs[0].shape;  // [-1,H,W,3]
  std::vector<uint8_t> pixels(static_cast<size_t>(shape[1] * shape[2] * 3));
  std::mt19937 rng(1);
  for (uint8_t& p : pixels) p = static_cast<uint8_t>(rng());
  const Tensor image =
      Tensor::Uint8(cnn.inputs[0].name, {1, shape[1], shape[2], 3}, pixels.data(), pixels.size());
  return {{kTrivial, trivial}, {kSpecialized, image}};
}

absl::StatusOr<std::vector<Workload>> MakeWorkloads(const models::ModelMetadata& cnn) {
  std::vector<Workload> workloads;
  for (const auto& [name, tensor] : BenchInputs(cnn)) {
    for (bool binary : {false, true}) {
      DNS_ASSIGN_OR_RETURN(Workload w, MakeWorkload(name, tensor, binary));
      workloads.push_back(std::move(w));
    }
  }
  return workloads;
}

Table ServeTable() {
  return {.name = "serve",
          .title = "one row per model, protocol and client concurrency (closed loop)",
          .columns = {{"model"}, {"protocol"}, {"concurrency"}, {"rate", "req/s", 0},
                      {"p50", "ms", 2}, {"p90", "ms", 2}, {"p99", "ms", 2}, {"requests"},
                      {"errors"}}};
}

// Adds the row of one cell to `table`; returns its requests/s.
double AddRow(const std::string& model, const std::string& protocol, int concurrency,
              const client::LoadResult& r, Table& table, const ScenarioEnv& env) {
  // Only successful requests count as throughput.
  const double rate = r.seconds > 0 ? (r.requests - r.errors) / r.seconds : 0;
  const double p50 = r.latency.Percentile(50) / 1000, p99 = r.latency.Percentile(99) / 1000;
  table.AddRow({model, protocol, int64_t{concurrency}, rate, p50,
                r.latency.Percentile(90) / 1000, p99, r.requests, r.errors});
  env.Progress(fmt::format("{}/{} c={}: {:.0f} req/s, p50 {:.2f} ms, p99 {:.2f} ms{}", model,
                           protocol, concurrency, rate, p50, p99,
                           r.errors ? fmt::format(", {} errors ({})", r.errors, r.first_error) : ""));
  return rate;
}

// Runs one REST cell and adds its row to `table`; returns the row's requests/s.
absl::StatusOr<double> RunCell(const ServeBenchOptions& options, const Workload& w,
                               const client::Endpoint& endpoint, int concurrency, Table& table,
                               const ScenarioEnv& env) {
  client::LoadOptions load;
  load.endpoint = endpoint;
  load.concurrency = concurrency;
  load.duration = options.duration;
  load.warmup = options.warmup;
  load.io_threads = options.client_io_threads;
  DNS_ASSIGN_OR_RETURN(client::LoadResult r,
                       client::RunClosedLoop(load, [&w](int64_t) { return w.call; }));
  return AddRow(w.model, w.protocol, concurrency, r, table, env);
}

// The same cell over KServe v2 gRPC (GrpcTransport, raw tensor contents).
absl::StatusOr<double> RunGrpcCell(const ServeBenchOptions& options, const std::string& model,
                                   const Tensor& input, const client::Endpoint& endpoint,
                                   int concurrency, Table& table, const ScenarioEnv& env) {
  client::LoadOptions load;
  load.concurrency = concurrency;
  load.duration = options.duration;
  load.warmup = options.warmup;
  DNS_ASSIGN_OR_RETURN(std::unique_ptr<client::GrpcTransport> transport,
                       client::GrpcTransport::Create({endpoint}));
  DNS_ASSIGN_OR_RETURN(std::shared_ptr<const client::PreparedCall> call,
                       transport->Prepare({.model = model, .inputs = {input}}));
  DNS_ASSIGN_OR_RETURN(client::LoadResult r, client::RunClosedLoop(load, *transport, call));
  return AddRow(model, "grpc", concurrency, r, table, env);
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
  if (o.duration.count() <= 0 || o.max_batch_size < 1) {
    return absl::InvalidArgumentError("duration and max_batch_size must be positive");
  }
  return absl::OkStatus();
}

// Best rate per (model, protocol) of `table`.
double Best(const Table& table, const std::string& model, const std::string& protocol) {
  double best = 0;
  for (size_t i = 0; i < table.rows.size(); ++i) {
    if (std::get<std::string>(table.rows[i][0]) == model &&
        (protocol.empty() || std::get<std::string>(table.rows[i][1]) == protocol)) {
      best = std::max(best, table.Number(i, "rate").value_or(0));
    }
  }
  return best;
}

Table ServeFigures(const Table& serve, double in_process, int batch) {
  const double served = Best(serve, kSpecialized, "binary");
  const double ratio = in_process > 0 ? served / in_process : 0;
  const double served_grpc = Best(serve, kSpecialized, "grpc");
  const double grpc_ratio = in_process > 0 ? served_grpc / in_process : 0;
  const double trivial = Best(serve, kTrivial, "");
  const double trivial_binary = Best(serve, kTrivial, "binary");
  const double trivial_grpc = Best(serve, kTrivial, "grpc");
  Table t = FigureTable("serve_figures", "the CNN served vs in process, and the trivial model");
  AddFigure(t, "cnn_in_process", in_process, "frames/s");
  AddFigure(t, "cnn_served_binary_best", served, "frames/s");
  AddFigure(t, "served_over_in_process", ratio, "", ">= 0.70", ratio >= 0.7);
  AddFigure(t, "cnn_served_grpc_best", served_grpc, "frames/s");
  AddFigure(t, "grpc_served_over_in_process", grpc_ratio, "", ">= 0.90", grpc_ratio >= 0.9);
  AddFigure(t, "trivial_best", trivial, "req/s", ">= 10000", trivial >= 10000);
  AddFigure(t, "trivial_grpc_over_rest_binary",
            trivial_binary > 0 ? trivial_grpc / trivial_binary : 0, "");
  t.notes.push_back(fmt::format(
      "cnn_in_process: OpenCV DNN in this process, batches of {}, one thread", batch));
  return t;
}

}  // namespace

absl::StatusOr<ScenarioResult> RunServeBench(const ServeBenchOptions& options,
                                             const ScenarioEnv& env) {
  DNS_RETURN_IF_ERROR(CheckOptions(options));
  DNS_ASSIGN_OR_RETURN(std::string repository, BuildRepository(options, env.scratch_dir));
  Table serve = ServeTable();
  {
    DNS_ASSIGN_OR_RETURN(auto server,
                         emulation::ModelServer::Start(
                             repository, {.io_threads = options.server_io_threads, .grpc = true}));
    DNS_ASSIGN_OR_RETURN(std::shared_ptr<const serving::ServedModel> cnn,
                         server->models().Find(kSpecialized));
    DNS_ASSIGN_OR_RETURN(std::shared_ptr<const serving::ServedVersion> version, cnn->Resolve(-1));
    DNS_ASSIGN_OR_RETURN(std::vector<Workload> workloads, MakeWorkloads(version->metadata));
    for (const Workload& w : workloads) {
      for (int concurrency : options.concurrency) {
        DNS_RETURN_IF_ERROR(
            RunCell(options, w, server->endpoint(), concurrency, serve, env).status());
      }
    }
    for (const auto& [model, input] : BenchInputs(version->metadata)) {
      for (int concurrency : options.concurrency) {
        DNS_RETURN_IF_ERROR(RunGrpcCell(options, model, input, server->grpc_endpoint(),
                                        concurrency, serve, env)
                                .status());
      }
    }
  }
  DNS_ASSIGN_OR_RETURN(const double in_process,
                       InProcessFramesPerSecond(repository, options.max_batch_size,
                                                options.duration));
  ScenarioResult r{.scenario = "serve", .title = "Model server on loopback"};
  r.setup = {fmt::format(
      "server and closed-loop client in this process on 127.0.0.1 ({} server and {} client I/O "
      "threads; gRPC: one HTTP/2 channel on gRPC's own threads), {} ms per cell after {} ms "
      "warm-up; trivial = identity model (16 FP32), "
      "specialized = the CNN (dynamic batching up to {}, {} us queue delay)",
      options.server_io_threads, options.client_io_threads, options.duration.count(),
      options.warmup.count(), options.max_batch_size, options.max_queue_delay_us)};
  r.tables = {serve, ServeFigures(serve, in_process, options.max_batch_size)};
  return r;
}

}  // namespace dnoscope::bench
