// How the edge client ships a frame to the reference stage: raw UINT8
// pixels, JPEG (quality 1..100) or PNG in a BYTES tensor, optionally resized
// first (to the model's input size, say, to save bandwidth). Detections come
// back in pixels of the image sent and are scaled back to the frame.
// Thread-safety: pure functions over values.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "common/tensor.h"
#include "models/model.h"
#include "opencv2/core.hpp"

namespace dnoscope::distributed {

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

// The reference stage's inputs for one frame: "image" as chosen, plus
// "frame_index" INT64 [1] when `model` declares that input. Boxes of models
// whose platform is "replay" are in frame pixels already (scale 1).
absl::StatusOr<ReferenceRequest> BuildReferenceRequest(const cv::Mat& frame, int64_t frame_index,
                                                       const models::ModelMetadata& model,
                                                       const PayloadOptions& options);

// The specialized stage's inputs for a batch of same-size crops: the model's
// single image input UINT8 [N,H,W,3], plus "frame_index" INT64 [N] when the
// model declares it (the replay classifier).
std::vector<Tensor> BuildSpecializedRequest(const std::vector<cv::Mat>& crops,
                                            const std::vector<int64_t>& frame_indices,
                                            const models::ModelMetadata& model);

}  // namespace dnoscope::distributed
