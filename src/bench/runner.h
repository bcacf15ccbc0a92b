// Runs `dnoscope bench` scenarios the same way whichever they are: a
// banner with the build type (and a warning for a non-optimized build), a
// scratch directory per scenario, progress lines, the result's text, and
// with an output directory its CSV and JSON files, plots and a REPORT.md
// with one section per scenario.
//
// Thread-safety: RunScenarios blocks; call it from one thread.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "bench/bench_report.h"
#include "bench/scenario.h"

namespace dnoscope::bench {

struct RunOptions {
  // Where the CSV, JSON, plots and REPORT.md go (created); empty: nothing
  // is written.
  std::string out_dir;
  // Each scenario works in <scratch_dir>/<name> (created); removed after
  // the scenario unless keep_scratch.
  std::string scratch_dir;
  bool keep_scratch = false;
  // Progress lines of the scenarios; may be empty.
  std::function<void(const std::string&)> progress;
  // Receives the banner, the results' text and the files written (stdout in
  // the CLI); may be empty.
  std::function<void(const std::string&)> print;
  // The machine, build type and command line, for the banner and REPORT.md.
  MachineInfo machine;
};

// Runs `scenarios` in order. A failing scenario is recorded (a "failed"
// section in REPORT.md) and the next one still runs; REPORT.md is rewritten
// after every scenario. With one scenario, returns its error as is; with
// several, Internal naming every failed one. Errors writing the output
// files stop the run.
absl::Status RunScenarios(const std::vector<Scenario>& scenarios, const RunOptions& options);

}  // namespace dnoscope::bench
