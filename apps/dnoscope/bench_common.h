// Helpers shared by the `dnoscope bench` scenario commands: banner and
// scratch directory, output files, and the REPORT.md with plots.
#pragma once

#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>

#include "absl/status/statusor.h"
#include "bench/bench_report.h"
#include "bench/report_sections.h"
#include "common/status_macros.h"
#include "fmt/format.h"
#include "spdlog/spdlog.h"

#ifndef DNS_BUILD_TYPE
#define DNS_BUILD_TYPE "unknown"
#endif

namespace dnoscope::app::benchcli {

inline void WarnIfNotOptimized() {
#ifndef NDEBUG
  std::fprintf(stderr,
               "WARNING: this is a %s build with assertions on; figures are not meaningful. "
               "Use the release preset.\n",
               DNS_BUILD_TYPE);
#endif
}

inline absl::Status WriteOut(const std::string& dir, const std::string& name,
                             const std::string& text) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  const std::string path = dir + "/" + name;
  std::ofstream out(path, std::ios::trunc);
  out << text;
  if (!out) return absl::InternalError(fmt::format("cannot write '{}'", path));
  std::printf("wrote %s\n", path.c_str());
  return absl::OkStatus();
}

// Prints the banner and returns a fresh scratch directory for the scenario.
inline std::filesystem::path StartScenario(const std::string& name) {
  WarnIfNotOptimized();
  std::printf("dnoscope bench %s (%s build, %u hardware threads)\n", name.c_str(), DNS_BUILD_TYPE,
              std::thread::hardware_concurrency());
  std::fflush(stdout);  // before the progress lines on stderr
  return std::filesystem::temp_directory_path() /
         fmt::format("dnoscope_bench_{}_{}", getpid(), name);
}

inline void LogProgress(const std::string& line) { spdlog::info("{}", line); }

inline bench::ReportBuilder NewReport() {
  return bench::ReportBuilder("dnoscope bench",
                              bench::DescribeMachine(DNS_BUILD_TYPE, bench::CurrentCommandLine()));
}

// How a scenario's result is printed, saved and reported.
template <typename Result>
struct ScenarioOutput {
  std::string name;
  std::string (*format)(const Result&);
  std::string (*csv)(const Result&);
  std::string (*json)(const Result&);
  void (*section)(const Result&, const std::string& dir, bench::ReportBuilder*);
};

// Removes `scratch`, prints the result's table and, with `out`, writes
// <out>/<name>.csv, .json, the plots and a REPORT.md — its own, or the
// section goes into `shared` (whose owner writes REPORT.md).
template <typename Result>
absl::Status Finish(const std::filesystem::path& scratch, absl::StatusOr<Result> result,
                    const std::string& out, const ScenarioOutput<Result>& s,
                    bench::ReportBuilder* shared = nullptr) {
  std::error_code ec;
  std::filesystem::remove_all(scratch, ec);
  if (!result.ok()) return result.status();
  std::printf("\n%s", s.format(*result).c_str());
  if (out.empty()) return absl::OkStatus();
  DNS_RETURN_IF_ERROR(WriteOut(out, s.name + ".csv", s.csv(*result)));
  DNS_RETURN_IF_ERROR(WriteOut(out, s.name + ".json", s.json(*result)));
  if (shared != nullptr) {
    s.section(*result, out, shared);
    return absl::OkStatus();
  }
  bench::ReportBuilder report = NewReport();
  s.section(*result, out, &report);
  DNS_RETURN_IF_ERROR(report.Write(out));
  std::printf("wrote %s/REPORT.md\n", out.c_str());
  return absl::OkStatus();
}

// Runs one scenario: banner, a scratch directory and progress lines for
// `options` (any options struct with scratch_dir and progress), then Finish.
template <typename Options, typename Result>
absl::Status RunScenario(Options options, absl::StatusOr<Result> (*run)(const Options&),
                         const std::string& out, const ScenarioOutput<Result>& output,
                         bench::ReportBuilder* shared = nullptr) {
  const std::filesystem::path scratch = StartScenario(output.name);
  options.scratch_dir = scratch.string();
  options.progress = LogProgress;
  return Finish(scratch, run(options), out, output, shared);
}

// Every scenario's outputs.
inline const ScenarioOutput<bench::ServeBenchResult> kServeOutput{
    "serve", bench::FormatServeBench, bench::ServeBenchCsv, bench::ServeBenchJson,
    bench::AddServeSection};
inline const ScenarioOutput<bench::ClientBenchResult> kClientOutput{
    "client", bench::FormatClientBench, bench::ClientBenchCsv, bench::ClientBenchJson,
    bench::AddClientSection};
inline const ScenarioOutput<bench::ScalingBenchResult> kScalingOutput{
    "scaling", bench::FormatScalingBench, bench::ScalingBenchCsv, bench::ScalingBenchJson,
    bench::AddScalingSection};
inline const ScenarioOutput<bench::BalanceBenchResult> kBalanceOutput{
    "balance", bench::FormatBalanceBench, bench::BalanceBenchCsv, bench::BalanceBenchJson,
    bench::AddBalanceSection};
inline const ScenarioOutput<bench::Table1Result> kTable1Output{
    "table1", bench::FormatTable1Bench, bench::Table1Csv, bench::Table1Json,
    bench::AddTable1Section};
inline const ScenarioOutput<bench::StagesBenchResult> kStagesOutput{
    "stages", bench::FormatStagesBench, bench::StagesBenchCsv, bench::StagesBenchJson,
    bench::AddStagesSection};
inline const ScenarioOutput<bench::EdgeBenchResult> kEdgeOutput{
    "edge", bench::FormatEdgeBench, bench::EdgeBenchCsv, bench::EdgeBenchJson,
    bench::AddEdgeSection};
inline const ScenarioOutput<bench::AblationResult> kAblationOutput{
    "ablations", bench::FormatAblationBench, bench::AblationBenchCsv, bench::AblationBenchJson,
    bench::AddAblationSection};

}  // namespace dnoscope::app::benchcli
