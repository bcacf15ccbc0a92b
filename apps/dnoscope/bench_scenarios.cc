// The options of each `dnoscope bench` scenario, registered on BenchCli.
#include <map>

#include "bench/ablation_bench.h"
#include "bench/distributed_bench.h"
#include "bench/edge_bench.h"
#include "bench/serve_bench.h"
#include "bench/stages_bench.h"
#include "bench/table1_bench.h"
#include "bench/streams_bench.h"
#include "bench/throughput_bench.h"
#include "bench_cli.h"

namespace dnoscope::app {
namespace {

const std::map<std::string, client::BalancePolicy> kPolicies = {
    {"random", client::BalancePolicy::kRandom},
    {"round-robin", client::BalancePolicy::kRoundRobin},
    {"p2c", client::BalancePolicy::kPowerOfTwo}};

std::string PolicyNames(const std::vector<client::BalancePolicy>& policies) {
  std::string names;
  for (client::BalancePolicy p : policies) {
    names += (names.empty() ? "" : ",") + std::string(client::BalancePolicyName(p));
  }
  return names;
}

void AddServe(BenchCli& cli) {
  cli.Add<bench::ServeBenchOptions>(
      "serve",
      "Model server throughput and p50/p90/p99 latency on loopback, trivial model vs the "
      "specialized CNN, KServe REST JSON vs binary vs gRPC, against client concurrency; "
      "compared with the CNN's in-process OpenCV DNN throughput in the same run",
      "Goals: the CNN served over the binary protocol >= 0.7x its in-process frames/s, over\n"
      "gRPC (one frame per request) >= 0.9x; the trivial model >= 10,000 requests/s.",
      bench::RunServeBench, [](CLI::App* sub, bench::ServeBenchOptions* o) {
        sub->add_option("--concurrency", o->concurrency,
                        "Outstanding requests (closed loop), one run per value")
            ->capture_default_str()
            ->delimiter(',');
        AddDuration(sub, "--duration-ms", &o->duration, "Measured time per run", 100, 600000);
        sub->add_option("--specialized-model", o->specialized_model,
                        "ONNX specialized model (UINT8 [N,H,W,3] -> FP32 [N,1]); default: "
                        "NoScope's CNN (2 conv x 32, dense 128, 50x50) with random weights");
        AddRanged(sub, "--max-batch-size", &o->max_batch_size,
                  "Dynamic batching: largest batch, and the in-process batch", 1, 1024);
        AddRanged(sub, "--max-queue-delay-us", &o->max_queue_delay_us,
                  "Dynamic batching: how long a request may wait for others", int64_t{0},
                  int64_t{1000000});
        AddRanged(sub, "--server-threads", &o->server_io_threads, "Server HTTP I/O threads", 1, 64);
        AddRanged(sub, "--client-threads", &o->client_io_threads, "Load generator I/O threads", 1,
                  64);
      });
}

void AddClient(BenchCli& cli) {
  cli.Add<bench::ClientBenchOptions>(
      "client", "Is the edge client the bottleneck? Cascade frames/s vs decode-only frames/s",
      "Decodes the video once alone (decode + difference resize, cascade::MeasureDecodeOnly),\n"
      "then runs the cascade over the same frames with both model stages remote and free: a\n"
      "label-replay classifier (specialized, 0 ms, client-batched; c_low 0.2, c_high 0.8, and\n"
      "--uncertain-share of the frames get confidence 0.5 so they go on) and a label-replay\n"
      "detector (reference, 0 ms), each on its own in-process server on 127.0.0.1; difference\n"
      "detector on with its default config; then decodes alone again. Reports both frames/s and\n"
      "their ratio (goal >= 0.8), the status shares and the requests, bytes and latency per\n"
      "stage. Without --video a synthetic scene is rendered first (a few seconds).",
      bench::RunClientBench, [](CLI::App* sub, bench::ClientBenchOptions* o) {
        sub->add_option("--video", o->video,
                        "Video file (default: a synthetic scene with exact labels; a given video "
                        "gets pseudo-random labels)");
        AddVideoSize(sub, &o->size, 0,
                     "Frames: the synthetic scene's length, or the first N of --video (0: all)");
        AddUncertainShare(sub, &o->uncertain_share,
                          "Share of frames the specialized stage is unsure about (sent to the "
                          "reference)");
        AddRanged(sub, "--spec-batch", &o->specialized_batch,
                  "Frames per specialized request (client-side batching)", 1, 64);
        AddDuration(sub, "--spec-batch-delay-us", &o->specialized_batch_delay,
                    "How long a partial specialized batch may wait for more frames", 0, 1000000);
        AddPayload(sub, &o->payload);
      });
}

void AddScaling(BenchCli& cli) {
  cli.Add<bench::ScalingBenchOptions>(
      "scaling", "Reference-stage speedup and efficiency over 1..8 replay servers vs the bound",
      "Reference-stage scaling (the seed's Table 1 / Figure 4 on one machine): N_S label-replay\n"
      "reference servers on 127.0.0.1, each serving one request at a time for --service-ms\n"
      "(T_sc); difference detector and specialized stage off, so each of the --frames frames of\n"
      "a synthetic video is a reference request (N_R = frames). For each N_S: wall time,\n"
      "frames/s, speedup over N_S = 1 and efficiency = speedup / N_S (goal >= 0.9), and wall\n"
      "time against the bound T_n + ceil(N_R / N_S) * T_sc, T_n being the measured mean round\n"
      "trip of GET /v2/health/ready (goal: within 10%).",
      bench::RunScalingBench, [](CLI::App* sub, bench::ScalingBenchOptions* o) {
        AddServerCounts(sub, &o->servers, "Reference server counts N_S, one run each");
        AddRanged(sub, "--service-ms", &o->service_ms, "Reference service time T_sc", 0.1, 60000.0);
        AddVideoSize(sub, &o->size, 1, "Frames N_R");
        AddClientLimits(sub, &o->max_in_flight_per_endpoint, &o->max_model_frames, 0,
                        "Frames in the model stages at once (0: 16 per server)");
        AddPayload(sub, &o->payload);
      });
}

void AddBalance(BenchCli& cli) {
  cli.Add<bench::BalanceBenchOptions>(
      "balance", "Reference latency p50/p90/p99 with one slow replica: random vs p2c balancing",
      "Load balancing with one slow replica: --servers label-replay reference servers on\n"
      "127.0.0.1, each serving one request at a time, the last one --slow-factor times slower\n"
      "than the others' --service-ms; every frame of a synthetic video goes to the reference.\n"
      "The same frames run once per --balance policy (random = the seed's choice, p2c = power of\n"
      "two choices by requests in flight); reports the reference request latency\n"
      "p50/p90/p99/max, wall time and requests per server. The per-server limit is high and the\n"
      "window shared, so the policy decides where requests go.",
      bench::RunBalanceBench, [](CLI::App* sub, bench::BalanceBenchOptions* o) {
        AddRanged(sub, "--servers", &o->servers, "Reference servers (the last is slow)", 2, 64);
        AddRanged(sub, "--slow-factor", &o->slow_factor,
                  "Service time of the slow server / that of the others", 1.0, 100.0);
        AddRanged(sub, "--service-ms", &o->service_ms, "Service time of the normal servers", 0.1,
                  60000.0);
        AddVideoSize(sub, &o->size, 1, "Frames (all go to the reference)");
        AddPolicies(sub, &o->policies, "Policies to compare: random, round-robin, p2c");
        AddClientLimits(sub, &o->max_in_flight_per_endpoint, &o->max_model_frames, 1,
                        "Frames in the model stages at once (the client's window)");
        AddPayload(sub, &o->payload);
      });
}

void AddTable1(BenchCli& cli) {
  cli.Add<bench::Table1Options>(
      "table1", "The seed's Table 1: total latency for N_F frames x N_S reference servers",
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
      "T_n, T_cq, T_sq, T_sc (see the notes under the table). Goals: every cell within 15% of\n"
      "the bound; at N_S = 8 every row <= 0.35x the seed. The default grid needs about 9-10\n"
      "minutes (the emulated reference time).",
      bench::RunTable1Bench, [](CLI::App* sub, bench::Table1Options* o) {
        AddTimeScale(sub, &o->time_scale, "Multiplies the seed's service time and network delay");
        sub->add_option("--rows", o->rows, "N_F values (rows of the seed's table)")
            ->capture_default_str()
            ->delimiter(',');
        AddServerCounts(sub, &o->servers, "N_S values");
        AddPolicy(sub, &o->policy, "How reference requests are spread: round-robin, p2c or random");
        AddRanged(sub, "--width", &o->width, "Synthetic video width", 16, 4096);
        AddRanged(sub, "--height", &o->height, "Synthetic video height", 16, 4096);
        AddPayload(sub, &o->payload);
      });
}

void AddStages(BenchCli& cli) {
  cli.Add<bench::StagesBenchOptions>(
      "stages", "Single-request latency p50/p99 of each stage, local and remote, vs the seed",
      "The seed's section 4.4.1 on this machine: one request at a time, p50/p99 of the\n"
      "difference detector (global MSE on 100x100, alone and with the resize from the frame),\n"
      "the specialized CNN (NoScope's, random weights, one 50x50 image), the reference (HOG, and\n"
      "Yolo-Fastest 1.1 from <data>/models/yolo-fastest-1.1 when present) on one full frame, in\n"
      "process and through a model server on 127.0.0.1, and the loopback round trip of GET\n"
      "/v2/health/ready; next to the seed's 0.013 s, 0.026 s, 4.26 s and 0.2 s. Frames come from\n"
      "<data>/videos/one-by-one-person-detection.mp4 when present, else a synthetic scene.",
      bench::RunStagesBench, [](CLI::App* sub, bench::StagesBenchOptions* o) {
        AddRanged(sub, "--repeats", &o->repeats, "Measured requests per measurement", 1, 1000000);
        AddDuration(sub, "--max-ms", &o->max_time_per_measurement,
                    "Longest time one measurement may take", 100, 3600000);
        sub->add_option("--data", o->data_dir, "Shared data folder (videos/, models/)")
            ->capture_default_str();
      });
}

void AddEdge(BenchCli& cli) {
  cli.Add<bench::EdgeBenchOptions>(
      "edge", "The seed's Figure 4: N frames on one node vs distributed, and the ratio",
      "The seed's Figure 4 (500 frames on a 2-CPU edge: 784 s on one node vs 142 s\n"
      "distributed, 5.52x) on this machine, everything in this process. The same frames of a\n"
      "synthetic video, the same models and thresholds (c_low 0.2, c_high 0.8), the real\n"
      "difference detector (global MSE, --diff-threshold) and the seed's per-request costs x\n"
      "--time-scale: specialized (label-replay classifier, --uncertain-share of the frames get\n"
      "c = 0.5 and go on) 0.026 s, reference (label-replay detector) 4.26 s.\n"
      "One node: every stage in this process, and the two model stages take turns on one node:\n"
      "one model request at a time, so their service times add up as on the seed's edge machine\n"
      "(decoding and the difference detector are real and overlap with them).\n"
      "Distributed: one specialized and --servers reference replay servers on 127.0.0.1 (one\n"
      "request at a time each), plus the seed's 0.2 s x --time-scale network per request,\n"
      "emulated in process on the client side (each reply reaches the cascade that much later).\n"
      "Reports both wall times, the ratio next to the seed's, the ideal ratio from the request\n"
      "counts and what limits it; checks both runs give the same rows. About 2 minutes at the\n"
      "defaults.",
      bench::RunEdgeBench, [](CLI::App* sub, bench::EdgeBenchOptions* o) {
        AddVideoSize(sub, &o->size, 1, "Frames (the seed's 500)");
        AddTimeScale(sub, &o->time_scale, "Multiplies the seed's model costs and network delay");
        AddRanged(sub, "--servers", &o->servers, "Reference servers of the distributed run", 1, 64);
        AddUncertainShare(sub, &o->uncertain_share,
                          "Share of frames the specialized model is unsure about");
        AddDiffThreshold(sub, &o->diff_threshold);
        AddRanged(sub, "--spec-batch", &o->specialized_batch,
                  "Frames per specialized request in the distributed run (1: as the seed)", 1, 64);
        AddPayload(sub, &o->payload);
      });
}

void AddAblations(BenchCli& cli) {
  cli.Add<bench::AblationOptions>(
      "ablations", "One small table per client feature: balancing, batching, payload, window",
      "Each table varies one thing of the distributed cascade (label-replay servers on\n"
      "127.0.0.1, no emulated delay, difference detector off, --uncertain-share of the frames to\n"
      "the reference) and keeps the rest fixed:\n"
      "  balance   random vs p2c; 4 reference servers of 20 ms, the last 60 ms\n"
      "  batching  specialized max_batch 1 (the seed) vs 8, 16 (2 or 20 ms max delay), one\n"
      "            request in flight; 2.6 ms per request. Last row: 1 frame per request, 64 in\n"
      "            flight, which the server merges itself\n"
      "  payload   reference frames raw vs JPEG q90 vs PNG (KServe binary) vs raw in KServe JSON\n"
      "  window    frames in the model stages 1, 4, 16, 64; then per-server in-flight 1, 4\n"
      "Columns: wall time, frames/s, and the requests, frames per request, MB sent, p50/p99\n"
      "request latency of the stage the table is about, and the end-to-end p99. About a minute\n"
      "in all.",
      bench::RunAblationBench, [](CLI::App* sub, bench::AblationOptions* o) {
        AddVideoSize(sub, &o->size, 1, "Frames per run");
        AddUncertainShare(sub, &o->uncertain_share, "Share of frames sent on to the reference");
        sub->add_option("--tables", o->tables, "Tables: balance, batching, payload, window")
            ->capture_default_str()
            ->delimiter(',')
            ->check(CLI::IsMember({"balance", "batching", "payload", "window"}));
      });
}

void AddThroughput(BenchCli& cli) {
  cli.Add<bench::ThroughputBenchOptions>(
      "throughput", "Real models on a real clip: frames/s, stage shares, FP/FN, local vs remote",
      "Yolo-Fastest 1.1 (from --data) labels every frame of --start/--frames of the clip: the\n"
      "truth and the baseline frames/s. A small specialized CNN (2 conv layers, 16 filters,\n"
      "32 dense units, --epochs) is trained on the first --train-share of the range and its\n"
      "c_low/c_high fitted on those frames (--fn-target, --fp-target). The cascade then runs\n"
      "on the rest of the range twice: locally (every model in process) and distributed (both\n"
      "models on one server on 127.0.0.1). Reports frames/s, the frames each stage decided,\n"
      "FP/FN against Yolo-Fastest and the speedup over it on every frame. About 25 s at the\n"
      "defaults on 2 cores.",
      bench::RunThroughputBench, [](CLI::App* sub, bench::ThroughputBenchOptions* o) {
        sub->add_option("--data", o->data_dir, "Shared data directory")->capture_default_str();
        sub->add_option("--clip", o->clip, "Clip under <data>/videos")->capture_default_str();
        sub->add_option("--object", o->object, "Queried COCO class (car for car-detection.mp4)")
            ->capture_default_str();
        AddRanged(sub, "--start", &o->start, "First frame", int64_t{0}, int64_t{100000000});
        AddRanged(sub, "--frames", &o->frames, "Frames of the range (training + test)",
                  int64_t{4}, int64_t{1000000});
        AddRanged(sub, "--train-share", &o->train_share, "Share of the range used for training",
                  0.01, 0.99);
        AddRanged(sub, "--epochs", &o->epochs, "Training epochs", 1, 200);
        AddRanged(sub, "--fn-target", &o->fn_target,
                  "Threshold fit: share of positives below c_low", 0.0, 0.99);
        AddRanged(sub, "--fp-target", &o->fp_target,
                  "Threshold fit: share of negatives above c_high", 0.0, 0.99);
        AddDiffThreshold(sub, &o->diff_threshold);
      });
}

void AddStreams(BenchCli& cli) {
  cli.Add<bench::StreamsBenchOptions>(
      "streams", "Many cameras through one client: aggregate frames/s vs decode-only, batching",
      "--streams synthetic scenes (--width x --height, --frames each) run together through one\n"
      "client process, as `dnoscope run --streams` runs them: one cascade per stream over one\n"
      "pair of shared remote stages (replay models with no service time on one server on\n"
      "127.0.0.1), so the client's own work sets the pace. Measures, in one run: the N inputs\n"
      "decoded at once (the limit), the N cascades with specialized requests merged across\n"
      "streams (--stream-batch, --stream-batch-delay-ms) and without. Reports aggregate\n"
      "frames/s, its ratio to decode-only (target >= 0.8) and frames per specialized request;\n"
      "checks both cascade runs write the same rows. About 30 s at the defaults on 2 cores.",
      bench::RunStreamsBench, [](CLI::App* sub, bench::StreamsBenchOptions* o) {
        AddRanged(sub, "--streams", &o->streams, "Streams run at once", 1, 256);
        AddVideoSize(sub, &o->size, 1, "Frames per stream");
        AddUncertainShare(sub, &o->uncertain_share,
                          "Share of frames the specialized model is unsure about");
        AddRanged(sub, "--stream-batch", &o->stream_batch,
                  "Specialized frames merged into one request across streams at most", 1, 4096);
        AddRanged(sub, "--stream-batch-delay-ms", &o->stream_batch_delay_ms,
                  "How long a specialized request waits for others to merge with", 0.0, 1000.0);
      });
}

}  // namespace

void AddVideoSize(CLI::App* sub, bench::VideoSize* size, int64_t min_frames,
                  const std::string& frames_help) {
  AddRanged(sub, "--frames", &size->frames, frames_help, min_frames, int64_t{1000000});
  AddRanged(sub, "--width", &size->width, "Synthetic video width", 16, 4096);
  AddRanged(sub, "--height", &size->height, "Synthetic video height", 16, 4096);
}

void AddTimeScale(CLI::App* sub, double* time_scale, const std::string& help) {
  AddRanged(sub, "--time-scale", time_scale, help, 0.0001, 100.0);
}

void AddUncertainShare(CLI::App* sub, double* share, const std::string& help) {
  AddRanged(sub, "--uncertain-share", share, help, 0.0, 1.0);
}

void AddDiffThreshold(CLI::App* sub, double* threshold) {
  AddRanged(sub, "--diff-threshold", threshold,
            "Difference detector: MSE at or below which a frame reuses a label", 0.0, 65025.0);
}

void AddServerCounts(CLI::App* sub, std::vector<int>* servers, const std::string& help) {
  sub->add_option("--servers", *servers, help)
      ->capture_default_str()
      ->delimiter(',')
      ->check(CLI::Range(1, 64));
}

void AddClientLimits(CLI::App* sub, int* max_in_flight, int* max_model_frames, int min_window,
                     const std::string& window_help) {
  AddRanged(sub, "--max-in-flight", max_in_flight,
            "Client limit of requests in flight per server", 1, 4096);
  AddRanged(sub, "--max-model-frames", max_model_frames, window_help, min_window, 65536);
}

void AddPayload(CLI::App* sub, cascade::PayloadFormat* payload) {
  const std::map<std::string, cascade::PayloadFormat> formats = {
      {"raw", cascade::PayloadFormat::kRaw},
      {"jpeg", cascade::PayloadFormat::kJpeg},
      {"png", cascade::PayloadFormat::kPng}};
  sub->add_option("--payload", *payload,
                  "How frames travel to the reference: raw, jpeg or png (the replay model ignores "
                  "the pixels; this sets the bytes on the wire)")
      ->transform(CLI::CheckedTransformer(formats))
      ->option_text("raw|jpeg|png (default " + std::string(cascade::PayloadFormatName(*payload)) +
                    ")");
}

void AddPolicy(CLI::App* sub, client::BalancePolicy* policy, const std::string& help) {
  sub->add_option("--balance", *policy, help)
      ->transform(CLI::CheckedTransformer(kPolicies))
      ->option_text("random|round-robin|p2c (default " + PolicyNames({*policy}) + ")");
}

void AddPolicies(CLI::App* sub, std::vector<client::BalancePolicy>* policies,
                 const std::string& help) {
  sub->add_option("--balance", *policies, help)
      ->delimiter(',')
      ->transform(CLI::CheckedTransformer(kPolicies))
      ->option_text("POLICY,... (default " + PolicyNames(*policies) + ")");
}

void AddBenchScenarios(BenchCli& cli) {
  AddServe(cli);
  AddClient(cli);
  AddScaling(cli);
  AddBalance(cli);
  AddTable1(cli);
  AddStages(cli);
  AddEdge(cli);
  AddAblations(cli);
  AddThroughput(cli);
  AddStreams(cli);
}

}  // namespace dnoscope::app
