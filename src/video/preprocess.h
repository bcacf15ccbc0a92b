// Per-stage frame preparation: region-of-interest crop and resize to a
// stage's input resolution. Pure functions; thread-safe.
#pragma once

#include <optional>

#include "common/roi.h"
#include "opencv2/core.hpp"

namespace dnoscope::video {

// kArea averages source pixels (anti-aliased); for shrink factors above 2 it
// is approximated by a linear shrink to twice the target and a 2x2 average.
enum class Interpolation { kArea, kLinear, kNearest };

// Crops `frame` (BGR uint8) to `roi` when given, then resizes to
// width x height into `*out` (reused when already allocated). The crop is a
// view; only the resize copies. `roi` must lie inside the frame.
void CropAndResize(const cv::Mat& frame, const std::optional<Roi>& roi, int width, int height,
                   Interpolation interpolation, cv::Mat* out);

}  // namespace dnoscope::video
