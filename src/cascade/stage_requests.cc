#include "cascade/stage_requests.h"

#include "absl/status/status.h"
#include "fmt/format.h"
#include "opencv2/imgcodecs.hpp"
#include "opencv2/imgproc.hpp"

namespace dnoscope::cascade {

std::string_view PayloadFormatName(PayloadFormat format) {
  switch (format) {
    case PayloadFormat::kRaw:
      return "raw";
    case PayloadFormat::kJpeg:
      return "jpeg";
    case PayloadFormat::kPng:
      return "png";
  }
  return "raw";
}

absl::StatusOr<PayloadFormat> ParsePayloadFormat(std::string_view name) {
  if (name == "raw") return PayloadFormat::kRaw;
  if (name == "jpeg" || name == "jpg") return PayloadFormat::kJpeg;
  if (name == "png") return PayloadFormat::kPng;
  return absl::InvalidArgumentError(
      fmt::format("unknown payload '{}' (expected raw, jpeg or png)", std::string(name)));
}

absl::Status ValidatePayloadOptions(const PayloadOptions& o) {
  if (o.jpeg_quality < 1 || o.jpeg_quality > 100) {
    return absl::InvalidArgumentError(
        fmt::format("JPEG quality must be 1..100, got {}", o.jpeg_quality));
  }
  if (o.resize_width < 0 || o.resize_height < 0 || (o.resize_width == 0) != (o.resize_height == 0)) {
    return absl::InvalidArgumentError(fmt::format(
        "reference resize must be WxH with both sides positive, got {}x{}", o.resize_width,
        o.resize_height));
  }
  return absl::OkStatus();
}

absl::StatusOr<ReferenceRequest> BuildReferenceRequest(const cv::Mat& frame, int64_t frame_index,
                                                       const models::DetectorSignature& model,
                                                       const PayloadOptions& options) {
  if (frame.empty() || frame.type() != CV_8UC3) {
    return absl::InvalidArgumentError("reference payload needs a BGR uint8 frame");
  }
  ReferenceRequest request;
  cv::Mat image = frame;
  if (options.resize_width > 0 &&
      (options.resize_width != frame.cols || options.resize_height != frame.rows)) {
    cv::resize(frame, image, cv::Size(options.resize_width, options.resize_height), 0, 0,
               cv::INTER_AREA);
    request.scale_x = static_cast<double>(frame.cols) / image.cols;
    request.scale_y = static_cast<double>(frame.rows) / image.rows;
  }
  if (options.format == PayloadFormat::kRaw) {
    request.inputs.push_back(models::ImageToTensor(image, model.image_input));
  } else {
    std::vector<uint8_t> encoded;
    std::vector<int> params;
    if (options.format == PayloadFormat::kJpeg) {
      params = {cv::IMWRITE_JPEG_QUALITY, options.jpeg_quality};
    }
    const char* ext = options.format == PayloadFormat::kJpeg ? ".jpg" : ".png";
    if (!cv::imencode(ext, image, encoded, params)) {
      return absl::InternalError(fmt::format("encoding frame {} as {} failed", frame_index,
                                             PayloadFormatName(options.format)));
    }
    Tensor t;
    t.name = model.image_input;
    t.dtype = DataType::kBytes;
    t.shape = {1};
    t.bytes.emplace_back(encoded.begin(), encoded.end());
    request.inputs.push_back(std::move(t));
  }
  if (model.takes_frame_index) {
    const int64_t index[] = {frame_index};
    request.inputs.push_back(Tensor::Int64(models::kFrameIndexInput, {1}, index));
  }
  return request;
}

void ScaleBoxes(const ReferenceRequest& request, std::vector<models::BoxDetection>* boxes) {
  if (request.scale_x == 1 && request.scale_y == 1) return;
  for (models::BoxDetection& b : *boxes) {
    b.x1 = static_cast<float>(b.x1 * request.scale_x);
    b.x2 = static_cast<float>(b.x2 * request.scale_x);
    b.y1 = static_cast<float>(b.y1 * request.scale_y);
    b.y2 = static_cast<float>(b.y2 * request.scale_y);
  }
}

}  // namespace dnoscope::cascade
