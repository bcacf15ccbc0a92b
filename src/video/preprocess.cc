#include "video/preprocess.h"

#include "opencv2/imgproc.hpp"

namespace dnoscope::video {
namespace {

int ToCv(Interpolation interpolation) {
  switch (interpolation) {
    case Interpolation::kArea: return cv::INTER_AREA;
    case Interpolation::kLinear: return cv::INTER_LINEAR;
    case Interpolation::kNearest: return cv::INTER_NEAREST;
  }
  return cv::INTER_AREA;
}

}  // namespace

void CropAndResize(const cv::Mat& frame, const std::optional<Roi>& roi, int width, int height,
                   Interpolation interpolation, cv::Mat* out) {
  const cv::Mat view =
      roi ? frame(cv::Rect(roi->x0, roi->y0, roi->width(), roi->height())) : frame;
  if (view.cols == width && view.rows == height) {
    view.copyTo(*out);
    return;
  }
  cv::resize(view, *out, cv::Size(width, height), 0, 0, ToCv(interpolation));
}

}  // namespace dnoscope::video
