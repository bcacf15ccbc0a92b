#include "bench/all_scenarios.h"

#include <algorithm>

#include "bench/ablation_bench.h"
#include "bench/distributed_bench.h"
#include "bench/edge_bench.h"
#include "bench/serve_bench.h"
#include "bench/stages_bench.h"
#include "bench/table1_bench.h"
#include "bench/streams_bench.h"
#include "bench/throughput_bench.h"

namespace dnoscope::bench {

const std::vector<std::string>& AllScenarioNames() {
  static const std::vector<std::string> kNames = {"stages",  "table1",    "edge",
                                                  "client",  "scaling",   "balance",
                                                  "ablations", "throughput", "serve",
                                                  "streams"};
  return kNames;
}

std::vector<Scenario> AllScenarios(const AllScenariosOptions& o) {
  Table1Options table1;
  table1.time_scale = o.time_scale;
  EdgeBenchOptions edge;
  edge.time_scale = o.time_scale;
  ThroughputBenchOptions throughput;
  throughput.data_dir = o.data_dir;
  ServeBenchOptions serve;
  serve.duration = std::chrono::milliseconds(1500);
  std::vector<Scenario> all = {
      MakeScenario("stages", RunStagesBench, StagesBenchOptions{.data_dir = o.data_dir}),
      MakeScenario("table1", RunTable1Bench, table1),
      MakeScenario("edge", RunEdgeBench, edge),
      MakeScenario("client", RunClientBench, ClientBenchOptions()),
      MakeScenario("scaling", RunScalingBench, ScalingBenchOptions()),
      MakeScenario("balance", RunBalanceBench, BalanceBenchOptions()),
      MakeScenario("ablations", RunAblationBench, AblationOptions()),
      MakeScenario("throughput", RunThroughputBench, throughput),
      MakeScenario("serve", RunServeBench, serve),
      MakeScenario("streams", RunStreamsBench, StreamsBenchOptions())};
  std::erase_if(all, [&](const Scenario& s) {
    return std::find(o.skip.begin(), o.skip.end(), s.name) != o.skip.end();
  });
  return all;
}

}  // namespace dnoscope::bench
