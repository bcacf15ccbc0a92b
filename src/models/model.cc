#include "models/model.h"

#include <algorithm>
#include <cstring>

#include "absl/status/status.h"
#include "common/status_macros.h"
#include "fmt/format.h"
#include "fmt/ranges.h"
#include "models/signature.h"

namespace dnoscope::models {
namespace {

constexpr int kDetectionColumns = 6;

absl::Status CheckImage(const cv::Mat& bgr) {
  if (bgr.empty() || bgr.type() != CV_8UC3) {
    return absl::InvalidArgumentError(
        fmt::format("expected a non-empty CV_8UC3 BGR image, got {}x{} of type {}", bgr.cols,
                    bgr.rows, bgr.type()));
  }
  return absl::OkStatus();
}

// Copies an image row by row so that ROI views (non-continuous Mats) work.
void AppendImageBytes(const cv::Mat& bgr, std::vector<uint8_t>* out) {
  const size_t row_bytes = static_cast<size_t>(bgr.cols) * 3;
  for (int r = 0; r < bgr.rows; ++r) {
    const uint8_t* row = bgr.ptr<uint8_t>(r);
    out->insert(out->end(), row, row + row_bytes);
  }
}

}  // namespace

std::string_view ModelKindName(ModelKind kind) {
  switch (kind) {
    case ModelKind::kDetector:
      return "detector";
    case ModelKind::kClassifier:
      return "classifier";
    case ModelKind::kOther:
      break;
  }
  return "other";
}

Tensor DetectionsToTensor(const std::vector<BoxDetection>& detections) {
  std::vector<float> values;
  values.reserve(detections.size() * kDetectionColumns);
  for (const BoxDetection& d : detections) {
    values.insert(values.end(), {static_cast<float>(d.class_id), d.score, d.x1, d.y1, d.x2, d.y2});
  }
  return Tensor::Fp32(kDetectionsOutput,
                      {static_cast<int64_t>(detections.size()), kDetectionColumns}, values);
}

absl::StatusOr<std::vector<BoxDetection>> DetectionsFromTensor(const Tensor& tensor) {
  if (tensor.dtype != DataType::kFp32 || tensor.shape.size() != 2 ||
      tensor.shape[1] != kDetectionColumns) {
    return absl::InvalidArgumentError(fmt::format("tensor '{}' must be FP32 [N,6], got {} {}",
                                                  tensor.name, DataTypeName(tensor.dtype),
                                                  ShapeString(tensor.shape)));
  }
  DNS_RETURN_IF_ERROR(tensor.Validate());
  std::span<const float> v = tensor.Values<float>();
  std::vector<BoxDetection> out(static_cast<size_t>(tensor.shape[0]));
  for (size_t i = 0; i < out.size(); ++i) {
    const float* row = v.data() + i * kDetectionColumns;
    out[i] = {static_cast<int>(row[0]), row[1], row[2], row[3], row[4], row[5]};
  }
  return out;
}

Tensor ImageToTensor(const cv::Mat& bgr, std::string name) {
  Tensor t;
  t.name = std::move(name);
  t.dtype = DataType::kUint8;
  t.shape = {bgr.rows, bgr.cols, 3};
  t.data.reserve(bgr.total() * 3);
  AppendImageBytes(bgr, &t.data);
  return t;
}

Tensor ImagesToBatchTensor(const std::vector<cv::Mat>& bgr, std::string name) {
  Tensor t;
  t.name = std::move(name);
  t.dtype = DataType::kUint8;
  const int rows = bgr.empty() ? 0 : bgr[0].rows;
  const int cols = bgr.empty() ? 0 : bgr[0].cols;
  t.shape = {static_cast<int64_t>(bgr.size()), rows, cols, 3};
  t.data.reserve(bgr.size() * rows * cols * 3);
  for (const cv::Mat& image : bgr) AppendImageBytes(image, &t.data);
  return t;
}

absl::StatusOr<cv::Mat> TensorToImage(const Tensor& tensor) {
  if (tensor.dtype != DataType::kUint8 || tensor.shape.size() != 3 || tensor.shape[2] != 3 ||
      tensor.shape[0] <= 0 || tensor.shape[1] <= 0) {
    return absl::InvalidArgumentError(
        fmt::format("tensor '{}' must be UINT8 [H,W,3] with H, W > 0, got {} {}", tensor.name,
                    DataTypeName(tensor.dtype), ShapeString(tensor.shape)));
  }
  DNS_RETURN_IF_ERROR(tensor.Validate());
  // cv::Mat wants a non-const pointer; the header is only ever read.
  return cv::Mat(static_cast<int>(tensor.shape[0]), static_cast<int>(tensor.shape[1]), CV_8UC3,
                 const_cast<uint8_t*>(tensor.data.data()));
}

absl::StatusOr<std::vector<Tensor>> Model::InferSelected(
    const std::vector<Tensor>& inputs, const std::vector<std::string>& requested) {
  DNS_ASSIGN_OR_RETURN(std::vector<Tensor> outputs, Infer(inputs));
  return SelectOutputs(metadata(), std::move(outputs), requested);
}

absl::StatusOr<std::vector<Tensor>> SelectOutputs(const ModelMetadata& model,
                                                  std::vector<Tensor> outputs,
                                                  const std::vector<std::string>& requested) {
  if (requested.empty()) return outputs;
  std::vector<Tensor> selected;
  selected.reserve(requested.size());
  for (const std::string& name : requested) {
    const bool declared = std::any_of(model.outputs.begin(), model.outputs.end(),
                                      [&](const TensorSpec& spec) { return spec.name == name; });
    if (!declared) {
      std::vector<std::string> names;
      for (const TensorSpec& spec : model.outputs) names.push_back(spec.name);
      return absl::NotFoundError(fmt::format("model '{}' has no output '{}' (outputs: {})",
                                             model.name, name, fmt::join(names, ", ")));
    }
    auto it = std::find_if(outputs.begin(), outputs.end(),
                           [&](const Tensor& t) { return t.name == name; });
    if (it == outputs.end()) {
      return absl::InternalError(
          fmt::format("model '{}' did not produce output '{}'", model.name, name));
    }
    selected.push_back(std::move(*it));
  }
  return selected;
}

absl::StatusOr<std::vector<BoxDetection>> Detect(Model& model, const cv::Mat& bgr,
                                                 int64_t frame_index) {
  DNS_RETURN_IF_ERROR(CheckImage(bgr));
  DNS_ASSIGN_OR_RETURN(const DetectorSignature sig, DetectorSignatureOf(model.metadata()));
  std::vector<Tensor> inputs;
  inputs.push_back(ImageToTensor(bgr, sig.image_input));
  if (sig.takes_frame_index) {
    const int64_t index[] = {frame_index};
    inputs.push_back(Tensor::Int64(kFrameIndexInput, {1}, index));
  }
  DNS_ASSIGN_OR_RETURN(std::vector<Tensor> outputs,
                       model.InferSelected(inputs, {sig.detections_output}));
  return DetectionsFromOutputs(sig, outputs, model.metadata().name);
}

absl::StatusOr<std::vector<float>> Classify(Model& model, const std::vector<cv::Mat>& bgr,
                                            std::span<const int64_t> frame_indices) {
  const ModelMetadata& meta = model.metadata();
  DNS_ASSIGN_OR_RETURN(const ClassifierSignature sig, ClassifierSignatureOf(meta));
  if (sig.takes_frame_index && frame_indices.size() != bgr.size()) {
    return absl::InvalidArgumentError(
        fmt::format("model '{}' needs a frame index per image ({} images, {} indices)", meta.name,
                    bgr.size(), frame_indices.size()));
  }
  for (const cv::Mat& image : bgr) {
    DNS_RETURN_IF_ERROR(CheckImage(image));
    if (image.size() != bgr[0].size()) {
      return absl::InvalidArgumentError("Classify needs images of one size");
    }
  }
  const size_t chunk = meta.max_batch_size > 0 ? meta.max_batch_size : 1;
  std::vector<float> confidences;
  confidences.reserve(bgr.size());
  // Split into batches the model accepts so that callers need not know its limit.
  for (size_t begin = 0; begin < bgr.size(); begin += chunk) {
    const size_t end = std::min(bgr.size(), begin + chunk);
    std::vector<cv::Mat> part(bgr.begin() + begin, bgr.begin() + end);
    std::vector<Tensor> inputs = ClassifierInputs(
        sig, part,
        sig.takes_frame_index ? frame_indices.subspan(begin, end - begin) : frame_indices);
    DNS_ASSIGN_OR_RETURN(std::vector<Tensor> outputs,
                         model.InferSelected(inputs, {sig.confidence_output}));
    DNS_ASSIGN_OR_RETURN(std::vector<float> values,
                         ConfidencesFromOutputs(sig, outputs, part.size(), meta.name));
    confidences.insert(confidences.end(), values.begin(), values.end());
  }
  return confidences;
}

}  // namespace dnoscope::models
