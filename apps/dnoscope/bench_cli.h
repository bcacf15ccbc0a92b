// The `dnoscope bench <scenario>` subcommands: one registration helper that
// gives every scenario its options plus the common ones (--out,
// --scratch-dir, --progress), and runs the chosen one through
// bench::RunScenarios. Scenario options are registered in
// bench_scenarios.cc.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "CLI/CLI.hpp"
#include "absl/status/status.h"
#include "bench/all_scenarios.h"
#include "bench/scenario.h"
#include "bench/workload.h"
#include "cascade/stage_requests.h"
#include "client/load_balancer.h"

namespace dnoscope::app {

class BenchCli {
 public:
  // `bench` is not owned and must outlive this object.
  explicit BenchCli(CLI::App* bench);

  // Adds `bench <name>`: `add_options` registers the scenario's own options
  // on it (filling a copy of `defaults`), then the common ones; `footer`
  // explains what runs.
  template <typename Options>
  void Add(const std::string& name, const std::string& description, const std::string& footer,
           absl::StatusOr<bench::ScenarioResult> (*run)(const Options&, const bench::ScenarioEnv&),
           const std::function<void(CLI::App*, Options*)>& add_options, Options defaults = {}) {
    auto options = std::make_shared<Options>(std::move(defaults));
    CLI::App* sub = NewSubcommand(name, description, footer);
    add_options(sub, options.get());
    AddCommonOptions(sub, /*out_required=*/false);
    entries_.push_back({sub, [name, run, options] { return bench::MakeScenario(name, run, *options); }});
  }
  // Adds `bench all`.
  void AddAll();
  // Runs whichever subcommand was chosen (after parsing).
  absl::Status Run() const;

 private:
  struct Entry {
    CLI::App* app;
    std::function<bench::Scenario()> scenario;
  };
  struct CommonArgs {
    std::string out;
    std::string scratch;
    std::string progress = "log";
  };

  CLI::App* NewSubcommand(const std::string& name, const std::string& description,
                          const std::string& footer);
  void AddCommonOptions(CLI::App* sub, bool out_required);
  absl::Status RunScenarios(const std::vector<bench::Scenario>& scenarios) const;

  CLI::App* const bench_;
  // Filled by whichever subcommand was chosen.
  std::shared_ptr<CommonArgs> common_ = std::make_shared<CommonArgs>();
  std::shared_ptr<bench::AllScenariosOptions> all_ = std::make_shared<bench::AllScenariosOptions>();
  std::vector<Entry> entries_;
  CLI::App* all_app_ = nullptr;
};

// Registers every scenario but `all` on `cli` (bench_scenarios.cc).
void AddBenchScenarios(BenchCli& cli);

// Option helpers: each shows its default in --help.
template <typename T>
CLI::Option* AddRanged(CLI::App* sub, const std::string& flag, T* value, const std::string& help,
                       T lo, T hi) {
  return sub->add_option(flag, *value, help)->capture_default_str()->check(CLI::Range(lo, hi));
}

// An integer flag in the duration's unit (e.g. --duration-ms) into `value`.
template <typename Duration>
CLI::Option* AddDuration(CLI::App* sub, const std::string& flag, Duration* value,
                         const std::string& help, int64_t lo, int64_t hi) {
  return sub
      ->add_option_function<int64_t>(flag, [value](int64_t v) { *value = Duration(v); }, help)
      ->default_str(std::to_string(value->count()))
      ->check(CLI::Range(lo, hi));
}

// --frames (at least `min_frames`), --width and --height.
void AddVideoSize(CLI::App* sub, bench::VideoSize* size, int64_t min_frames,
                  const std::string& frames_help);
// Flags several scenarios share, each with its range.
void AddTimeScale(CLI::App* sub, double* time_scale, const std::string& help);
void AddUncertainShare(CLI::App* sub, double* share, const std::string& help);
void AddDiffThreshold(CLI::App* sub, double* threshold);
// --servers N_S,... (1 to 64 each).
void AddServerCounts(CLI::App* sub, std::vector<int>* servers, const std::string& help);
// --max-in-flight (per server) and --max-model-frames (the client's window).
void AddClientLimits(CLI::App* sub, int* max_in_flight, int* max_model_frames, int min_window,
                     const std::string& window_help);
// --payload raw|jpeg|png.
void AddPayload(CLI::App* sub, cascade::PayloadFormat* payload);
// --balance with one policy, or a comma-separated list of them.
void AddPolicy(CLI::App* sub, client::BalancePolicy* policy, const std::string& help);
void AddPolicies(CLI::App* sub, std::vector<client::BalancePolicy>* policies,
                 const std::string& help);

}  // namespace dnoscope::app
