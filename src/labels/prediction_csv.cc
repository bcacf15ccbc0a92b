#include "labels/prediction_csv.h"

#include <array>

#include "absl/status/status.h"
#include "common/file.h"
#include "common/status_macros.h"
#include "fmt/format.h"
#include "labels/csv_util.h"

namespace dnoscope::labels {
namespace {

constexpr size_t kPredictionFields = 6;

constexpr std::array<std::string_view, kNumFrameStatuses> kStatusNames = {
    "skipped", "diff_reused", "specialized", "reference", "corrupt", "dropped"};

std::string FormatOptionalFloat(float value) {
  return std::isnan(value) ? std::string() : internal::FormatFloat(value);
}

absl::Status ParseLabelField(const std::string& text, bool* label) {
  if (text != "0" && text != "1") {
    return absl::InvalidArgumentError(fmt::format("field 'label' is not 0 or 1: '{}'", text));
  }
  *label = text == "1";
  return absl::OkStatus();
}

// Fills *r from the 6 fields of one row (7 with the audit column); the
// error names what is wrong.
absl::Status ParseFrameResult(const std::vector<std::string>& fields, FrameResult* r) {
  if (fields.size() != kPredictionFields && fields.size() != kPredictionFields + 1) {
    return absl::InvalidArgumentError(fmt::format("expected {} fields ({} with '{}'), got {}",
                                                  kPredictionFields, kPredictionFields + 1,
                                                  kAuditColumn, fields.size()));
  }
  if (fields.size() == kPredictionFields + 1) {
    if (fields[6] != "0" && fields[6] != "1") {
      return absl::InvalidArgumentError(
          fmt::format("field '{}' is not 0 or 1: '{}'", kAuditColumn, fields[6]));
    }
    r->audited = fields[6] == "1";
  }
  DNS_RETURN_IF_ERROR(internal::ParseInt64Field(fields[0], "frame", &r->frame));
  if (r->frame < 0) {
    return absl::InvalidArgumentError(fmt::format("negative frame number: {}", r->frame));
  }
  DNS_RETURN_IF_ERROR(ParseLabelField(fields[1], &r->label));
  absl::StatusOr<FrameStatus> status = ParseFrameStatus(fields[2]);
  if (!status.ok()) {
    return absl::InvalidArgumentError(
        fmt::format("field 'status': {}", std::string(status.status().message())));
  }
  r->status = *status;
  DNS_RETURN_IF_ERROR(internal::ParseOptionalFloatField(fields[3], "diff_score", &r->diff_score));
  DNS_RETURN_IF_ERROR(internal::ParseOptionalFloatField(fields[4], "specialized_confidence",
                                                        &r->specialized_confidence));
  return internal::ParseOptionalFloatField(fields[5], "reference_confidence",
                                           &r->reference_confidence);
}

}  // namespace

std::string_view FrameStatusName(FrameStatus status) {
  const auto i = static_cast<size_t>(status);
  return i < kStatusNames.size() ? kStatusNames[i] : "unknown";
}

absl::StatusOr<FrameStatus> ParseFrameStatus(std::string_view name) {
  for (size_t i = 0; i < kStatusNames.size(); ++i) {
    if (kStatusNames[i] == name) return static_cast<FrameStatus>(i);
  }
  return absl::InvalidArgumentError(fmt::format("unknown frame status '{}' (expected one of {})",
                                                name, fmt::join(kStatusNames, ", ")));
}

absl::StatusOr<std::vector<FrameResult>> ParsePredictionCsv(std::string_view text,
                                                            std::string_view source_name) {
  return internal::ParseCsvRows<FrameResult>(text, source_name, kPredictionFields,
                                             ParseFrameResult);
}

absl::StatusOr<std::vector<FrameResult>> ReadPredictionCsv(const std::string& path) {
  DNS_ASSIGN_OR_RETURN(std::string text, ReadFile(path));
  return ParsePredictionCsv(text, path);
}

std::string FormatPredictionRow(const FrameResult& r, bool audit_column) {
  std::string row = fmt::format("{},{},{},{},{},{}", r.frame, r.label ? 1 : 0,
                                FrameStatusName(r.status), FormatOptionalFloat(r.diff_score),
                                FormatOptionalFloat(r.specialized_confidence),
                                FormatOptionalFloat(r.reference_confidence));
  if (audit_column) row += r.audited ? ",1" : ",0";
  return row;
}

absl::StatusOr<std::unique_ptr<PredictionCsvWriter>> PredictionCsvWriter::Open(
    const std::string& path, bool audit_column) {
  std::unique_ptr<PredictionCsvWriter> writer;
  if (path == "-") {
    writer.reset(new PredictionCsvWriter(stdout, "<stdout>", /*owned=*/false));
  } else {
    DNS_ASSIGN_OR_RETURN(FILE * file, internal::OpenForWrite(path));
    writer.reset(new PredictionCsvWriter(file, path, /*owned=*/true));
  }
  writer->audit_column_ = audit_column;
  const std::string header = audit_column
                                 ? fmt::format("{},{}", kPredictionCsvHeader, kAuditColumn)
                                 : std::string(kPredictionCsvHeader);
  DNS_RETURN_IF_ERROR(internal::WriteLine(writer->file_, writer->path_, header));
  return writer;
}

PredictionCsvWriter::~PredictionCsvWriter() {
  if (file_ == nullptr) return;
  if (owned_) {
    std::fclose(file_);
  } else {
    std::fflush(file_);
  }
}

absl::Status PredictionCsvWriter::Write(const FrameResult& result) {
  if (file_ == nullptr) {
    return absl::FailedPreconditionError(fmt::format("'{}' is already closed", path_));
  }
  return internal::WriteLine(file_, path_, FormatPredictionRow(result, audit_column_));
}

absl::Status PredictionCsvWriter::Close() {
  if (file_ == nullptr) return absl::OkStatus();
  FILE* file = file_;
  file_ = nullptr;
  return internal::FinishFile(file, path_, /*close=*/owned_);
}

}  // namespace dnoscope::labels
