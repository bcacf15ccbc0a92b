// The human side of `dnoscope bench`: plots made with gnuplot and a
// REPORT.md that shows each scenario's section (bench/render.h) together
// with the machine (cores, CPU model, build type) and the exact command.
//
// Plots: each PlotSpec becomes <name>.dat and <name>.gp in the output
// directory, and gnuplot (Debian gnuplot-nox) renders <name>.svg and
// <name>.png from them. Without gnuplot the data and script stay there and
// the report says the plot was not rendered.
//
// Thread-safety: pure functions and a single-threaded builder.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"

namespace dnoscope::bench {

struct MachineInfo {
  unsigned cores = 0;
  std::string cpu_model;
  std::string build_type;
  // The command line, quoted for a shell.
  std::string command;
  // UTC, ISO 8601.
  std::string date;
};

// Cores and CPU model from this machine (/proc/cpuinfo when readable);
// `argv` quoted for a shell as the command.
MachineInfo DescribeMachine(const std::string& build_type, const std::vector<std::string>& argv);

// This process's command line (/proc/self/cmdline; empty when unreadable).
std::vector<std::string> CurrentCommandLine();

struct PlotSeries {
  std::string title;
  std::vector<std::pair<double, double>> points;
};

struct PlotSpec {
  // File stem: letters, digits, '_' and '-'.
  std::string name;
  std::string title;
  std::string xlabel;
  std::string ylabel;
  bool log_x = false;
  bool log_y = false;
  // "linespoints" (curves) or "histogram" (bars; x values are categories
  // named by `categories`, one bar per series in each).
  std::string style = "linespoints";
  std::vector<std::string> categories;
  std::vector<PlotSeries> series;
};

// The gnuplot script for `spec` reading `data_file`, writing <stem>.svg and
// <stem>.png next to it (exposed for tests).
std::string GnuplotScript(const PlotSpec& spec, const std::string& data_file,
                          const std::string& output_stem);

// Writes data + script into `dir` and runs gnuplot. Returns the SVG's file
// name (relative to `dir`); FailedPrecondition when gnuplot is not
// installed, Internal when it fails (its output in the message),
// InvalidArgument for a bad name or no data.
absl::StatusOr<std::string> RenderPlot(const PlotSpec& spec, const std::string& dir);

// Collects sections and writes REPORT.md.
class ReportBuilder {
 public:
  ReportBuilder(std::string title, MachineInfo machine);
  // A "## heading" with free markdown (tables, sentences, images).
  void AddSection(const std::string& heading, const std::string& markdown);
  std::string Markdown() const;
  // Writes dir/REPORT.md.
  absl::Status Write(const std::string& dir) const;

 private:
  std::string title_;
  MachineInfo machine_;
  std::vector<std::pair<std::string, std::string>> sections_;
};

}  // namespace dnoscope::bench
