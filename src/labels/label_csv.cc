#include "labels/label_csv.h"

#include <algorithm>
#include <array>

#include "absl/status/status.h"
#include "common/file.h"
#include "common/status_macros.h"
#include "fmt/format.h"
#include "labels/csv_util.h"

namespace dnoscope::labels {
namespace {

constexpr size_t kLabelFields = 7;

// Fills *d from the 7 fields of one row; the error names what is wrong.
absl::Status ParseDetection(const std::vector<std::string>& fields, Detection* d) {
  if (fields.size() != kLabelFields) {
    return absl::InvalidArgumentError(
        fmt::format("expected {} fields, got {}", kLabelFields, fields.size()));
  }
  DNS_RETURN_IF_ERROR(internal::ParseInt64Field(fields[0], "frame", &d->frame));
  if (d->frame < 0) {
    return absl::InvalidArgumentError(fmt::format("negative frame number: {}", d->frame));
  }
  if (d->frame > kMaxLabelFrame) {
    return absl::InvalidArgumentError(
        fmt::format("frame number {} is larger than {}", d->frame, kMaxLabelFrame));
  }
  if (fields[1].empty()) return absl::InvalidArgumentError("empty object_name");
  d->object_name = fields[1];
  const std::array<std::pair<const char*, float*>, 5> numbers = {{
      {"confidence", &d->confidence},
      {"xmin", &d->xmin},
      {"ymin", &d->ymin},
      {"xmax", &d->xmax},
      {"ymax", &d->ymax},
  }};
  for (size_t i = 0; i < numbers.size(); ++i) {
    DNS_RETURN_IF_ERROR(
        internal::ParseFiniteFloatField(fields[i + 2], numbers[i].first, numbers[i].second));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::vector<Detection>> ParseLabelCsv(std::string_view text,
                                                     std::string_view source_name) {
  return internal::ParseCsvRows<Detection>(text, source_name, kLabelFields, ParseDetection);
}

absl::StatusOr<std::vector<Detection>> ReadLabelCsv(const std::string& path) {
  DNS_ASSIGN_OR_RETURN(std::string text, ReadFile(path));
  return ParseLabelCsv(text, path);
}

std::string FormatLabelRow(const Detection& d) {
  return fmt::format("{},{},{},{},{},{},{}", d.frame, internal::QuoteCsvField(d.object_name),
                     internal::FormatFloat(d.confidence), internal::FormatFloat(d.xmin),
                     internal::FormatFloat(d.ymin), internal::FormatFloat(d.xmax),
                     internal::FormatFloat(d.ymax));
}

absl::StatusOr<std::unique_ptr<LabelCsvWriter>> LabelCsvWriter::Open(const std::string& path) {
  DNS_ASSIGN_OR_RETURN(FILE * file, internal::OpenForWrite(path));
  std::unique_ptr<LabelCsvWriter> writer(new LabelCsvWriter(file, path));
  DNS_RETURN_IF_ERROR(internal::WriteLine(file, path, kLabelCsvHeader));
  return writer;
}

LabelCsvWriter::~LabelCsvWriter() {
  if (file_ != nullptr) std::fclose(file_);
}

absl::Status LabelCsvWriter::Write(const Detection& detection) {
  if (file_ == nullptr) {
    return absl::FailedPreconditionError(fmt::format("'{}' is already closed", path_));
  }
  if (detection.object_name.find_first_of("\r\n") != std::string::npos) {
    return absl::InvalidArgumentError(
        fmt::format("object name of frame {} contains a line break", detection.frame));
  }
  return internal::WriteLine(file_, path_, FormatLabelRow(detection));
}

absl::Status LabelCsvWriter::Close() {
  if (file_ == nullptr) return absl::OkStatus();
  FILE* file = file_;
  file_ = nullptr;
  return internal::FinishFile(file, path_, /*close=*/true);
}

absl::Status WriteLabelCsv(const std::string& path, std::span<const Detection> detections) {
  DNS_ASSIGN_OR_RETURN(std::unique_ptr<LabelCsvWriter> writer, LabelCsvWriter::Open(path));
  for (const Detection& d : detections) DNS_RETURN_IF_ERROR(writer->Write(d));
  return writer->Close();
}

bool LabelFilter::Matches(std::string_view name, float confidence, float x1, float y1, float x2,
                          float y2) const {
  if (!object_name.empty() && name != object_name) return false;
  if (confidence < min_confidence) return false;
  return !roi || roi->ContainsBoxCentre(x1, y1, x2, y2);
}

bool LabelFilter::Matches(const Detection& d) const {
  return Matches(d.object_name, d.confidence, d.xmin, d.ymin, d.xmax, d.ymax);
}

LabelIndex LabelIndex::Build(std::span<const Detection> detections, const LabelFilter& filter,
                             int64_t num_frames) {
  if (num_frames < 0) {
    num_frames = 0;
    for (const Detection& d : detections) num_frames = std::max(num_frames, d.frame + 1);
  }
  LabelIndex index;
  index.positive_.assign(static_cast<size_t>(num_frames), 0);
  index.max_confidence_.assign(static_cast<size_t>(num_frames), 0.0f);
  for (const Detection& d : detections) {
    if (d.frame < 0 || d.frame >= num_frames || !filter.Matches(d)) continue;
    index.positive_[d.frame] = 1;
    index.max_confidence_[d.frame] = std::max(index.max_confidence_[d.frame], d.confidence);
  }
  return index;
}

bool LabelIndex::Positive(int64_t frame) const {
  return frame >= 0 && frame < num_frames() && positive_[frame] != 0;
}

float LabelIndex::MaxConfidence(int64_t frame) const {
  return frame >= 0 && frame < num_frames() ? max_confidence_[frame] : 0.0f;
}

int64_t LabelIndex::CountPositive() const {
  return std::count(positive_.begin(), positive_.end(), uint8_t{1});
}

}  // namespace dnoscope::labels
