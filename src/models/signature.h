// Which of a model's inputs and outputs play the cascade's roles, decided
// from its metadata alone: one rule for an in-process model and for a served
// one (whose metadata comes from the server), so that local and remote
// stages send the same tensors and read the same answer. Never decided from
// a backend or platform name.
//
//  - Classifier (specialized stage): the image input is the only input
//    besides "frame_index", or else the only UINT8 one; the confidence
//    output is the only output (not on request), or else the one called
//    "confidence", or else the only FP32 one.
//  - Detector (reference stage): the image input is "image", or else the
//    only UINT8 input; the output is "detections" FP32 [N,6].
//  - Both: "frame_index" INT64 is sent when the model declares it (the
//    label-replay backend needs it).
//
// Pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/tensor.h"
#include "models/model.h"
#include "opencv2/core.hpp"

namespace dnoscope::models {

struct ClassifierSignature {
  // UINT8 [N,H,W,3] BGR crops.
  std::string image_input;
  bool takes_frame_index = false;
  // FP32, one confidence per image ([N,1] or [N]).
  std::string confidence_output;
};

struct DetectorSignature {
  // UINT8 [H,W,3] BGR frame, or one encoded image when accepted.
  std::string image_input;
  bool takes_frame_index = false;
  std::string detections_output = kDetectionsOutput;
};

// InvalidArgument naming the model and what is missing or ambiguous.
absl::StatusOr<ClassifierSignature> ClassifierSignatureOf(const ModelMetadata& model);
absl::StatusOr<DetectorSignature> DetectorSignatureOf(const ModelMetadata& model);

// Inputs for same-size BGR crops; `frame_indices` (one per crop) is sent
// when the signature takes it.
std::vector<Tensor> ClassifierInputs(const ClassifierSignature& signature,
                                     const std::vector<cv::Mat>& crops,
                                     std::span<const int64_t> frame_indices);

// One confidence per image from a classifier's outputs. Internal naming the
// model when the confidence output is missing or does not hold `n` FP32 values.
absl::StatusOr<std::vector<float>> ConfidencesFromOutputs(const ClassifierSignature& signature,
                                                          const std::vector<Tensor>& outputs,
                                                          size_t n, std::string_view model);

// The boxes of a detector's outputs. Internal when the detections output is
// missing; InvalidArgument when it is not FP32 [N,6].
absl::StatusOr<std::vector<BoxDetection>> DetectionsFromOutputs(
    const DetectorSignature& signature, const std::vector<Tensor>& outputs,
    std::string_view model);

}  // namespace dnoscope::models
