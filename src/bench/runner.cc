#include "bench/runner.h"

#include <chrono>
#include <filesystem>

#include "bench/render.h"
#include "common/status_macros.h"
#include "fmt/format.h"
#include "fmt/ranges.h"

namespace dnoscope::bench {
namespace {

namespace fs = std::filesystem;

void Print(const RunOptions& o, const std::string& text) {
  if (o.print) o.print(text);
}

std::string Banner(const std::string& name, const MachineInfo& m) {
  std::string banner = fmt::format("dnoscope bench {} ({} build, {} hardware threads)\n", name,
                                   m.build_type, m.cores);
  if (m.build_type != "Release") {
    banner += "WARNING: not an optimized build; figures are not meaningful. Use the release "
              "preset.\n";
  }
  return banner;
}

// Runs `scenario` in its scratch directory and prints its text; writes its
// files and adds its section to `report` when there is an output directory.
absl::Status RunOne(const Scenario& scenario, const RunOptions& o, ReportBuilder& report) {
  Print(o, Banner(scenario.name, o.machine));
  const fs::path scratch = fs::path(o.scratch_dir) / scenario.name;
  std::error_code ec;
  fs::create_directories(scratch, ec);
  if (ec) return absl::InternalError(fmt::format("cannot create '{}': {}", scratch.string(), ec.message()));
  absl::StatusOr<ScenarioResult> result = scenario.run({scratch.string(), o.progress});
  if (!o.keep_scratch) fs::remove_all(scratch, ec);
  if (!result.ok()) return result.status();
  Print(o, fmt::format("\n{}", ResultText(*result)));
  if (o.out_dir.empty()) return absl::OkStatus();
  DNS_ASSIGN_OR_RETURN(WrittenResult written, WriteResult(*result, o.out_dir));
  for (const std::string& file : written.files) Print(o, "wrote " + file + "\n");
  report.AddSection(fmt::format("{} ({})", result->title, result->scenario), written.markdown);
  return absl::OkStatus();
}

// Writes REPORT.md (when there is an output directory); says so when `last`.
absl::Status WriteReport(const RunOptions& o, const ReportBuilder& report, bool last) {
  if (o.out_dir.empty()) return absl::OkStatus();
  DNS_RETURN_IF_ERROR(report.Write(o.out_dir));
  if (last) Print(o, fmt::format("wrote {}/REPORT.md\n", o.out_dir));
  return absl::OkStatus();
}

}  // namespace

absl::Status RunScenarios(const std::vector<Scenario>& scenarios, const RunOptions& o) {
  ReportBuilder report("dnoscope bench", o.machine);
  std::vector<std::string> failures;
  absl::Status last;
  const auto start = std::chrono::steady_clock::now();
  for (const Scenario& scenario : scenarios) {
    last = RunOne(scenario, o, report);
    if (!last.ok()) {
      failures.push_back(fmt::format("{}: {}", scenario.name, std::string(last.message())));
      report.AddSection(scenario.name + " (failed)", std::string(last.message()) + "\n");
    }
    if (scenarios.size() > 1) DNS_RETURN_IF_ERROR(WriteReport(o, report, /*last=*/false));
  }
  if (scenarios.size() == 1) return last.ok() ? WriteReport(o, report, /*last=*/true) : last;
  const double minutes =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() / 60;
  report.AddSection("Run", fmt::format("All scenarios took {:.1f} minutes.\n", minutes));
  DNS_RETURN_IF_ERROR(WriteReport(o, report, /*last=*/true));
  if (failures.empty()) return absl::OkStatus();
  return absl::InternalError(
      fmt::format("{} scenario(s) failed: {}", failures.size(), fmt::join(failures, "; ")));
}

}  // namespace dnoscope::bench
