// Internal helpers shared by the label and prediction CSV readers/writers:
// line iteration, RFC 4180-style field splitting, typed field parsing and
// errno-aware file I/O. Not part of the labels API. Thread-safe (no state).
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace dnoscope::labels::internal {

// Iterates the lines of `text`; strips a trailing '\r'. Line numbers are 1-based.
class LineReader {
 public:
  explicit LineReader(std::string_view text) : text_(text) {}
  // False at the end of the text; otherwise sets *line and *line_number.
  bool Next(std::string_view* line, int64_t* line_number);

 private:
  std::string_view text_;
  size_t pos_ = 0;
  int64_t line_number_ = 0;
};

// True when the line holds only spaces and tabs.
bool IsBlank(std::string_view line);

// Splits one CSV line. Quoted fields may contain commas and doubled quotes
// (""); unquoted fields are trimmed of spaces and tabs. InvalidArgument (the
// message without a location) for an unterminated quote or text after one.
absl::Status SplitCsvLine(std::string_view line, std::vector<std::string>* fields);

// Parses every non-blank row of a CSV text with `parse_row`, in order. The
// first row is skipped as a header when its first field is "frame" and it has
// `header_fields` fields. Errors carry "<source>:<line>: ".
template <typename Row, typename ParseRow>
absl::StatusOr<std::vector<Row>> ParseCsvRows(std::string_view text, std::string_view source,
                                              size_t header_fields, ParseRow parse_row);

// Quotes `field` when it holds a comma, a quote or leading/trailing blanks.
std::string QuoteCsvField(std::string_view field);

// Typed field parsers; the error message (no location) names the field:
// "field 'frame' is not an integer: 'x'".
absl::Status ParseInt64Field(const std::string& text, std::string_view name, int64_t* out);
// Finite numbers only.
absl::Status ParseFiniteFloatField(const std::string& text, std::string_view name, float* out);
// Empty -> NaN; otherwise any number ("nan" and "inf" included).
absl::Status ParseOptionalFloatField(const std::string& text, std::string_view name, float* out);

// Formats a float with the fewest digits that parse back to the same value.
std::string FormatFloat(float value);

// Prefixes a parse error with "<source>:<line>: " (InvalidArgument).
absl::Status LocatedError(std::string_view source, int64_t line, std::string_view what);
absl::Status LocatedError(std::string_view source, int64_t line, const absl::Status& cause);

// fopen(path, "w") with an errno-derived status on failure.
absl::StatusOr<FILE*> OpenForWrite(const std::string& path);

// Writes `row` plus '\n'; an errno-derived status naming `path` on failure.
absl::Status WriteLine(FILE* file, const std::string& path, std::string_view row);

// Flushes and (when `close`) closes `file`; reports buffered write errors.
absl::Status FinishFile(FILE* file, const std::string& path, bool close);

template <typename Row, typename ParseRow>
absl::StatusOr<std::vector<Row>> ParseCsvRows(std::string_view text, std::string_view source,
                                              size_t header_fields, ParseRow parse_row) {
  std::vector<Row> rows;
  std::vector<std::string> fields;
  LineReader reader(text);
  std::string_view line;
  int64_t line_number = 0;
  bool first_row = true;
  while (reader.Next(&line, &line_number)) {
    if (IsBlank(line)) continue;
    absl::Status status = SplitCsvLine(line, &fields);
    if (!status.ok()) return LocatedError(source, line_number, status);
    // The header is recognised by its first column; its width is still
    // checked (optional trailing columns allowed).
    const bool header = first_row && fields[0] == "frame";
    first_row = false;
    if (header && fields.size() >= header_fields) continue;
    Row row;
    status = parse_row(fields, &row);
    if (!status.ok()) return LocatedError(source, line_number, status);
    rows.push_back(std::move(row));
  }
  return rows;
}

}  // namespace dnoscope::labels::internal
