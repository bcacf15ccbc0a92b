// The one renderer of benchmark results: any Table, and any scenario's
// whole result, as aligned text (the terminal), CSV (one file per table),
// JSON (one file per scenario) and markdown (its REPORT.md section).
//
//  - Column headers are the column's name and unit: "wall s" in text and
//    markdown, "wall_s" in CSV and as JSON keys ("frames/s" -> "frames_per_s",
//    "%" -> "pct").
//  - Text and markdown round numbers to the column's decimals; CSV and JSON
//    keep every digit. Empty cells are "-" in text and markdown, nothing in
//    CSV and null in JSON.
//
// Thread-safety: pure functions; WriteResult writes files (one call per
// directory at a time).
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "bench/scenario.h"
#include "bench/table.h"

namespace dnoscope::bench {

// "wall s" / "wall_s".
std::string HeaderText(const Column& column);
std::string HeaderKey(const Column& column);
// A cell as text and markdown show it.
std::string FormatCell(const Cell& cell, const Column& column);

// Title line, aligned header and rows (numbers right-aligned), notes.
std::string TableText(const Table& table);
// Header line and one line per row; RFC 4180 quoting.
std::string TableCsv(const Table& table);
// {"name", "title", "columns": [{"name", "unit"}], "rows": [{key: value}], "notes"}.
std::string TableJson(const Table& table);
// Italic title, a markdown table, notes.
std::string TableMarkdown(const Table& table);

// Every part of `result` for the terminal: title, setup, tables, notes,
// failed checks.
std::string ResultText(const ScenarioResult& result);
// {"scenario", "title", "setup", "tables": [TableJson...], "notes", "checks"}.
std::string ResultJson(const ScenarioResult& result);
// The REPORT.md section body; `plot_lines` are markdown lines for the plots
// (an image, or why it was not rendered).
std::string ResultMarkdown(const ScenarioResult& result,
                           const std::vector<std::string>& plot_lines);

struct WrittenResult {
  // The REPORT.md section body, plots included.
  std::string markdown;
  // The files written, in order.
  std::vector<std::string> files;
};

// Writes <dir>/<table name>.csv for every table, <dir>/<scenario>.json and
// the plots (bench_report.h; a plot gnuplot cannot render becomes a note in
// the markdown). Errors: WriteFile's.
absl::StatusOr<WrittenResult> WriteResult(const ScenarioResult& result, const std::string& dir);

}  // namespace dnoscope::bench
