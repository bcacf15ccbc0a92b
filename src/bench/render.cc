#include "bench/render.h"

#include <algorithm>
#include <cmath>

#include "common/file.h"
#include "common/status_macros.h"
#include "fmt/format.h"
#include "nlohmann/json.hpp"

namespace dnoscope::bench {
namespace {

using Json = nlohmann::ordered_json;

// Digits after the point that show about four significant digits of `v`
// (none for a whole number).
int SignificantDecimals(double v) {
  const double a = std::abs(v);
  if (a == 0 || !std::isfinite(a) || (a < 1e15 && a == std::round(a))) return 0;
  return std::clamp(3 - static_cast<int>(std::floor(std::log10(a))), 0, 9);
}

bool IsText(const Cell& cell) { return std::holds_alternative<std::string>(cell); }

std::string CsvField(std::string field) {
  if (field.find_first_of(",\"\n\r") == std::string::npos) return field;
  std::string out = "\"";
  for (char c : field) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

// Every digit: integers as they are, measurements in their shortest exact form.
std::string CsvCell(const Cell& cell) {
  if (const auto* i = std::get_if<int64_t>(&cell)) return std::to_string(*i);
  if (const auto* d = std::get_if<double>(&cell)) return std::isfinite(*d) ? fmt::format("{}", *d) : "";
  if (const auto* s = std::get_if<std::string>(&cell)) return CsvField(*s);
  return "";
}

Json JsonCell(const Cell& cell) {
  if (const auto* i = std::get_if<int64_t>(&cell)) return *i;
  if (const auto* d = std::get_if<double>(&cell)) return std::isfinite(*d) ? Json(*d) : Json();
  if (const auto* s = std::get_if<std::string>(&cell)) return *s;
  return nullptr;
}

Json TableToJson(const Table& table) {
  Json columns = Json::array();
  for (const Column& c : table.columns) columns.push_back({{"name", c.name}, {"unit", c.unit}});
  Json rows = Json::array();
  for (const std::vector<Cell>& row : table.rows) {
    Json object = Json::object();
    for (size_t i = 0; i < table.columns.size(); ++i) {
      object[HeaderKey(table.columns[i])] = i < row.size() ? JsonCell(row[i]) : Json();
    }
    rows.push_back(std::move(object));
  }
  return {{"name", table.name}, {"title", table.title}, {"columns", columns},
          {"rows", rows},       {"notes", table.notes}};
}

// The cells of `table` as shown, header first.
std::vector<std::vector<std::string>> ShownCells(const Table& table) {
  std::vector<std::vector<std::string>> shown(1);
  for (const Column& c : table.columns) shown[0].push_back(HeaderText(c));
  for (const std::vector<Cell>& row : table.rows) {
    std::vector<std::string>& line = shown.emplace_back();
    for (size_t i = 0; i < table.columns.size(); ++i) {
      line.push_back(FormatCell(i < row.size() ? row[i] : Cell(), table.columns[i]));
    }
  }
  return shown;
}

// A column is left-aligned when its first non-empty cell is a text.
bool LeftAligned(const Table& table, size_t column) {
  for (const std::vector<Cell>& row : table.rows) {
    if (column < row.size() && !std::holds_alternative<std::monostate>(row[column])) {
      return IsText(row[column]);
    }
  }
  return false;
}

std::string Lines(const std::vector<std::string>& lines, const std::string& prefix) {
  std::string out;
  for (const std::string& line : lines) out += prefix + line + "\n";
  return out;
}

}  // namespace

std::string HeaderText(const Column& column) {
  return column.unit.empty() ? column.name : column.name + " " + column.unit;
}

std::string HeaderKey(const Column& column) {
  if (column.unit.empty()) return column.name;
  std::string unit;
  for (char c : column.unit) {
    if (c == '/') unit += "_per_";
    else if (c == '%') unit += "pct";
    else if (c == ' ') unit += '_';
    else unit += c;
  }
  return column.name + "_" + unit;
}

std::string FormatCell(const Cell& cell, const Column& column) {
  if (const auto* i = std::get_if<int64_t>(&cell)) return std::to_string(*i);
  if (const auto* s = std::get_if<std::string>(&cell)) return s->empty() ? "-" : *s;
  const auto* d = std::get_if<double>(&cell);
  if (d == nullptr || !std::isfinite(*d)) return "-";
  const int decimals = column.decimals == kSignificant ? SignificantDecimals(*d) : column.decimals;
  return fmt::format("{:.{}f}", *d, std::max(0, decimals));
}

std::string TableText(const Table& table) {
  const std::vector<std::vector<std::string>> shown = ShownCells(table);
  std::vector<size_t> width(table.columns.size(), 0);
  for (const auto& line : shown) {
    for (size_t i = 0; i < line.size(); ++i) width[i] = std::max(width[i], line[i].size());
  }
  std::string out = table.title.empty() ? "" : table.title + ":\n";
  for (const auto& line : shown) {
    std::string text;
    for (size_t i = 0; i < line.size(); ++i) {
      if (i > 0) text += "  ";
      text += LeftAligned(table, i) ? fmt::format("{:<{}}", line[i], width[i])
                                    : fmt::format("{:>{}}", line[i], width[i]);
    }
    text.erase(text.find_last_not_of(' ') + 1);
    out += text + "\n";
  }
  return out + Lines(table.notes, "");
}

std::string TableCsv(const Table& table) {
  std::string out;
  for (size_t i = 0; i < table.columns.size(); ++i) {
    if (i > 0) out += ',';
    out += CsvField(HeaderKey(table.columns[i]));
  }
  out += "\n";
  for (const std::vector<Cell>& row : table.rows) {
    for (size_t i = 0; i < table.columns.size(); ++i) {
      if (i > 0) out += ',';
      out += CsvCell(i < row.size() ? row[i] : Cell());
    }
    out += "\n";
  }
  return out;
}

std::string TableJson(const Table& table) { return TableToJson(table).dump(2) + "\n"; }

std::string TableMarkdown(const Table& table) {
  const std::vector<std::vector<std::string>> shown = ShownCells(table);
  std::string out = table.title.empty() ? "" : "*" + table.title + "*\n\n";
  for (size_t r = 0; r < shown.size(); ++r) {
    out += "|";
    for (const std::string& cell : shown[r]) out += " " + cell + " |";
    out += "\n";
    if (r == 0) {
      out += "|";
      for (size_t i = 0; i < shown[0].size(); ++i) out += LeftAligned(table, i) ? " --- |" : " ---: |";
      out += "\n";
    }
  }
  if (!table.notes.empty()) out += fmt::format("\n{}", Lines(table.notes, ""));
  return out;
}

std::string ResultText(const ScenarioResult& result) {
  std::string out = result.title + "\n" + Lines(result.setup, "");
  for (const Table& table : result.tables) out += fmt::format("\n{}", TableText(table));
  if (!result.notes.empty()) out += fmt::format("\n{}", Lines(result.notes, "note: "));
  return out + Lines(result.checks, "CHECK FAILED: ");
}

std::string ResultJson(const ScenarioResult& result) {
  Json tables = Json::array();
  for (const Table& table : result.tables) tables.push_back(TableToJson(table));
  const Json j = {{"scenario", result.scenario}, {"title", result.title},
                  {"setup", result.setup},       {"tables", tables},
                  {"notes", result.notes},       {"checks", result.checks}};
  return j.dump(2) + "\n";
}

std::string ResultMarkdown(const ScenarioResult& result,
                           const std::vector<std::string>& plot_lines) {
  std::string out = Lines(result.setup, "");
  for (const Table& table : result.tables) out += fmt::format("\n{}", TableMarkdown(table));
  if (!plot_lines.empty()) out += fmt::format("\n{}", Lines(plot_lines, ""));
  if (!result.notes.empty()) out += fmt::format("\n{}", Lines(result.notes, "- "));
  if (!result.checks.empty()) {
    out += fmt::format("\n{}", Lines(result.checks, "- **CHECK FAILED**: "));
  }
  return out;
}

absl::StatusOr<WrittenResult> WriteResult(const ScenarioResult& result, const std::string& dir) {
  WrittenResult written;
  auto write = [&](const std::string& name, const std::string& text) {
    written.files.push_back(dir + "/" + name);
    return WriteFile(written.files.back(), text);
  };
  for (const Table& table : result.tables) DNS_RETURN_IF_ERROR(write(table.name + ".csv", TableCsv(table)));
  DNS_RETURN_IF_ERROR(write(result.scenario + ".json", ResultJson(result)));
  std::vector<std::string> plot_lines;
  for (const PlotSpec& plot : result.plots) {
    absl::StatusOr<std::string> svg = RenderPlot(plot, dir);
    plot_lines.push_back(svg.ok() ? fmt::format("![{}]({})", plot.title, *svg)
                                  : fmt::format("*Plot \"{}\" not rendered: {}*", plot.title,
                                                std::string(svg.status().message())));
  }
  written.markdown = ResultMarkdown(result, plot_lines);
  return written;
}

}  // namespace dnoscope::bench
