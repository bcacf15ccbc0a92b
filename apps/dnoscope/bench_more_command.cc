// `dnoscope bench edge|ablations|throughput`: the seed's Figure 4 (one node vs
// distributed), one table per client feature of the distributed cascade, and
// real models on a real clip.
#include "bench_more_command.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <thread>

#include "bench_common.h"
#include "bench/ablation_bench.h"
#include "bench/edge_bench.h"
#include "bench/throughput_bench.h"
#include "common/status_macros.h"
#include "fmt/format.h"
#include "fmt/ranges.h"
#include "spdlog/spdlog.h"

#ifndef DNS_BUILD_TYPE
#define DNS_BUILD_TYPE "unknown"
#endif

namespace dnoscope::app {
namespace {

using namespace benchcli;  // NOLINT: the scenario helpers

struct BenchEdgeArgs {
  bench::EdgeBenchOptions options;
  std::string out;
};

struct BenchAblationArgs {
  bench::AblationOptions options;
  std::string out;
};

struct BenchThroughputArgs {
  bench::ThroughputBenchOptions options;
  std::string out;
};

inline const ScenarioOutput<bench::ThroughputBenchResult> kThroughputOutput{
    "throughput", bench::FormatThroughputBench, bench::ThroughputBenchCsv,
    bench::ThroughputBenchJson, bench::AddThroughputSection};

absl::Status RunBenchEdge(BenchEdgeArgs& args) {
  return RunScenario(args.options, bench::RunEdgeBench, args.out, kEdgeOutput);
}

absl::Status RunBenchAblations(BenchAblationArgs& args) {
  return RunScenario(args.options, bench::RunAblationBench, args.out, kAblationOutput);
}

absl::Status RunBenchThroughput(BenchThroughputArgs& args) {
  return RunScenario(args.options, bench::RunThroughputBench, args.out, kThroughputOutput);
}

CLI::App* AddEdge(CLI::App* bench, BenchEdgeArgs* args) {
  CLI::App* sub = bench->add_subcommand(
      "edge", "The seed's Figure 4: N frames on one node vs distributed, and the ratio");
  sub->footer(
      "The seed's Figure 4 (500 frames on a 2-CPU edge: 784 s on one node vs 142 s\n"
      "distributed, 5.52x) on this machine, everything in this process. The same frames of a\n"
      "synthetic video, the same models and thresholds (c_low 0.2, c_high 0.8), the real\n"
      "difference detector (global MSE, --diff-threshold) and the seed's per-request costs x\n"
      "--time-scale: specialized (label-replay classifier, --uncertain-share of the frames get\n"
      "c = 0.5 and go on) 0.026 s, reference (label-replay detector) 4.26 s. One node: the local\n"
      "cascade, every stage in process and in series. Distributed: the AsyncCascade with one\n"
      "specialized and --servers reference replay servers on 127.0.0.1 (one request at a time\n"
      "each), plus the seed's 0.2 s x --time-scale network per request, emulated in process on\n"
      "the client side (each reply reaches the cascade that much later). Reports both wall\n"
      "times, the ratio next to the seed's, the ideal ratio from the request counts and what\n"
      "limits it; checks both runs give the same rows. About 2 minutes at the defaults.\n"
      "Writes edge.csv and edge.json with --out");
  sub->add_option("--frames", args->options.frames, "Frames (the seed's 500)")
      ->capture_default_str()
      ->check(CLI::Range(int64_t{1}, int64_t{1000000}));
  sub->add_option("--time-scale", args->options.time_scale,
                  "Multiplies the seed's model costs and network delay")
      ->capture_default_str()
      ->check(CLI::Range(0.0001, 100.0));
  sub->add_option("--servers", args->options.servers, "Reference servers of the distributed run")
      ->capture_default_str()
      ->check(CLI::Range(1, 64));
  sub->add_option("--uncertain-share", args->options.uncertain_share,
                  "Share of frames the specialized model is unsure about")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 1.0));
  sub->add_option("--diff-threshold", args->options.diff_threshold,
                  "Difference detector: MSE at or below which a frame reuses a label")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 65025.0));
  sub->add_option("--spec-batch", args->options.specialized_batch,
                  "Frames per specialized request in the distributed run (1: as the seed)")
      ->capture_default_str()
      ->check(CLI::Range(1, 64));
  sub->add_option("--payload", args->options.payload, "Reference payload: raw, jpeg or png")
      ->capture_default_str()
      ->check(CLI::IsMember({"raw", "jpeg", "png"}));
  sub->add_option("--out", args->out, "Directory for edge.csv and edge.json");
  return sub;
}

CLI::App* AddAblations(CLI::App* bench, BenchAblationArgs* args) {
  CLI::App* sub = bench->add_subcommand(
      "ablations", "One small table per client feature: balancing, batching, payload, window");
  sub->footer(
      "Each table varies one thing of the distributed cascade (AsyncCascade, label-replay\n"
      "servers on 127.0.0.1, no emulated delay, difference detector off, --uncertain-share of\n"
      "the frames to the reference) and keeps the rest fixed:\n"
      "  balance   random vs p2c; 4 reference servers of 20 ms, the last 60 ms\n"
      "  batching  specialized max_batch 1 (the seed) vs 8, 16 (2 or 20 ms max delay), one\n"
      "            request in flight; 2.6 ms per request. Last row: 1 frame per request, 64 in\n"
      "            flight, which the server merges itself\n"
      "  payload   reference frames raw vs JPEG q90 vs PNG (KServe binary) vs raw in KServe JSON\n"
      "  window    frames in the model stages 1, 4, 16, 64; then per-server in-flight 1, 4\n"
      "Columns: wall time, frames/s, and the requests, frames per request, MB sent, p50/p99\n"
      "request latency of the stage the table is about, and the end-to-end p99. About a\n"
      "minute in all. Writes ablations.csv and ablations.json with --out");
  sub->add_option("--frames", args->options.frames, "Frames per run")
      ->capture_default_str()
      ->check(CLI::Range(int64_t{1}, int64_t{1000000}));
  sub->add_option("--width", args->options.width, "Synthetic video width")
      ->capture_default_str()
      ->check(CLI::Range(16, 4096));
  sub->add_option("--height", args->options.height, "Synthetic video height")
      ->capture_default_str()
      ->check(CLI::Range(16, 4096));
  sub->add_option("--uncertain-share", args->options.uncertain_share,
                  "Share of frames sent on to the reference")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 1.0));
  sub->add_option("--tables", args->options.tables, "Tables: balance, batching, payload, window")
      ->capture_default_str()
      ->delimiter(',')
      ->check(CLI::IsMember({"balance", "batching", "payload", "window"}));
  sub->add_option("--out", args->out, "Directory for ablations.csv and ablations.json");
  return sub;
}

CLI::App* AddThroughput(CLI::App* bench, BenchThroughputArgs* args) {
  CLI::App* sub = bench->add_subcommand(
      "throughput", "Real models on a real clip: frames/s, stage shares, FP/FN, local vs remote");
  sub->footer(
      "Yolo-Fastest 1.1 (from --data) labels every frame of --start/--frames of the clip: the\n"
      "truth and the baseline frames/s. A small specialized CNN (2 conv layers, 16 filters,\n"
      "32 dense units, --epochs) is trained on the first --train-share of the range and its\n"
      "c_low/c_high fitted on those frames (--fn-target, --fp-target). The cascade then runs\n"
      "on the rest of the range twice: locally (every model in process) and distributed (both\n"
      "models on one server on 127.0.0.1). Reports frames/s, the share of frames each stage\n"
      "decided, FP/FN against Yolo-Fastest and the speedup over it on every frame. About 25 s\n"
      "at the defaults on 2 cores. Writes throughput.csv and throughput.json with --out");
  bench::ThroughputBenchOptions& o = args->options;
  sub->add_option("--data", o.data_dir, "Shared data directory")->capture_default_str();
  sub->add_option("--clip", o.clip, "Clip under <data>/videos")->capture_default_str();
  sub->add_option("--object", o.object, "Queried COCO class (car for car-detection.mp4)")
      ->capture_default_str();
  sub->add_option("--start", o.start, "First frame")
      ->capture_default_str()
      ->check(CLI::Range(int64_t{0}, int64_t{100000000}));
  sub->add_option("--frames", o.frames, "Frames of the range (training + test)")
      ->capture_default_str()
      ->check(CLI::Range(int64_t{4}, int64_t{1000000}));
  sub->add_option("--train-share", o.train_share, "Share of the range used for training")
      ->capture_default_str()
      ->check(CLI::Range(0.01, 0.99));
  sub->add_option("--epochs", o.epochs, "Training epochs")
      ->capture_default_str()
      ->check(CLI::Range(1, 200));
  sub->add_option("--fn-target", o.fn_target, "Threshold fit: share of positives below c_low")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 0.99));
  sub->add_option("--fp-target", o.fp_target, "Threshold fit: share of negatives above c_high")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 0.99));
  sub->add_option("--diff-threshold", o.diff_threshold,
                  "Difference detector: MSE at or below which a frame reuses a label")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 65025.0));
  sub->add_option("--out", args->out, "Directory for throughput.csv and throughput.json");
  return sub;
}

struct BenchAllArgs {
  double time_scale = 0.1;
  std::string data = "../shared/data";
  std::vector<std::string> skip;
  std::string out;
};

// Runs one scenario of `bench all`: its files and its REPORT.md section; a
// failure is reported in REPORT.md and remembered, and the next scenario runs.
template <typename Options, typename Result>
void RunInto(const BenchAllArgs& args, bench::ReportBuilder* report,
             std::vector<std::string>* failures, Options options,
             absl::StatusOr<Result> (*run)(const Options&), const ScenarioOutput<Result>& output) {
  const std::string& name = output.name;
  if (std::find(args.skip.begin(), args.skip.end(), name) != args.skip.end()) return;
  absl::Status status = RunScenario(std::move(options), run, args.out, output, report);
  if (!status.ok()) {
    failures->push_back(fmt::format("{}: {}", name, std::string(status.message())));
    report->AddSection(name + " (failed)", std::string(status.message()) + "\n");
  }
  (void)report->Write(args.out);
}

absl::Status RunBenchAll(const BenchAllArgs& args) {
  bench::ReportBuilder report = NewReport();
  std::vector<std::string> failures;
  const auto start = std::chrono::steady_clock::now();
  const std::filesystem::path data(args.data);
  bench::StagesBenchOptions stages;
  stages.video = (data / "videos" / "one-by-one-person-detection.mp4").string();
  stages.yolo_dir = (data / "models" / "yolo-fastest-1.1").string();
  RunInto(args, &report, &failures, stages, bench::RunStagesBench, kStagesOutput);
  bench::Table1Options table1;
  table1.time_scale = args.time_scale;
  RunInto(args, &report, &failures, table1, bench::RunTable1Bench, kTable1Output);
  bench::EdgeBenchOptions edge;
  edge.time_scale = args.time_scale;
  RunInto(args, &report, &failures, edge, bench::RunEdgeBench, kEdgeOutput);
  RunInto(args, &report, &failures, bench::ClientBenchOptions(), bench::RunClientBench,
          kClientOutput);
  RunInto(args, &report, &failures, bench::ScalingBenchOptions(), bench::RunScalingBench,
          kScalingOutput);
  RunInto(args, &report, &failures, bench::BalanceBenchOptions(), bench::RunBalanceBench,
          kBalanceOutput);
  RunInto(args, &report, &failures, bench::AblationOptions(), bench::RunAblationBench,
          kAblationOutput);
  bench::ThroughputBenchOptions throughput;
  throughput.data_dir = args.data;
  RunInto(args, &report, &failures, throughput, bench::RunThroughputBench, kThroughputOutput);
  bench::ServeBenchOptions serve;
  serve.duration = std::chrono::milliseconds(1500);
  RunInto(args, &report, &failures, serve, bench::RunServeBench, kServeOutput);
  const double minutes =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() / 60;
  report.AddSection("Run", fmt::format("All scenarios took {:.1f} minutes.\n", minutes));
  DNS_RETURN_IF_ERROR(report.Write(args.out));
  std::printf("\nwrote %s/REPORT.md (%.1f minutes)\n", args.out.c_str(), minutes);
  if (!failures.empty()) {
    return absl::InternalError(fmt::format("{} scenario(s) failed: {}", failures.size(),
                                           fmt::format("{}", fmt::join(failures, "; "))));
  }
  return absl::OkStatus();
}

CLI::App* AddAll(CLI::App* bench, BenchAllArgs* args) {
  CLI::App* sub = bench->add_subcommand(
      "all", "Every scenario in one go, into one directory with a REPORT.md and plots");
  sub->footer(
      "Runs stages, table1, edge, client, scaling, balance, ablations, throughput and serve\n"
      "with their "
      "defaults (table1 and edge at --time-scale) and writes each scenario's CSV and JSON,\n"
      "the gnuplot plots (SVG and PNG; data and scripts are kept) and REPORT.md with the\n"
      "tables, the plots, the machine and this command. About 15 minutes on 2 cores at the\n"
      "default time scale. A failing scenario is reported and the others still run.");
  sub->add_option("--out", args->out, "Output directory")->required();
  sub->add_option("--time-scale", args->time_scale,
                  "Multiplies the seed's emulated costs in table1 and edge")
      ->capture_default_str()
      ->check(CLI::Range(0.0001, 100.0));
  sub->add_option("--data", args->data,
                  "Shared data directory (stages and throughput use its person clip and Yolo-Fastest)")
      ->capture_default_str();
  sub->add_option("--skip", args->skip, "Scenarios to leave out")
      ->delimiter(',')
      ->check(CLI::IsMember(
          {"stages", "table1", "edge", "client", "scaling", "balance", "ablations", "throughput",
           "serve"}));
  return sub;
}

}  // namespace

std::function<absl::Status()> AddBenchMoreScenarios(CLI::App* bench) {
  auto edge_args = std::make_shared<BenchEdgeArgs>();
  auto ablation_args = std::make_shared<BenchAblationArgs>();
  auto throughput_args = std::make_shared<BenchThroughputArgs>();
  auto all_args = std::make_shared<BenchAllArgs>();
  CLI::App* edge = AddEdge(bench, edge_args.get());
  CLI::App* ablations = AddAblations(bench, ablation_args.get());
  CLI::App* throughput = AddThroughput(bench, throughput_args.get());
  CLI::App* all = AddAll(bench, all_args.get());
  return [=]() -> absl::Status {
    if (edge->parsed()) return RunBenchEdge(*edge_args);
    if (ablations->parsed()) return RunBenchAblations(*ablation_args);
    if (throughput->parsed()) return RunBenchThroughput(*throughput_args);
    if (all->parsed()) return RunBenchAll(*all_args);
    std::string names;
    for (const CLI::App* sub : bench->get_subcommands({})) {
      names += (names.empty() ? "" : ", ") + sub->get_name();
    }
    return absl::InvalidArgumentError("choose a scenario: " + names);
  };
}

}  // namespace dnoscope::app
