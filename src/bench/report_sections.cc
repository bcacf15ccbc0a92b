#include "bench/report_sections.h"

#include <algorithm>
#include <map>

#include "fmt/format.h"

namespace dnoscope::bench {

std::string Fenced(const std::string& text) { return "```\n" + text + "```\n"; }

void AddServeSection(const ServeBenchResult& r, const std::string&, ReportBuilder* report) {
  report->AddSection("Model server on loopback (serve)", Fenced(FormatServeBench(r)));
}

void AddClientSection(const ClientBenchResult& r, const std::string&, ReportBuilder* report) {
  report->AddSection(
      "Client overhead: distributed cascade vs decode-only (client)",
      fmt::format("Both model stages remote at zero cost (replay servers in this process), the "
                  "same video decoded alone: **{:.2f}x** of decode-only frames/s (goal >= "
                  "0.8).\n\n",
                  r.ratio) +
          Fenced(FormatClientBench(r)));
}

void AddScalingSection(const ScalingBenchResult& r, const std::string& dir,
                       ReportBuilder* report) {
  report->AddSection("Scaling with the number of reference servers (scaling)",
                     fmt::format("Every frame to the reference; each server serves one request "
                                 "at a time in {:.0f} ms.\n\n",
                                 r.service_ms) +
                         Fenced(FormatScalingBench(r)));
  PlotSpec plot{.name = "scaling",
                .title = "Throughput speedup vs reference servers",
                .xlabel = "reference servers N_S",
                .ylabel = "speedup over N_S = 1",
                .log_x = true};
  PlotSeries measured{.title = "dnoscope"};
  PlotSeries ideal{.title = "ideal (N_S)"};
  for (const ScalingRow& row : r.rows) {
    measured.points.emplace_back(row.servers, row.speedup);
    ideal.points.emplace_back(row.servers, row.servers);
  }
  plot.series = {measured, ideal};
  report->AddPlot(plot, dir);
}

void AddBalanceSection(const BalanceBenchResult& r, const std::string& dir,
                       ReportBuilder* report) {
  report->AddSection(fmt::format("Load balancing with one replica {:.0f}x slower (balance)",
                                 r.slow_service_ms / std::max(r.service_ms, 1e-9)),
                     Fenced(FormatBalanceBench(r)));
  PlotSpec plot{.name = "balance",
                .title = "Reference request latency by balancing policy",
                .xlabel = "",
                .ylabel = "latency (ms)",
                .style = "histogram",
                .categories = {"p50", "p90", "p99"}};
  for (const BalanceRow& row : r.rows) {
    if (row.run.report.stages.empty()) continue;
    const cascade::LatencySummary& l = row.run.report.stages.back().latency;
    plot.series.push_back({row.policy, {{0, l.p50_ms}, {1, l.p90_ms}, {2, l.p99_ms}}});
  }
  report->AddPlot(plot, dir);
}

void AddTable1Section(const Table1Result& r, const std::string& dir, ReportBuilder* report) {
  double worst_bound = 0, worst_seed8 = 0, worst_cq = 0;
  for (const Table1Cell& c : r.cells) {
    worst_bound = std::max(worst_bound, std::abs(c.wall_over_bound - 1));
    if (c.servers == 8) worst_seed8 = std::max(worst_seed8, c.wall_over_seed);
    worst_cq = std::max(worst_cq, c.t_cq_share);
  }
  report->AddSection(
      "Table 1: total latency, N_F frames x N_S reference servers (table1)",
      fmt::format("Time scale {} (the seed's seconds x {}). Every cell within **{:.1f}%** of "
                  "the bound T_n + ceil(N_R/N_S) x T_sc (goal 15%); at N_S = 8 at most "
                  "**{:.2f}x** the seed's scaled latency (goal 0.35x); client queueing T_cq at "
                  "most **{:.2f}%** of a cell's latency. Network: {}.\n\n",
                  r.time_scale, r.time_scale, 100 * worst_bound, worst_seed8, 100 * worst_cq,
                  r.network_emulation) +
          Fenced(FormatTable1Bench(r)));
  PlotSpec plot{.name = "table1",
                .title = "Total latency vs frames, seed (scaled) and dnoscope",
                .xlabel = "frames N_F",
                .ylabel = "latency (s)",
                .log_x = true,
                .log_y = true};
  std::map<int, PlotSeries> ours, seed;
  for (const Table1Cell& c : r.cells) {
    ours[c.servers].title = fmt::format("dnoscope N_S={}", c.servers);
    ours[c.servers].points.emplace_back(c.frames, c.wall_seconds);
    if (c.seed_seconds > 0) {
      seed[c.servers].title = fmt::format("seed N_S={}", c.servers);
      seed[c.servers].points.emplace_back(c.frames, c.seed_seconds);
    }
  }
  for (auto& [n, s] : ours) plot.series.push_back(s);
  for (auto& [n, s] : seed) plot.series.push_back(s);
  report->AddPlot(plot, dir);
}

void AddStagesSection(const StagesBenchResult& r, const std::string& dir,
                      ReportBuilder* report) {
  report->AddSection("Single-request latency per stage (stages)", Fenced(FormatStagesBench(r)));
  PlotSpec plot{.name = "stages",
                .title = "Single-request latency p50 (ms, log scale)",
                .xlabel = "",
                .ylabel = "ms",
                .log_y = true,
                .style = "histogram"};
  PlotSeries ours{.title = "dnoscope p50"}, seed{.title = "seed"};
  for (const StageLatencyRow& row : r.rows) {
    plot.categories.push_back(fmt::format("{} {} {}", row.stage, row.model, row.where));
    const double x = static_cast<double>(ours.points.size());
    ours.points.emplace_back(x, std::max(row.p50_ms, 1e-4));
    seed.points.emplace_back(x, std::max(row.seed_seconds * 1000, 1e-4));
  }
  plot.series = {ours, seed};
  report->AddPlot(plot, dir);
}

void AddEdgeSection(const EdgeBenchResult& r, const std::string&, ReportBuilder* report) {
  report->AddSection(
      "Figure 4: one node vs distributed on the edge (edge)",
      fmt::format("**{:.2f}x** (seed: {:.2f}x). {}\n\n", r.ratio, r.seed_ratio, r.limit) +
          Fenced(FormatEdgeBench(r)));
}

void AddAblationSection(const AblationResult& r, const std::string&, ReportBuilder* report) {
  report->AddSection("Ablations (ablations)", Fenced(FormatAblationBench(r)));
}

}  // namespace dnoscope::bench
