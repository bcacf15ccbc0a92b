// Subcommands of the dnoscope binary. Each Add*Command registers its options
// on `root` and returns the subcommand plus the action main() runs when that
// subcommand was chosen. Options are parsed here; the work is done by src/
// libraries.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "CLI/CLI.hpp"
#include "absl/status/status.h"

namespace dnoscope::app {

struct Command {
  CLI::App* app = nullptr;
  std::function<absl::Status()> run;
};

Command AddSynthCommand(CLI::App& root);
Command AddLabelCommand(CLI::App& root);
Command AddRunCommand(CLI::App& root);
Command AddEvalCommand(CLI::App& root);
Command AddInfoCommand(CLI::App& root);
Command AddTrainCommand(CLI::App& root);
Command AddOptimizeCommand(CLI::App& root);
Command AddServeCommand(CLI::App& root);
Command AddBenchCommand(CLI::App& root);

}  // namespace dnoscope::app
