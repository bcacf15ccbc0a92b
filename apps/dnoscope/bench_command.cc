// `dnoscope bench <scenario>`: reproducible performance experiments. Each
// scenario prints a table and, with --out, writes CSV and JSON files.
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <thread>

#include <unistd.h>

#include "bench/serve_bench.h"
#include "commands.h"
#include "common/status_macros.h"
#include "fmt/format.h"
#include "spdlog/spdlog.h"

#ifndef DNS_BUILD_TYPE
#define DNS_BUILD_TYPE "unknown"
#endif

namespace dnoscope::app {
namespace {

struct BenchServeArgs {
  bench::ServeBenchOptions options;
  int64_t duration_ms = 3000;
  std::string out;
};

void WarnIfNotOptimized() {
#ifndef NDEBUG
  std::fprintf(stderr,
               "WARNING: this is a %s build with assertions on; figures are not meaningful. "
               "Use the release preset.\n",
               DNS_BUILD_TYPE);
#endif
}

absl::Status WriteOut(const std::string& dir, const std::string& name, const std::string& text) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  const std::string path = dir + "/" + name;
  std::ofstream out(path, std::ios::trunc);
  out << text;
  if (!out) return absl::InternalError(fmt::format("cannot write '{}'", path));
  std::printf("wrote %s\n", path.c_str());
  return absl::OkStatus();
}

absl::Status RunBenchServe(BenchServeArgs& args) {
  WarnIfNotOptimized();
  std::printf("dnoscope bench serve (%s build, %u hardware threads)\n", DNS_BUILD_TYPE,
              std::thread::hardware_concurrency());
  const std::filesystem::path scratch =
      std::filesystem::temp_directory_path() / fmt::format("dnoscope_bench_{}", getpid());
  args.options.scratch_dir = scratch.string();
  args.options.duration = std::chrono::milliseconds(args.duration_ms);
  args.options.progress = [](const std::string& line) { spdlog::info("{}", line); };
  absl::StatusOr<bench::ServeBenchResult> result = bench::RunServeBench(args.options);
  std::error_code ec;
  std::filesystem::remove_all(scratch, ec);
  if (!result.ok()) return result.status();
  std::printf("\n%s", bench::FormatServeBench(*result).c_str());
  if (args.out.empty()) return absl::OkStatus();
  DNS_RETURN_IF_ERROR(WriteOut(args.out, "serve.csv", bench::ServeBenchCsv(*result)));
  return WriteOut(args.out, "serve.json", bench::ServeBenchJson(*result));
}

}  // namespace

Command AddBenchCommand(CLI::App& root) {
  CLI::App* app = root.add_subcommand("bench", "Performance experiments (see --help of each)");
  app->require_subcommand(1);
  auto args = std::make_shared<BenchServeArgs>();
  CLI::App* serve = app->add_subcommand(
      "serve",
      "Model server throughput and p50/p90/p99 latency on loopback, trivial model vs the "
      "specialized CNN, KServe JSON vs binary, against client concurrency; compared with the "
      "CNN's in-process OpenCV DNN throughput in the same run");
  serve->add_option("--concurrency", args->options.concurrency,
                    "Outstanding requests (closed loop), one run per value")
      ->capture_default_str()
      ->delimiter(',');
  serve->add_option("--duration-ms", args->duration_ms, "Measured time per run")
      ->capture_default_str()
      ->check(CLI::Range(100, 600000));
  serve->add_option("--specialized-model", args->options.specialized_model,
                    "ONNX specialized model (UINT8 [N,H,W,3] -> FP32 [N,1]); default: NoScope's "
                    "CNN (2 conv x 32, dense 128, 50x50) with random weights");
  serve->add_option("--max-batch-size", args->options.max_batch_size,
                    "Dynamic batching: largest batch, and the in-process batch")
      ->capture_default_str()
      ->check(CLI::Range(1, 1024));
  serve->add_option("--max-queue-delay-us", args->options.max_queue_delay_us,
                    "Dynamic batching: how long a request may wait for others")
      ->capture_default_str()
      ->check(CLI::Range(int64_t{0}, int64_t{1000000}));
  serve->add_option("--server-threads", args->options.server_io_threads, "Server HTTP I/O threads")
      ->capture_default_str()
      ->check(CLI::Range(1, 64));
  serve->add_option("--client-threads", args->options.client_io_threads,
                    "Load generator I/O threads")
      ->capture_default_str()
      ->check(CLI::Range(1, 64));
  serve->add_option("--out", args->out, "Directory for serve.csv and serve.json");
  return {app, [args, serve] {
            if (serve->parsed()) return RunBenchServe(*args);
            return absl::InvalidArgumentError("choose a scenario: serve");
          }};
}

}  // namespace dnoscope::app
