#include "common/roi.h"

#include <vector>

#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "fmt/format.h"

namespace dnoscope {

std::string Roi::ToString() const { return fmt::format("{},{},{},{}", x0, y0, x1, y1); }

absl::StatusOr<Roi> ParseRoi(std::string_view text) {
  const std::string owned(text);
  std::vector<std::string> parts = absl::StrSplit(owned, ',');
  int v[4];
  bool ok = parts.size() == 4;
  for (size_t i = 0; ok && i < 4; ++i) {
    ok = absl::SimpleAtoi(std::string(absl::StripAsciiWhitespace(parts[i])), &v[i]) && v[i] >= 0;
  }
  if (!ok) {
    return absl::InvalidArgumentError(
        fmt::format("bad ROI '{}': expected X0,Y0,X1,Y1 as four non-negative integers", text));
  }
  Roi roi{v[0], v[1], v[2], v[3]};
  if (roi.x1 <= roi.x0 || roi.y1 <= roi.y0) {
    return absl::InvalidArgumentError(fmt::format("bad ROI '{}': need X1 > X0 and Y1 > Y0", text));
  }
  return roi;
}

absl::Status CheckRoiInFrame(const Roi& roi, int width, int height) {
  if (roi.x1 > width || roi.y1 > height) {
    return absl::InvalidArgumentError(
        fmt::format("ROI {} exceeds the {}x{} frame", roi.ToString(), width, height));
  }
  return absl::OkStatus();
}

std::string FrameRange::ToString() const {
  return end ? fmt::format("{}:{}", start, *end) : fmt::format("{}:", start);
}

absl::StatusOr<FrameRange> ParseFrameRange(std::string_view text) {
  const size_t colon = text.find(':');
  auto bad = [&](std::string_view why) {
    return absl::InvalidArgumentError(fmt::format(
        "bad frame range '{}': {} (expected START:END, 0-based, END exclusive)", text, why));
  };
  if (colon == std::string_view::npos) return bad("missing ':'");
  FrameRange range;
  const std::string start(absl::StripAsciiWhitespace(std::string(text.substr(0, colon))));
  const std::string end(absl::StripAsciiWhitespace(std::string(text.substr(colon + 1))));
  if (!start.empty() && (!absl::SimpleAtoi(start, &range.start) || range.start < 0)) {
    return bad("START is not a non-negative integer");
  }
  if (!end.empty()) {
    int64_t e;
    if (!absl::SimpleAtoi(end, &e) || e < 0) return bad("END is not a non-negative integer");
    if (e <= range.start) return bad("END must be greater than START");
    range.end = e;
  }
  return range;
}

}  // namespace dnoscope
