// `dnoscope bench <scenario>`: reproducible performance experiments. Each
// scenario prints its tables and, with --out, writes their CSV, its JSON,
// plots and a REPORT.md (bench/runner.h).
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <map>

#include "bench/bench_report.h"
#include "bench/runner.h"
#include "bench_cli.h"
#include "commands.h"
#include "fmt/format.h"
#include "spdlog/spdlog.h"

#ifndef DNS_BUILD_TYPE
#define DNS_BUILD_TYPE "unknown"
#endif

namespace dnoscope::app {
namespace {

void PrintOut(const std::string& text) {
  std::fputs(text.c_str(), stdout);
  std::fflush(stdout);  // before the progress lines on stderr
}

}  // namespace

BenchCli::BenchCli(CLI::App* bench) : bench_(bench) {}

CLI::App* BenchCli::NewSubcommand(const std::string& name, const std::string& description,
                                  const std::string& footer) {
  CLI::App* sub = bench_->add_subcommand(name, description);
  sub->footer(footer);
  return sub;
}

void BenchCli::AddCommonOptions(CLI::App* sub, bool out_required) {
  CLI::Option* out = sub->add_option(
      "--out", common_->out,
      "Output directory: a CSV per table, <scenario>.json, plots (SVG, PNG; data and gnuplot "
      "scripts kept) and REPORT.md (default: print the tables only)");
  if (out_required) out->required();
  sub->add_option("--scratch-dir", common_->scratch,
                  "Where scenarios write videos, label CSVs and model repositories (default: a "
                  "fresh folder under the system temp dir, removed afterwards; a given one is "
                  "kept)");
  sub->add_option("--progress", common_->progress, "Progress lines on stderr: log or off")
      ->capture_default_str()
      ->check(CLI::IsMember({"log", "off"}));
}

void BenchCli::AddAll() {
  all_app_ = NewSubcommand(
      "all", "Every scenario in one go, into one directory with a REPORT.md and plots",
      "Runs stages, table1, edge, client, scaling, balance, ablations, throughput and serve with\n"
      "their defaults (table1 and edge at --time-scale, serve at 1.5 s per cell) and writes each\n"
      "scenario's CSV and JSON, the gnuplot plots and REPORT.md with the tables, the plots, the\n"
      "machine and this command. About 15 minutes on 2 cores at the default time scale. A\n"
      "failing scenario is reported and the others still run.");
  AddTimeScale(all_app_, &all_->time_scale,
               "Multiplies the seed's emulated costs in table1 and edge");
  all_app_->add_option("--data", all_->data_dir,
                       "Shared data directory (stages and throughput use its person clip and "
                       "Yolo-Fastest)")
      ->capture_default_str();
  std::vector<std::string> names;
  for (const bench::Scenario& s : bench::AllScenarios({})) names.push_back(s.name);
  all_app_->add_option("--skip", all_->skip, "Scenarios to leave out")
      ->delimiter(',')
      ->check(CLI::IsMember(names));
  AddCommonOptions(all_app_, /*out_required=*/true);
}

absl::Status BenchCli::RunScenarios(const std::vector<bench::Scenario>& scenarios) const {
  bench::RunOptions options;
  options.out_dir = common_->out;
  options.keep_scratch = !common_->scratch.empty();
  options.scratch_dir = options.keep_scratch
                            ? common_->scratch
                            : (std::filesystem::temp_directory_path() /
                               fmt::format("dnoscope_bench_{}", getpid()))
                                  .string();
  if (common_->progress == "log") {
    options.progress = [](const std::string& line) { spdlog::info("{}", line); };
  }
  options.print = PrintOut;
  options.machine = bench::DescribeMachine(DNS_BUILD_TYPE, bench::CurrentCommandLine());
  const absl::Status status = bench::RunScenarios(scenarios, options);
  std::error_code ec;
  if (!options.keep_scratch) std::filesystem::remove_all(options.scratch_dir, ec);
  return status;
}

absl::Status BenchCli::Run() const {
  if (all_app_ != nullptr && all_app_->parsed()) return RunScenarios(bench::AllScenarios(*all_));
  for (const Entry& entry : entries_) {
    if (entry.app->parsed()) return RunScenarios({entry.scenario()});
  }
  return absl::InvalidArgumentError("choose a scenario (see dnoscope bench --help)");
}

Command AddBenchCommand(CLI::App& root) {
  CLI::App* app = root.add_subcommand("bench", "Performance experiments (see --help of each)");
  app->require_subcommand(1);
  auto cli = std::make_shared<BenchCli>(app);
  AddBenchScenarios(*cli);
  cli->AddAll();
  return {app, [cli] { return cli->Run(); }};
}

}  // namespace dnoscope::app
