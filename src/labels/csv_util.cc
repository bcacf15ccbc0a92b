#include "labels/csv_util.h"

#include <cerrno>
#include <cmath>
#include <limits>

#include "absl/strings/numbers.h"
#include "absl/strings/string_view.h"
#include "fmt/format.h"

namespace dnoscope::labels::internal {
namespace {

// Debian's absl has its own string_view; convert without copying.
absl::string_view ToAbsl(std::string_view s) { return absl::string_view(s.data(), s.size()); }

// errno-derived status; EIO when errno was not set (ErrnoToStatus(0) is OK).
absl::Status IoError(int error, std::string message) {
  return absl::ErrnoToStatus(error != 0 ? error : EIO, message);
}

bool IsBlankChar(char c) { return c == ' ' || c == '\t'; }

std::string_view TrimBlanks(std::string_view s) {
  while (!s.empty() && IsBlankChar(s.front())) s.remove_prefix(1);
  while (!s.empty() && IsBlankChar(s.back())) s.remove_suffix(1);
  return s;
}

// Parses a quoted field starting at line[*pos] == '"'; leaves *pos after the
// closing quote and any blanks.
absl::Status ParseQuoted(std::string_view line, size_t* pos, std::string* field) {
  size_t i = *pos + 1;
  bool closed = false;
  while (i < line.size()) {
    if (line[i] == '"') {
      if (i + 1 < line.size() && line[i + 1] == '"') {
        field->push_back('"');
        i += 2;
        continue;
      }
      closed = true;
      ++i;
      break;
    }
    field->push_back(line[i++]);
  }
  if (!closed) return absl::InvalidArgumentError("unterminated quoted field");
  while (i < line.size() && IsBlankChar(line[i])) ++i;
  if (i < line.size() && line[i] != ',') {
    return absl::InvalidArgumentError("unexpected text after a closing quote");
  }
  *pos = i;
  return absl::OkStatus();
}

}  // namespace

bool LineReader::Next(std::string_view* line, int64_t* line_number) {
  if (pos_ >= text_.size()) return false;
  size_t end = text_.find('\n', pos_);
  if (end == std::string_view::npos) end = text_.size();
  std::string_view l = text_.substr(pos_, end - pos_);
  if (!l.empty() && l.back() == '\r') l.remove_suffix(1);
  pos_ = end + 1;
  *line = l;
  *line_number = ++line_number_;
  return true;
}

bool IsBlank(std::string_view line) { return TrimBlanks(line).empty(); }

absl::Status SplitCsvLine(std::string_view line, std::vector<std::string>* fields) {
  fields->clear();
  size_t i = 0;
  while (true) {
    while (i < line.size() && IsBlankChar(line[i])) ++i;
    std::string field;
    if (i < line.size() && line[i] == '"') {
      if (absl::Status s = ParseQuoted(line, &i, &field); !s.ok()) return s;
    } else {
      size_t end = line.find(',', i);
      if (end == std::string_view::npos) end = line.size();
      field = std::string(TrimBlanks(line.substr(i, end - i)));
      i = end;
    }
    fields->push_back(std::move(field));
    if (i >= line.size()) return absl::OkStatus();
    ++i;  // the comma
  }
}

std::string QuoteCsvField(std::string_view field) {
  const bool needs_quotes =
      field.find_first_of(",\"") != std::string_view::npos ||
      (!field.empty() && (IsBlankChar(field.front()) || IsBlankChar(field.back())));
  if (!needs_quotes) return std::string(field);
  std::string out = "\"";
  for (char c : field) {
    if (c == '"') out.push_back('"');
    out.push_back(c);
  }
  out.push_back('"');
  return out;
}

absl::Status ParseInt64Field(const std::string& text, std::string_view name, int64_t* out) {
  if (absl::SimpleAtoi(ToAbsl(text), out)) return absl::OkStatus();
  return absl::InvalidArgumentError(fmt::format("field '{}' is not an integer: '{}'", name, text));
}

absl::Status ParseFiniteFloatField(const std::string& text, std::string_view name, float* out) {
  if (!absl::SimpleAtof(ToAbsl(text), out)) {
    return absl::InvalidArgumentError(fmt::format("field '{}' is not a number: '{}'", name, text));
  }
  if (!std::isfinite(*out)) {
    return absl::InvalidArgumentError(
        fmt::format("field '{}' is not a finite number: '{}'", name, text));
  }
  return absl::OkStatus();
}

absl::Status ParseOptionalFloatField(const std::string& text, std::string_view name, float* out) {
  if (text.empty()) {
    *out = std::numeric_limits<float>::quiet_NaN();
    return absl::OkStatus();
  }
  if (absl::SimpleAtof(ToAbsl(text), out)) return absl::OkStatus();
  return absl::InvalidArgumentError(fmt::format("field '{}' is not a number: '{}'", name, text));
}

std::string FormatFloat(float value) { return fmt::format("{}", value); }

absl::Status LocatedError(std::string_view source, int64_t line, std::string_view what) {
  return absl::InvalidArgumentError(fmt::format("{}:{}: {}", source, line, what));
}

absl::Status LocatedError(std::string_view source, int64_t line, const absl::Status& cause) {
  const absl::string_view what = cause.message();
  return LocatedError(source, line, std::string_view(what.data(), what.size()));
}

absl::StatusOr<FILE*> OpenForWrite(const std::string& path) {
  FILE* file = std::fopen(path.c_str(), "w");
  if (file == nullptr) {
    const int error = errno;
    return IoError(error, fmt::format("cannot open '{}' for writing", path));
  }
  return file;
}

absl::Status WriteLine(FILE* file, const std::string& path, std::string_view row) {
  if (std::fwrite(row.data(), 1, row.size(), file) != row.size() || std::fputc('\n', file) == EOF) {
    const int error = errno;
    return IoError(error, fmt::format("cannot write '{}'", path));
  }
  return absl::OkStatus();
}

absl::Status FinishFile(FILE* file, const std::string& path, bool close) {
  bool failed = std::fflush(file) != 0 || std::ferror(file) != 0;
  int error = errno;
  if (close && std::fclose(file) != 0 && !failed) {
    failed = true;
    error = errno;
  }
  if (failed) return IoError(error, fmt::format("cannot write '{}'", path));
  return absl::OkStatus();
}

}  // namespace dnoscope::labels::internal
