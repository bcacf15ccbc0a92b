#include "bench/bench_report.h"

#include <sys/wait.h>

#include <chrono>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <sstream>
#include <thread>

#include "absl/status/status.h"
#include "bench/render.h"
#include "common/file.h"
#include "common/status_macros.h"
#include "fmt/format.h"

namespace dnoscope::bench {
namespace {

std::string ShellQuote(const std::string& s) {
  if (!s.empty() && s.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                        "0123456789_-./=:,+@%") == std::string::npos) {
    return s;
  }
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

// Quotes a string for gnuplot (double quotes, escaped).
std::string GpString(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

bool ValidName(const std::string& name) {
  return !name.empty() && name.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVW"
                                                 "XYZ0123456789_-") == std::string::npos;
}

// Runs `command` through /bin/sh; exit code and combined output.
std::pair<int, std::string> Run(const std::string& command) {
  std::string output;
  FILE* pipe = popen((command + " 2>&1").c_str(), "r");
  if (pipe == nullptr) return {-1, "popen failed"};
  char buffer[4096];
  while (size_t n = fread(buffer, 1, sizeof(buffer), pipe)) output.append(buffer, n);
  const int status = pclose(pipe);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, output};
}

}  // namespace

std::vector<std::string> CurrentCommandLine() {
  std::ifstream in("/proc/self/cmdline", std::ios::binary);
  std::vector<std::string> argv;
  for (std::string arg; std::getline(in, arg, '\0');) argv.push_back(arg);
  return argv;
}

MachineInfo DescribeMachine(const std::string& build_type, const std::vector<std::string>& argv) {
  MachineInfo m;
  m.cores = std::thread::hardware_concurrency();
  m.build_type = build_type;
  std::ifstream cpuinfo("/proc/cpuinfo");
  for (std::string line; std::getline(cpuinfo, line);) {
    if (line.rfind("model name", 0) == 0) {
      const size_t colon = line.find(':');
      if (colon != std::string::npos) m.cpu_model = line.substr(colon + 2);
      break;
    }
  }
  if (m.cpu_model.empty()) m.cpu_model = "unknown";
  for (size_t i = 0; i < argv.size(); ++i) {
    if (i > 0) m.command += ' ';
    m.command += ShellQuote(argv[i]);
  }
  const std::time_t now = std::time(nullptr);
  char date[32];
  std::strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&now));
  m.date = date;
  return m;
}

std::string GnuplotScript(const PlotSpec& spec, const std::string& data_file,
                          const std::string& output_stem) {
  std::string gp;
  gp += fmt::format("set title {}\nset xlabel {}\nset ylabel {}\n", GpString(spec.title),
                    GpString(spec.xlabel), GpString(spec.ylabel));
  gp += "set grid\nset key top left\n";
  if (spec.log_x) gp += "set logscale x 2\n";
  if (spec.log_y) gp += "set logscale y\n";
  std::string plot;
  if (spec.style == "histogram") {
    gp += "set style data histograms\nset style histogram clustered gap 1\n"
          "set style fill solid 0.8 border -1\nset boxwidth 0.9\n"
          "set xtics rotate by -30 scale 0 font \",9\"\nset bmargin 9\n";
    gp += spec.log_y ? "set yrange [0.001:*]\n" : "set yrange [0:*]\n";
    // Data: one row per category: label, then one column per series.
    for (size_t i = 0; i < spec.series.size(); ++i) {
      plot += fmt::format("{}{} using {}{} title {}", i ? ", " : "", GpString(data_file), i + 2,
                          i == 0 ? ":xtic(1)" : "", GpString(spec.series[i].title));
    }
  } else {
    // Data: one block per series, separated by two blank lines (index i).
    for (size_t i = 0; i < spec.series.size(); ++i) {
      plot += fmt::format("{}{} index {} using 1:2 with linespoints title {}", i ? ", " : "",
                          GpString(data_file), i, GpString(spec.series[i].title));
    }
  }
  for (const char* term : {"svg size 800,500 dynamic", "pngcairo size 800,500"}) {
    const bool svg = std::string(term).rfind("svg", 0) == 0;
    gp += fmt::format("set terminal {}\nset output {}\nplot {}\n", term,
                      GpString(output_stem + (svg ? ".svg" : ".png")), plot);
  }
  gp += "unset output\n";
  return gp;
}

absl::StatusOr<std::string> RenderPlot(const PlotSpec& spec, const std::string& dir) {
  if (!ValidName(spec.name)) {
    return absl::InvalidArgumentError(fmt::format("bad plot name '{}'", spec.name));
  }
  if (spec.series.empty()) return absl::InvalidArgumentError("plot has no series");
  std::ostringstream data;
  if (spec.style == "histogram") {
    for (size_t c = 0; c < spec.categories.size(); ++c) {
      data << GpString(spec.categories[c]);
      for (const PlotSeries& s : spec.series) {
        data << ' ' << (c < s.points.size() ? s.points[c].second : 0.0);
      }
      data << '\n';
    }
  } else {
    for (const PlotSeries& s : spec.series) {
      data << "# " << s.title << '\n';
      for (const auto& [x, y] : s.points) data << x << ' ' << y << '\n';
      data << "\n\n";
    }
  }
  const std::string stem = dir + "/" + spec.name;
  DNS_RETURN_IF_ERROR(WriteFile(stem + ".dat", data.str()));
  DNS_RETURN_IF_ERROR(WriteFile(stem + ".gp", GnuplotScript(spec, stem + ".dat", stem)));
  if (Run("command -v gnuplot").first != 0) {
    return absl::FailedPreconditionError(
        "gnuplot is not installed (Debian: gnuplot-nox); data and script kept as " + spec.name +
        ".dat/.gp");
  }
  const auto [code, output] = Run("gnuplot " + ShellQuote(stem + ".gp"));
  if (code != 0) {
    return absl::InternalError(fmt::format("gnuplot failed on {}.gp: {}", stem, output));
  }
  return spec.name + ".svg";
}

ReportBuilder::ReportBuilder(std::string title, MachineInfo machine)
    : title_(std::move(title)), machine_(std::move(machine)) {}

void ReportBuilder::AddSection(const std::string& heading, const std::string& markdown) {
  sections_.emplace_back(heading, markdown);
}

std::string ReportBuilder::Markdown() const {
  std::string md = fmt::format("# {}\n\n", title_);
  Table machine{.columns = {{""}, {""}}};
  machine.AddRow({"date", machine_.date});
  machine.AddRow({"machine", fmt::format("{} cores, {}", machine_.cores, machine_.cpu_model)});
  machine.AddRow({"build", machine_.build_type});
  machine.AddRow({"command", "`" + machine_.command + "`"});
  md += TableMarkdown(machine);
  if (machine_.build_type != "Release") {
    md += "\n**Warning: not an optimised build; the figures are not meaningful.**\n";
  }
  for (const auto& [heading, body] : sections_) md += fmt::format("\n## {}\n\n{}\n", heading, body);
  return md;
}

absl::Status ReportBuilder::Write(const std::string& dir) const {
  return WriteFile(dir + "/REPORT.md", Markdown());
}

}  // namespace dnoscope::bench
