// `dnoscope bench all`: every scenario in one go, with its defaults.
//
// Thread-safety: pure functions.
#pragma once

#include <string>
#include <vector>

#include "bench/scenario.h"

namespace dnoscope::bench {

struct AllScenariosOptions {
  // Multiplies the seed's emulated costs in table1 and edge.
  double time_scale = 0.1;
  // Shared data folder of stages and throughput.
  std::string data_dir = "../shared/data";
  // Names of scenarios to leave out.
  std::vector<std::string> skip;
};

// Every scenario's name, in the order `all` runs them: stages, table1,
// edge, client, scaling, balance, ablations, throughput, serve, streams.
const std::vector<std::string>& AllScenarioNames();

// The scenarios of AllScenarioNames() not in `skip`, each with its default
// options except table1 and edge at time_scale, stages and throughput on
// data_dir, and serve at 1.5 s per cell.
std::vector<Scenario> AllScenarios(const AllScenariosOptions& options);

}  // namespace dnoscope::bench
