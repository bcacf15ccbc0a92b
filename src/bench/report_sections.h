// REPORT.md sections (the scenario's table and its gnuplot plots) for each
// `dnoscope bench` scenario. Every function has the shape
//   void Add<Scenario>Section(const Result&, const std::string& dir, ReportBuilder*)
// where `dir` receives the plots' data, scripts and images.
// Thread-safety: as ReportBuilder.
#pragma once

#include <string>

#include "bench/ablation_bench.h"
#include "bench/bench_report.h"
#include "bench/distributed_bench.h"
#include "bench/edge_bench.h"
#include "bench/serve_bench.h"
#include "bench/stages_bench.h"
#include "bench/table1_bench.h"

namespace dnoscope::bench {

void AddServeSection(const ServeBenchResult& r, const std::string& dir, ReportBuilder* report);
void AddClientSection(const ClientBenchResult& r, const std::string& dir, ReportBuilder* report);
void AddScalingSection(const ScalingBenchResult& r, const std::string& dir,
                       ReportBuilder* report);
void AddBalanceSection(const BalanceBenchResult& r, const std::string& dir,
                       ReportBuilder* report);
void AddTable1Section(const Table1Result& r, const std::string& dir, ReportBuilder* report);
void AddStagesSection(const StagesBenchResult& r, const std::string& dir, ReportBuilder* report);
void AddEdgeSection(const EdgeBenchResult& r, const std::string& dir, ReportBuilder* report);
void AddAblationSection(const AblationResult& r, const std::string& dir, ReportBuilder* report);

// The text table of a scenario as a fenced markdown block.
std::string Fenced(const std::string& text);

}  // namespace dnoscope::bench
