// Region of interest in full-frame pixel coordinates, and the frame-range
// syntax shared by every subcommand.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace dnoscope {

// Half-open rectangle [x0, x1) x [y0, y1) in pixels of the full frame.
struct Roi {
  int x0 = 0;
  int y0 = 0;
  int x1 = 0;
  int y1 = 0;

  int width() const { return x1 - x0; }
  int height() const { return y1 - y0; }
  // True when the point lies inside the rectangle.
  bool Contains(double x, double y) const { return x >= x0 && x < x1 && y >= y0 && y < y1; }
  // True when the centre of box (xmin, ymin, xmax, ymax) lies inside.
  bool ContainsBoxCentre(double xmin, double ymin, double xmax, double ymax) const {
    return Contains((xmin + xmax) / 2.0, (ymin + ymax) / 2.0);
  }
  std::string ToString() const;
  bool operator==(const Roi&) const = default;
};

// Parses "X0,Y0,X1,Y1" (integers, X1 > X0, Y1 > Y0). InvalidArgument otherwise.
absl::StatusOr<Roi> ParseRoi(std::string_view text);

// OK when the ROI lies inside a width x height frame; InvalidArgument otherwise.
absl::Status CheckRoiInFrame(const Roi& roi, int width, int height);

// Frame range [start, end); end == nullopt means "to the end of the video".
struct FrameRange {
  int64_t start = 0;
  std::optional<int64_t> end;

  bool Contains(int64_t frame) const { return frame >= start && (!end || frame < *end); }
  std::string ToString() const;
};

// Parses "START:END", "START:" or ":END" (0-based, END exclusive). InvalidArgument otherwise.
absl::StatusOr<FrameRange> ParseFrameRange(std::string_view text);

}  // namespace dnoscope
