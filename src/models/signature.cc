#include "models/signature.h"

#include <algorithm>

#include "absl/status/status.h"
#include "common/status_macros.h"
#include "fmt/format.h"
#include "fmt/ranges.h"

namespace dnoscope::models {
namespace {

std::vector<const TensorSpec*> Inputs(const ModelMetadata& model) {
  std::vector<const TensorSpec*> out;
  for (const TensorSpec& s : model.inputs) {
    if (s.name != kFrameIndexInput) out.push_back(&s);
  }
  return out;
}

bool Declares(const std::vector<TensorSpec>& specs, std::string_view name) {
  return std::any_of(specs.begin(), specs.end(),
                     [&](const TensorSpec& s) { return s.name == name; });
}

std::string Names(const std::vector<TensorSpec>& specs) {
  std::vector<std::string> names;
  for (const TensorSpec& s : specs) names.push_back(s.name);
  return names.empty() ? "none" : fmt::format("{}", fmt::join(names, ", "));
}

// The only spec of `candidates` matching `keep`, or nullptr.
template <typename Pred>
const TensorSpec* OnlyOne(const std::vector<const TensorSpec*>& candidates, Pred keep) {
  const TensorSpec* found = nullptr;
  for (const TensorSpec* s : candidates) {
    if (!keep(*s)) continue;
    if (found != nullptr) return nullptr;
    found = s;
  }
  return found;
}

absl::StatusOr<std::string> ImageInput(const ModelMetadata& model, std::string_view role,
                                       bool prefer_image_name) {
  if (prefer_image_name && Declares(model.inputs, kImageInput)) return std::string(kImageInput);
  const std::vector<const TensorSpec*> inputs = Inputs(model);
  const TensorSpec* image = inputs.size() == 1 ? inputs[0] : nullptr;
  if (image == nullptr) {
    image = OnlyOne(inputs, [](const TensorSpec& s) { return s.dtype == DataType::kUint8; });
  }
  if (image == nullptr) {
    return absl::InvalidArgumentError(fmt::format(
        "{} model '{}' has no single image input (UINT8 [N,H,W,3]); inputs: {}", role,
        model.name, Names(model.inputs)));
  }
  return image->name;
}

}  // namespace

absl::StatusOr<ClassifierSignature> ClassifierSignatureOf(const ModelMetadata& model) {
  if (Declares(model.outputs, kDetectionsOutput)) {
    return absl::InvalidArgumentError(fmt::format(
        "specialized model '{}' is a detector ('{}' output); the specialized stage needs a "
        "classifier",
        model.name, kDetectionsOutput));
  }
  ClassifierSignature sig;
  DNS_ASSIGN_OR_RETURN(sig.image_input, ImageInput(model, "specialized", false));
  sig.takes_frame_index = Declares(model.inputs, kFrameIndexInput);
  std::vector<const TensorSpec*> outputs;
  for (const TensorSpec& s : model.outputs) {
    if (!s.on_request) outputs.push_back(&s);
  }
  const TensorSpec* out = outputs.size() == 1 ? outputs[0] : nullptr;
  if (out == nullptr) out = OnlyOne(outputs, [](const TensorSpec& s) { return s.name == "confidence"; });
  if (out == nullptr) {
    out = OnlyOne(outputs, [](const TensorSpec& s) { return s.dtype == DataType::kFp32; });
  }
  if (out == nullptr) {
    return absl::InvalidArgumentError(fmt::format(
        "specialized model '{}' has no single confidence output (FP32 [N,1]); outputs: {}",
        model.name, Names(model.outputs)));
  }
  sig.confidence_output = out->name;
  return sig;
}

absl::StatusOr<DetectorSignature> DetectorSignatureOf(const ModelMetadata& model) {
  if (!Declares(model.outputs, kDetectionsOutput)) {
    return absl::InvalidArgumentError(fmt::format(
        "reference model '{}' has no '{}' output; the reference stage needs a detector "
        "(outputs: {})",
        model.name, kDetectionsOutput, Names(model.outputs)));
  }
  DetectorSignature sig;
  DNS_ASSIGN_OR_RETURN(sig.image_input, ImageInput(model, "reference", true));
  sig.takes_frame_index = Declares(model.inputs, kFrameIndexInput);
  return sig;
}

std::vector<Tensor> ClassifierInputs(const ClassifierSignature& signature,
                                     const std::vector<cv::Mat>& crops,
                                     std::span<const int64_t> frame_indices) {
  std::vector<Tensor> inputs;
  inputs.push_back(ImagesToBatchTensor(crops, signature.image_input));
  if (signature.takes_frame_index) {
    inputs.push_back(Tensor::Int64(kFrameIndexInput, {static_cast<int64_t>(frame_indices.size())},
                                   frame_indices));
  }
  return inputs;
}

absl::StatusOr<std::vector<float>> ConfidencesFromOutputs(const ClassifierSignature& signature,
                                                          const std::vector<Tensor>& outputs,
                                                          size_t n, std::string_view model) {
  const Tensor* t = FindTensor(outputs, signature.confidence_output);
  if (t == nullptr || t->dtype != DataType::kFp32 ||
      t->NumElements() != static_cast<int64_t>(n) || !t->Validate().ok()) {
    return absl::InternalError(fmt::format("model '{}' did not return FP32 [{},1] '{}'", model, n,
                                           signature.confidence_output));
  }
  std::span<const float> values = t->Values<float>();
  return std::vector<float>(values.begin(), values.end());
}

absl::StatusOr<std::vector<BoxDetection>> DetectionsFromOutputs(
    const DetectorSignature& signature, const std::vector<Tensor>& outputs,
    std::string_view model) {
  const Tensor* t = FindTensor(outputs, signature.detections_output);
  if (t == nullptr) {
    return absl::InternalError(
        fmt::format("model '{}' returned no '{}' output", model, signature.detections_output));
  }
  return DetectionsFromTensor(*t);
}

}  // namespace dnoscope::models
