// The requests a cascade run sends its model stages, whatever the stage:
// the reference stage gets a frame as raw UINT8 pixels, JPEG (quality
// 1..100) or PNG in a BYTES tensor, optionally resized first (to the
// model's input size, say, to save bandwidth); detections come back in
// pixels of the image sent and are scaled back to the frame. The
// specialized stage gets models::ClassifierInputs (models/signature.h).
// Tensor roles come from models/signature.h, the same for every stage.
// Thread-safety: pure functions over values.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "common/tensor.h"
#include "models/model.h"
#include "models/signature.h"
#include "opencv2/core.hpp"

namespace dnoscope::cascade {

enum class PayloadFormat { kRaw, kJpeg, kPng };

struct PayloadOptions {
  PayloadFormat format = PayloadFormat::kRaw;
  int jpeg_quality = 90;
  // 0 x 0: send the frame at its own size.
  int resize_width = 0;
  int resize_height = 0;
};

// "raw", "jpeg", "png".
std::string_view PayloadFormatName(PayloadFormat format);
// Accepts the names above; InvalidArgument listing them otherwise.
absl::StatusOr<PayloadFormat> ParsePayloadFormat(std::string_view name);
// InvalidArgument for a quality outside 1..100 or a half-given size.
absl::Status ValidatePayloadOptions(const PayloadOptions& options);

struct ReferenceRequest {
  std::vector<Tensor> inputs;
  // Multiply returned box x (y) coordinates by these to get frame pixels.
  double scale_x = 1;
  double scale_y = 1;
};

// The reference stage's inputs for one frame: the image as chosen, plus
// "frame_index" INT64 [1] when the model takes it. scale_x/scale_y map boxes
// in pixels of the image sent back to the frame.
absl::StatusOr<ReferenceRequest> BuildReferenceRequest(const cv::Mat& frame, int64_t frame_index,
                                                       const models::DetectorSignature& model,
                                                       const PayloadOptions& options);

// Boxes of the image sent, in frame pixels.
void ScaleBoxes(const ReferenceRequest& request, std::vector<models::BoxDetection>* boxes);

}  // namespace dnoscope::cascade
