// `dnoscope bench <scenario>`: reproducible performance experiments. Each
// scenario prints a table and, with --out, writes CSV and JSON files.
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <thread>

#include "bench/distributed_bench.h"
#include "bench/serve_bench.h"
#include "bench/stages_bench.h"
#include "bench/table1_bench.h"
#include "bench_common.h"
#include "bench_more_command.h"
#include "commands.h"
#include "common/status_macros.h"
#include "fmt/format.h"
#include "spdlog/spdlog.h"

#ifndef DNS_BUILD_TYPE
#define DNS_BUILD_TYPE "unknown"
#endif

namespace dnoscope::app {
namespace {

using namespace benchcli;  // NOLINT: the scenario helpers

struct BenchServeArgs {
  bench::ServeBenchOptions options;
  int64_t duration_ms = 3000;
  std::string out;
};

absl::Status RunBenchServe(BenchServeArgs& args) {
  args.options.duration = std::chrono::milliseconds(args.duration_ms);
  return RunScenario(args.options, bench::RunServeBench, args.out, kServeOutput);
}

struct BenchClientArgs {
  bench::ClientBenchOptions options;
  int64_t batch_delay_us = 2000;
  std::string out;
};

struct BenchScalingArgs {
  bench::ScalingBenchOptions options;
  std::string out;
};

struct BenchBalanceArgs {
  bench::BalanceBenchOptions options;
  std::vector<std::string> policies = {"random", "p2c"};
  std::string out;
};

struct BenchTable1Args {
  bench::Table1Options options;
  std::string policy = "round-robin";
  std::string out;
};

struct BenchStagesArgs {
  bench::StagesBenchOptions options;
  int64_t max_ms = 15000;
  std::string data = "../shared/data";
  std::string out;
};

absl::Status RunBenchClient(BenchClientArgs& args) {
  args.options.specialized_batch_delay = std::chrono::microseconds(args.batch_delay_us);
  return RunScenario(args.options, bench::RunClientBench, args.out, kClientOutput);
}

absl::Status RunBenchScaling(BenchScalingArgs& args) {
  return RunScenario(args.options, bench::RunScalingBench, args.out, kScalingOutput);
}

absl::Status RunBenchBalance(BenchBalanceArgs& args) {
  args.options.policies.clear();
  for (const std::string& name : args.policies) {
    DNS_ASSIGN_OR_RETURN(client::BalancePolicy policy, client::ParseBalancePolicy(name));
    args.options.policies.push_back(policy);
  }
  return RunScenario(args.options, bench::RunBalanceBench, args.out, kBalanceOutput);
}

absl::Status RunBenchTable1(BenchTable1Args& args) {
  DNS_ASSIGN_OR_RETURN(args.options.policy, client::ParseBalancePolicy(args.policy));
  return RunScenario(args.options, bench::RunTable1Bench, args.out, kTable1Output);
}

absl::Status RunBenchStages(BenchStagesArgs& args) {
  const std::filesystem::path data(args.data);
  args.options.video = (data / "videos" / "one-by-one-person-detection.mp4").string();
  args.options.yolo_dir = (data / "models" / "yolo-fastest-1.1").string();
  args.options.max_time_per_measurement = std::chrono::milliseconds(args.max_ms);
  return RunScenario(args.options, bench::RunStagesBench, args.out, kStagesOutput);
}

CLI::App* AddServe(CLI::App* app, BenchServeArgs* args) {
  CLI::App* serve = app->add_subcommand(
      "serve",
      "Model server throughput and p50/p90/p99 latency on loopback, trivial model vs the "
      "specialized CNN, KServe JSON vs binary, against client concurrency; compared with the "
      "CNN's in-process OpenCV DNN throughput in the same run");
  serve
      ->add_option("--concurrency", args->options.concurrency,
                   "Outstanding requests (closed loop), one run per value")
      ->capture_default_str()
      ->delimiter(',');
  serve->add_option("--duration-ms", args->duration_ms, "Measured time per run")
      ->capture_default_str()
      ->check(CLI::Range(100, 600000));
  serve->add_option("--specialized-model", args->options.specialized_model,
                    "ONNX specialized model (UINT8 [N,H,W,3] -> FP32 [N,1]); default: NoScope's "
                    "CNN (2 conv x 32, dense 128, 50x50) with random weights");
  serve
      ->add_option("--max-batch-size", args->options.max_batch_size,
                   "Dynamic batching: largest batch, and the in-process batch")
      ->capture_default_str()
      ->check(CLI::Range(1, 1024));
  serve
      ->add_option("--max-queue-delay-us", args->options.max_queue_delay_us,
                   "Dynamic batching: how long a request may wait for others")
      ->capture_default_str()
      ->check(CLI::Range(int64_t{0}, int64_t{1000000}));
  serve->add_option("--server-threads", args->options.server_io_threads, "Server HTTP I/O threads")
      ->capture_default_str()
      ->check(CLI::Range(1, 64));
  serve
      ->add_option("--client-threads", args->options.client_io_threads,
                   "Load generator I/O threads")
      ->capture_default_str()
      ->check(CLI::Range(1, 64));
  serve->add_option("--out", args->out, "Directory for serve.csv and serve.json");
  return serve;
}

void AddPayloadOption(CLI::App* sub, std::string* payload) {
  sub->add_option("--payload", *payload,
                  "How frames travel to the reference: raw, jpeg or png (the replay model "
                  "ignores the pixels; this sets the bytes on the wire)")
      ->capture_default_str()
      ->check(CLI::IsMember({"raw", "jpeg", "png"}));
}

CLI::App* AddClient(CLI::App* app, BenchClientArgs* args) {
  CLI::App* sub = app->add_subcommand(
      "client", "Is the edge client the bottleneck? Cascade frames/s vs decode-only frames/s");
  sub->footer(
      "Decodes the video once alone (decode + difference resize, cascade::MeasureDecodeOnly),\n"
      "then runs the distributed cascade over the same frames with both model stages remote and\n"
      "free: a label-replay classifier (specialized, 0 ms, client-batched; c_low 0.2, c_high\n"
      "0.8, and --uncertain-share of the frames get confidence 0.5 so they go on) and a\n"
      "label-replay detector (reference, 0 ms, raw frames), each on its own in-process server on\n"
      "127.0.0.1; difference detector on with its default config. Reports both frames/s and\n"
      "their ratio (goal >= 0.8), the status shares and the requests, frames, bytes and latency\n"
      "per stage. Without --video a synthetic 640x360 scene is rendered first (a few seconds).\n"
      "Writes client.csv and client.json with --out");
  sub->add_option("--video", args->options.video,
                  "Video file (default: a synthetic scene with exact labels; a given video gets "
                  "pseudo-random labels)");
  sub->add_option("--frames", args->options.frames,
                  "Frames: the synthetic scene's length, or the first N of --video (0: all)")
      ->capture_default_str()
      ->check(CLI::Range(int64_t{0}, int64_t{1000000}));
  sub->add_option("--uncertain-share", args->options.uncertain_share,
                  "Share of frames the specialized stage is unsure about (sent to the reference)")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 1.0));
  sub->add_option("--spec-batch", args->options.specialized_batch,
                  "Frames per specialized request (client-side batching)")
      ->capture_default_str()
      ->check(CLI::Range(1, 64));
  sub->add_option("--spec-batch-delay-us", args->batch_delay_us,
                  "How long a partial specialized batch may wait for more frames")
      ->capture_default_str()
      ->check(CLI::Range(int64_t{0}, int64_t{1000000}));
  AddPayloadOption(sub, &args->options.payload);
  sub->add_option("--out", args->out, "Directory for client.csv and client.json");
  return sub;
}

CLI::App* AddScaling(CLI::App* app, BenchScalingArgs* args) {
  CLI::App* sub = app->add_subcommand(
      "scaling", "Reference-stage speedup and efficiency over 1..8 replay servers vs the bound");
  sub->footer(
      "Reference-stage scaling (the seed's Table 1 / Figure 4 on one machine): N_S label-replay\n"
      "reference servers on 127.0.0.1, each serving one request at a time for --service-ms\n"
      "(T_sc); difference detector and specialized stage off, so each of the --frames frames of\n"
      "a synthetic 320x180 video is a reference request (N_R = frames). For each N_S: wall\n"
      "time, frames/s, speedup over N_S = 1 and efficiency = speedup / N_S (goal >= 0.9), and\n"
      "wall time against the bound T_n + ceil(N_R / N_S) * T_sc, T_n being the measured mean\n"
      "round trip of GET /v2/health/ready (goal: within 10%). Writes scaling.csv and\n"
      "scaling.json with --out");
  sub->add_option("--servers", args->options.servers, "Reference server counts N_S, one run each")
      ->capture_default_str()
      ->delimiter(',')
      ->check(CLI::Range(1, 64));
  sub->add_option("--service-ms", args->options.service_ms, "Reference service time T_sc")
      ->capture_default_str()
      ->check(CLI::Range(0.1, 60000.0));
  sub->add_option("--frames", args->options.frames, "Frames N_R")
      ->capture_default_str()
      ->check(CLI::Range(int64_t{1}, int64_t{1000000}));
  sub->add_option("--max-in-flight", args->options.max_in_flight_per_endpoint,
                  "Client limit of requests in flight per server")
      ->capture_default_str()
      ->check(CLI::Range(1, 4096));
  sub->add_option("--max-model-frames", args->options.max_model_frames,
                  "Frames in the model stages at once (0: 16 per server)")
      ->capture_default_str()
      ->check(CLI::Range(0, 65536));
  AddPayloadOption(sub, &args->options.payload);
  sub->add_option("--out", args->out, "Directory for scaling.csv and scaling.json");
  return sub;
}

CLI::App* AddBalance(CLI::App* app, BenchBalanceArgs* args) {
  CLI::App* sub = app->add_subcommand(
      "balance", "Reference latency p50/p90/p99 with one slow replica: random vs p2c balancing");
  sub->footer(
      "Load balancing with one slow replica: --servers label-replay reference servers on\n"
      "127.0.0.1, each serving one request at a time, the last one --slow-factor times slower\n"
      "than the others' --service-ms; every frame of a synthetic 320x180 video goes to the\n"
      "reference. The same frames run once per --balance policy (random = the seed's choice,\n"
      "p2c = power of two choices by requests in flight); reports the reference request latency\n"
      "p50/p90/p99/max, wall time and requests per server. The per-server limit is high and the\n"
      "window shared, so the policy decides where requests go. Writes balance.csv and\n"
      "balance.json with --out");
  sub->add_option("--servers", args->options.servers, "Reference servers (the last is slow)")
      ->capture_default_str()
      ->check(CLI::Range(2, 64));
  sub->add_option("--slow-factor", args->options.slow_factor,
                  "Service time of the slow server / that of the others")
      ->capture_default_str()
      ->check(CLI::Range(1.0, 100.0));
  sub->add_option("--service-ms", args->options.service_ms, "Service time of the normal servers")
      ->capture_default_str()
      ->check(CLI::Range(0.1, 60000.0));
  sub->add_option("--frames", args->options.frames, "Frames (all go to the reference)")
      ->capture_default_str()
      ->check(CLI::Range(int64_t{1}, int64_t{1000000}));
  sub->add_option("--balance", args->policies, "Policies to compare: random, round-robin, p2c")
      ->capture_default_str()
      ->delimiter(',');
  sub->add_option("--max-in-flight", args->options.max_in_flight_per_endpoint,
                  "Client limit of requests in flight per server")
      ->capture_default_str()
      ->check(CLI::Range(1, 4096));
  sub->add_option("--max-model-frames", args->options.max_model_frames,
                  "Frames in the model stages at once (the client's window)")
      ->capture_default_str()
      ->check(CLI::Range(1, 65536));
  AddPayloadOption(sub, &args->options.payload);
  sub->add_option("--out", args->out, "Directory for balance.csv and balance.json");
  return sub;
}

CLI::App* AddTable1(CLI::App* app, BenchTable1Args* args) {
  CLI::App* sub = app->add_subcommand(
      "table1", "The seed's Table 1: total latency for N_F frames x N_S reference servers");
  sub->footer(
      "The seed's Table 1 (N_F = 50..5000 frames, N_R of them to the reference, N_S = 1..8\n"
      "reference servers) on this machine, everything in this process on 127.0.0.1. Reference:\n"
      "N_S label-replay servers, one request at a time each, T_sc = 2.97 s x --time-scale (the\n"
      "seed's N_S = 1 column: 569 requests in 1692 s). Network: the seed's 0.2 s x --time-scale\n"
      "per request, emulated in process on the client side (every reference reply reaches the\n"
      "cascade that much later; the server is free meanwhile), plus the real loopback round\n"
      "trip. Frames: the first N_F frames of a synthetic video, decoded for real; difference\n"
      "detector off; a local zero-cost replay classifier is unsure about exactly N_R frames,\n"
      "spread evenly, which go to the reference. Per cell: measured wall time, the seed's value\n"
      "x --time-scale, the bound T_n + ceil(N_R/N_S) x T_sc, their ratios and the decomposition\n"
      "T_n, T_cq, T_sq, T_sc (see the legend under the table). Goals: every cell within 15% of\n"
      "the bound; at N_S = 8 every row <= 0.35x the seed. The default grid needs about 9-10\n"
      "minutes (the emulated reference time). Writes table1.csv and table1.json with --out");
  sub->add_option("--time-scale", args->options.time_scale,
                  "Multiplies the seed's service time and network delay")
      ->capture_default_str()
      ->check(CLI::Range(0.0001, 100.0));
  sub->add_option("--rows", args->options.rows, "N_F values (rows of the seed's table)")
      ->capture_default_str()
      ->delimiter(',');
  sub->add_option("--servers", args->options.servers, "N_S values")
      ->capture_default_str()
      ->delimiter(',')
      ->check(CLI::Range(1, 64));
  sub->add_option("--balance", args->policy,
                  "How reference requests are spread: round-robin, p2c or random")
      ->capture_default_str();
  sub->add_option("--width", args->options.width, "Synthetic video width")
      ->capture_default_str()
      ->check(CLI::Range(16, 4096));
  sub->add_option("--height", args->options.height, "Synthetic video height")
      ->capture_default_str()
      ->check(CLI::Range(16, 4096));
  AddPayloadOption(sub, &args->options.payload);
  sub->add_option("--out", args->out, "Directory for table1.csv and table1.json");
  return sub;
}

CLI::App* AddStages(CLI::App* app, BenchStagesArgs* args) {
  CLI::App* sub = app->add_subcommand(
      "stages", "Single-request latency p50/p99 of each stage, local and remote, vs the seed");
  sub->footer(
      "The seed's section 4.4.1 on this machine: one request at a time, p50/p99 of the\n"
      "difference detector (global MSE on 100x100, alone and with the resize from the frame),\n"
      "the specialized CNN (NoScope's, random weights, one 50x50 image), the reference (HOG, and\n"
      "Yolo-Fastest 1.1 from <data>/models/yolo-fastest-1.1 when present) on one full frame, in\n"
      "process and through a model server on 127.0.0.1, and the loopback round trip of GET\n"
      "/v2/health/ready; next to the seed's 0.013 s, 0.026 s, 4.26 s and 0.2 s. Frames come from\n"
      "<data>/videos/one-by-one-person-detection.mp4 when present, else a synthetic scene.\n"
      "Writes stages.csv and stages.json with --out");
  sub->add_option("--repeats", args->options.repeats, "Measured requests per measurement")
      ->capture_default_str()
      ->check(CLI::Range(1, 1000000));
  sub->add_option("--max-ms", args->max_ms, "Longest time one measurement may take")
      ->capture_default_str()
      ->check(CLI::Range(int64_t{100}, int64_t{3600000}));
  sub->add_option("--data", args->data, "Shared data folder (videos/, models/)")
      ->capture_default_str();
  sub->add_option("--out", args->out, "Directory for stages.csv and stages.json");
  return sub;
}

}  // namespace

Command AddBenchCommand(CLI::App& root) {
  CLI::App* app = root.add_subcommand("bench", "Performance experiments (see --help of each)");
  app->require_subcommand(1);
  auto serve_args = std::make_shared<BenchServeArgs>();
  auto client_args = std::make_shared<BenchClientArgs>();
  auto scaling_args = std::make_shared<BenchScalingArgs>();
  auto balance_args = std::make_shared<BenchBalanceArgs>();
  auto table1_args = std::make_shared<BenchTable1Args>();
  auto stages_args = std::make_shared<BenchStagesArgs>();
  CLI::App* serve = AddServe(app, serve_args.get());
  CLI::App* client = AddClient(app, client_args.get());
  CLI::App* scaling = AddScaling(app, scaling_args.get());
  CLI::App* balance = AddBalance(app, balance_args.get());
  CLI::App* table1 = AddTable1(app, table1_args.get());
  CLI::App* stages = AddStages(app, stages_args.get());
  const std::function<absl::Status()> run_more = AddBenchMoreScenarios(app);
  return {
      app, [=] {
        if (serve->parsed()) return RunBenchServe(*serve_args);
        if (client->parsed()) return RunBenchClient(*client_args);
        if (scaling->parsed()) return RunBenchScaling(*scaling_args);
        if (balance->parsed()) return RunBenchBalance(*balance_args);
        if (table1->parsed()) return RunBenchTable1(*table1_args);
        if (stages->parsed()) return RunBenchStages(*stages_args);
        return run_more();
      }};
}

}  // namespace dnoscope::app
