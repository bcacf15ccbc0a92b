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
#include "models/triton_export.h"

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
Command AddExportCommand(CLI::App& root);

// Shared by `export` and `train --triton-repository`: runs the export and
// prints what was written.
absl::Status ExportToTriton(const models::TritonExportOptions& options);
// Appends the Triton layout and the serving command to `sub`'s help.
void AddTritonHelp(CLI::App* sub);

}  // namespace dnoscope::app
