#include "bench/table.h"

#include <utility>

namespace dnoscope::bench {
namespace {

const Cell kEmpty;

}  // namespace

void Table::AddRow(std::vector<Cell> cells) {
  cells.resize(columns.size());
  rows.push_back(std::move(cells));
}

void Table::AddColumn(Column column, std::vector<Cell> values) {
  columns.push_back(std::move(column));
  values.resize(rows.size());
  for (size_t i = 0; i < rows.size(); ++i) {
    rows[i].resize(columns.size() - 1);
    rows[i].push_back(std::move(values[i]));
  }
}

std::optional<size_t> Table::ColumnIndex(std::string_view name) const {
  for (size_t i = 0; i < columns.size(); ++i) {
    if (columns[i].name == name) return i;
  }
  return std::nullopt;
}

const Cell& Table::At(size_t row, std::string_view column) const {
  const std::optional<size_t> c = ColumnIndex(column);
  if (!c || row >= rows.size() || *c >= rows[row].size()) return kEmpty;
  return rows[row][*c];
}

std::optional<size_t> Table::FindRow(std::string_view key) const {
  for (size_t i = 0; i < rows.size(); ++i) {
    const auto* text = rows[i].empty() ? nullptr : std::get_if<std::string>(&rows[i][0]);
    if (text != nullptr && *text == key) return i;
  }
  return std::nullopt;
}

std::optional<double> Table::Number(size_t row, std::string_view column) const {
  const Cell& cell = At(row, column);
  if (const auto* i = std::get_if<int64_t>(&cell)) return static_cast<double>(*i);
  if (const auto* d = std::get_if<double>(&cell)) return *d;
  return std::nullopt;
}

std::optional<double> Table::Lookup(std::string_view key, std::string_view column) const {
  const std::optional<size_t> row = FindRow(key);
  return row ? Number(*row, column) : std::nullopt;
}

Table FigureTable(std::string name, std::string title) {
  return {.name = std::move(name),
          .title = std::move(title),
          .columns = {{"figure"}, {"value", "", kSignificant}, {"unit"}, {"goal"}, {"met"}}};
}

void AddFigure(Table& table, std::string figure, double value, std::string unit,
               std::string goal, std::optional<bool> met) {
  table.AddRow({std::move(figure), value, std::move(unit), std::move(goal),
                met ? Cell(std::string(*met ? "yes" : "no")) : Cell()});
}

}  // namespace dnoscope::bench
