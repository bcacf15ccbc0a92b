// The one scenario interface of `dnoscope bench`. A scenario is a function
//
//   absl::StatusOr<ScenarioResult> RunFooBench(const FooOptions&, const ScenarioEnv&);
//
// that measures and returns data: tables with named columns and units,
// plots, notes and failed checks. It formats and writes nothing; the
// renderer (bench/render.h) writes text, CSV, JSON and markdown for every
// scenario alike, and the runner (bench/runner.h) adds the scratch
// directory, progress lines, output files and REPORT.md.
//
// Thread-safety: value types; a Scenario's function blocks and may be
// called from any one thread at a time.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "bench/bench_report.h"
#include "bench/table.h"

namespace dnoscope::bench {

// What every scenario gets besides its options.
struct ScenarioEnv {
  // An existing, writable directory for the scenario's files (videos,
  // label CSVs, model repositories); the runner removes it afterwards.
  std::string scratch_dir;
  // Progress lines ("scaling N_S=4: 2.1 s"); may be empty.
  std::function<void(const std::string&)> progress;

  // Calls `progress` when set.
  void Progress(const std::string& line) const {
    if (progress) progress(line);
  }
};

struct ScenarioResult {
  // The scenario's name: "client", "table1", ...; names its JSON file.
  std::string scenario;
  // The REPORT.md heading, e.g. "Scaling with the number of reference servers".
  std::string title;
  // What ran and how it was emulated, one sentence a line.
  std::vector<std::string> setup;
  // The measurements; the first is the one to read first.
  std::vector<Table> tables;
  std::vector<PlotSpec> plots;
  // Findings and fallbacks ("Yolo-Fastest skipped: ...").
  std::vector<std::string> notes;
  // Cross-checks that failed ("reference frames 120 != 118 reference
  // rows"); empty when the run's own counters agree.
  std::vector<std::string> checks;

  // The table called `name`; nullptr when there is none.
  const Table* table(std::string_view name) const {
    for (const Table& t : tables) {
      if (t.name == name) return &t;
    }
    return nullptr;
  }
};

// A scenario with its options bound, as `dnoscope bench <name>` and
// `dnoscope bench all` run it.
struct Scenario {
  std::string name;
  std::function<absl::StatusOr<ScenarioResult>(const ScenarioEnv&)> run;
};

template <typename Options>
Scenario MakeScenario(std::string name,
                      absl::StatusOr<ScenarioResult> (*run)(const Options&, const ScenarioEnv&),
                      Options options) {
  return {std::move(name), [run, options = std::move(options)](const ScenarioEnv& env) {
            return run(options, env);
          }};
}

}  // namespace dnoscope::bench
