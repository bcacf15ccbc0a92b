// `dnoscope bench edge` and `dnoscope bench ablations`, registered on the
// `bench` subcommand by AddBenchCommand.
#pragma once

#include <functional>

#include "CLI/CLI.hpp"
#include "absl/status/status.h"

namespace dnoscope::app {

// Adds the `edge` and `ablations` scenarios to `bench` (not owned; must
// outlive the returned function). The returned function, called after
// parsing, runs whichever of the two was chosen; when neither was, it
// returns InvalidArgument listing every scenario of `bench`.
std::function<absl::Status()> AddBenchMoreScenarios(CLI::App* bench);

}  // namespace dnoscope::app
