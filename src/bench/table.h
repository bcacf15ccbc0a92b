// Table: what a benchmark scenario measured, as data. Named columns with
// units, rows of cells, and notes under the table. Scenarios return tables
// and never format them: bench/render.h writes any table as text, CSV, JSON
// and markdown.
//
// Thread-safety: value types and pure functions.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace dnoscope::bench {

// An empty cell (no such value, e.g. the seed has no figure there), a count,
// a measurement or a text.
using Cell = std::variant<std::monostate, int64_t, double, std::string>;

// Column::decimals for columns whose values span magnitudes: about four
// significant digits (none for whole numbers), never an exponent.
inline constexpr int kSignificant = -1;

struct Column {
  // snake_case, without the unit: "wall", "p50", "requests".
  std::string name;
  // Unit of every value: "s", "ms", "frames/s", "MB", "%"; empty for counts,
  // ratios and texts.
  std::string unit;
  // Digits after the point in text and markdown (CSV and JSON keep every
  // digit), or kSignificant.
  int decimals = 2;
};

struct Table {
  // File stem of the table's CSV (letters, digits, '_', '-'), e.g. "scaling".
  std::string name;
  // What a row is, one line: "one row per number of reference servers N_S".
  std::string title;
  std::vector<Column> columns;
  std::vector<std::vector<Cell>> rows;
  // Lines shown under the table (legends, goals).
  std::vector<std::string> notes;

  // Appends a row; cells past the last column are dropped, missing ones empty.
  void AddRow(std::vector<Cell> cells);
  // Appends a column with one value per existing row (missing ones empty).
  void AddColumn(Column column, std::vector<Cell> values);
  // Index of the column called `name`; nullopt when there is none.
  std::optional<size_t> ColumnIndex(std::string_view name) const;
  // The cell of `row` in column `column`; an empty cell when either is absent.
  const Cell& At(size_t row, std::string_view column) const;
  // The row whose first cell is the text `key`; nullopt when none is.
  std::optional<size_t> FindRow(std::string_view key) const;
  // At(...) as a number (a count or a measurement); nullopt otherwise.
  std::optional<double> Number(size_t row, std::string_view column) const;
  // The number in `column` of the row FindRow(key); nullopt when absent.
  std::optional<double> Lookup(std::string_view key, std::string_view column) const;
};

// A table of key figures, one row each, with columns figure, value, unit,
// goal and met ("yes", "no", or empty for figures without a goal).
Table FigureTable(std::string name, std::string title);
// Appends a figure to a FigureTable. `goal` says what the figure should be
// (">= 0.80"); `met` whether it is.
void AddFigure(Table& table, std::string figure, double value, std::string unit,
               std::string goal = "", std::optional<bool> met = std::nullopt);

}  // namespace dnoscope::bench
