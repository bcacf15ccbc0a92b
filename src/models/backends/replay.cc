#include "models/backends/replay.h"

#include <algorithm>
#include <chrono>
#include <optional>
#include <set>
#include <span>
#include <unordered_map>

#include "absl/status/status.h"
#include "common/status_macros.h"
#include "fmt/format.h"
#include "labels/label_csv.h"
#include "models/backends/backend_util.h"
#include "opencv2/imgcodecs.hpp"

namespace dnoscope::models {
namespace {

using FrameBoxes = std::unordered_map<int64_t, std::vector<BoxDetection>>;
// Highest matching confidence per frame; frames without rows are absent.
using FrameConfidences = std::unordered_map<int64_t, float>;

Clock::Duration ServiceTime(const ReplayOptions& options) {
  return std::chrono::duration_cast<Clock::Duration>(
      std::chrono::duration<double, std::milli>(options.service_time_ms));
}

// The size of the image a request sends: UINT8 [H,W,3] or an encoded image.
std::optional<cv::Size> SentImageSize(const std::vector<Tensor>& inputs) {
  const Tensor* image = FindTensor(inputs, kImageInput);
  if (image == nullptr) return std::nullopt;
  if (image->dtype == DataType::kUint8 && image->shape.size() == 3) {
    return cv::Size(static_cast<int>(image->shape[1]), static_cast<int>(image->shape[0]));
  }
  if (image->dtype == DataType::kBytes && image->bytes.size() == 1) {
    const std::string& b = image->bytes[0];
    const cv::Mat decoded = cv::imdecode(std::vector<uint8_t>(b.begin(), b.end()), cv::IMREAD_COLOR);
    if (!decoded.empty()) return decoded.size();
  }
  return std::nullopt;
}

class ReplayModel final : public Model {
 public:
  ReplayModel(ModelMetadata metadata, FrameBoxes boxes, const ReplayOptions& options,
              Clock* clock)
      : metadata_(std::move(metadata)),
        boxes_(std::move(boxes)),
        service_time_(ServiceTime(options)),
        frame_size_(options.frame_width, options.frame_height),
        clock_(clock) {}

  const ModelMetadata& metadata() const override { return metadata_; }

  absl::StatusOr<std::vector<Tensor>> Infer(const std::vector<Tensor>& inputs) override {
    const Tensor* index = FindTensor(inputs, kFrameIndexInput);
    if (index == nullptr || index->dtype != DataType::kInt64 || index->NumElements() != 1 ||
        !index->Validate().ok()) {
      return absl::InvalidArgumentError(
          fmt::format("replay model '{}' needs input '{}' INT64 [1] (the 0-based frame number)",
                      metadata_.name, kFrameIndexInput));
    }
    if (service_time_.count() > 0) clock_->SleepFor(service_time_);
    static const std::vector<BoxDetection> kNoBoxes;
    auto it = boxes_.find(index->Values<int64_t>()[0]);
    // Both branches are lvalues, so the frame's boxes are not copied.
    const std::vector<BoxDetection>& frame_boxes = it == boxes_.end() ? kNoBoxes : it->second;
    std::vector<Tensor> outputs;
    const std::optional<cv::Size> sent =
        frame_size_.area() > 0 ? SentImageSize(inputs) : std::nullopt;
    if (sent && *sent != frame_size_) {
      outputs.push_back(DetectionsToTensor(Scaled(frame_boxes, *sent)));
    } else {
      outputs.push_back(DetectionsToTensor(frame_boxes));
    }
    return outputs;
  }

 private:
  // Boxes in pixels of an image of `sent` size, as a real detector answers.
  std::vector<BoxDetection> Scaled(std::vector<BoxDetection> boxes, cv::Size sent) const {
    const float sx = static_cast<float>(sent.width) / static_cast<float>(frame_size_.width);
    const float sy = static_cast<float>(sent.height) / static_cast<float>(frame_size_.height);
    for (BoxDetection& b : boxes) {
      b.x1 *= sx;
      b.x2 *= sx;
      b.y1 *= sy;
      b.y2 *= sy;
    }
    return boxes;
  }

  ModelMetadata metadata_;
  FrameBoxes boxes_;
  Clock::Duration service_time_;
  cv::Size frame_size_;
  Clock* clock_;
};

// "no such input" or "UINT8 [2,50,50,3]", for error messages.
std::string Describe(const Tensor* t) {
  return t == nullptr ? "no such input"
                      : fmt::format("{} {}", DataTypeName(t->dtype), ShapeString(t->shape));
}

class ReplayClassifier final : public Model {
 public:
  ReplayClassifier(ModelMetadata metadata, FrameConfidences confidences,
                   Clock::Duration service_time, Clock* clock)
      : metadata_(std::move(metadata)),
        confidences_(std::move(confidences)),
        service_time_(service_time),
        clock_(clock) {}

  const ModelMetadata& metadata() const override { return metadata_; }

  absl::StatusOr<std::vector<Tensor>> Infer(const std::vector<Tensor>& inputs) override {
    DNS_ASSIGN_OR_RETURN(std::span<const int64_t> frames, FrameIndices(inputs));
    // One sleep per call: a batch costs what one request does, as on a GPU.
    if (service_time_.count() > 0) clock_->SleepFor(service_time_);
    std::vector<float> values;
    values.reserve(frames.size());
    for (const int64_t frame : frames) {
      auto it = confidences_.find(frame);
      values.push_back(it == confidences_.end() ? 0.0f : it->second);
    }
    std::vector<Tensor> outputs;
    outputs.push_back(
        Tensor::Fp32(kReplayConfidenceOutput, {static_cast<int64_t>(values.size()), 1}, values));
    return outputs;
  }

 private:
  // The frame number of each image after checking both inputs; the span
  // views `inputs`. InvalidArgument names the offending tensor.
  absl::StatusOr<std::span<const int64_t>> FrameIndices(const std::vector<Tensor>& inputs) const {
    const Tensor* image = FindTensor(inputs, kImageInput);
    if (image == nullptr || image->dtype != DataType::kUint8 || image->shape.size() != 4 ||
        image->shape[0] < 1 || image->shape[3] != 3 || !image->Validate().ok()) {
      return absl::InvalidArgumentError(
          fmt::format("replay classifier '{}' needs input '{}' UINT8 [N,H,W,3] with N >= 1, got {}",
                      metadata_.name, kImageInput, Describe(image)));
    }
    const int64_t n = image->shape[0];
    if (metadata_.max_batch_size > 0 && n > metadata_.max_batch_size) {
      return absl::InvalidArgumentError(
          fmt::format("replay classifier '{}': batch of {} images exceeds max_batch_size {}",
                      metadata_.name, n, metadata_.max_batch_size));
    }
    const Tensor* index = FindTensor(inputs, kFrameIndexInput);
    if (index == nullptr || index->dtype != DataType::kInt64 || index->shape.size() != 1 ||
        !index->Validate().ok()) {
      return absl::InvalidArgumentError(fmt::format(
          "replay classifier '{}' needs input '{}' INT64 [N] (the 0-based frame of each image), "
          "got {}",
          metadata_.name, kFrameIndexInput, Describe(index)));
    }
    if (index->shape[0] != n) {
      return absl::InvalidArgumentError(fmt::format(
          "replay classifier '{}': input '{}' holds {} frame numbers but input '{}' {} images",
          metadata_.name, kFrameIndexInput, index->shape[0], kImageInput, n));
    }
    return index->Values<int64_t>();
  }

  ModelMetadata metadata_;
  FrameConfidences confidences_;
  Clock::Duration service_time_;
  Clock* clock_;
};

std::vector<std::string> ClassNames(const std::vector<labels::Detection>& rows,
                                    const std::string& object_name) {
  if (!object_name.empty()) return {object_name};
  std::set<std::string> names;
  for (const labels::Detection& d : rows) names.insert(d.object_name);
  return {names.begin(), names.end()};
}

// Groups matching rows by frame, keeping each frame's rows in CSV order.
FrameBoxes GroupByFrame(const std::vector<labels::Detection>& rows,
                        const labels::LabelFilter& filter,
                        const std::vector<std::string>& class_names) {
  FrameBoxes boxes;
  for (const labels::Detection& d : rows) {
    if (!filter.Matches(d)) continue;
    const auto it = std::lower_bound(class_names.begin(), class_names.end(), d.object_name);
    const int class_id = static_cast<int>(it - class_names.begin());
    boxes[d.frame].push_back({class_id, d.confidence, d.xmin, d.ymin, d.xmax, d.ymax});
  }
  return boxes;
}

FrameConfidences BestPerFrame(const std::vector<labels::Detection>& rows,
                              const labels::LabelFilter& filter) {
  FrameConfidences best;
  for (const labels::Detection& d : rows) {
    if (!filter.Matches(d)) continue;
    auto [it, inserted] = best.try_emplace(d.frame, d.confidence);
    if (!inserted) it->second = std::max(it->second, d.confidence);
  }
  return best;
}

labels::LabelFilter FilterFor(const ReplayOptions& options) {
  labels::LabelFilter filter;
  filter.object_name = options.object_name;
  return filter;
}

ModelMetadata BaseMetadata(const std::string& name, int64_t version) {
  ModelMetadata metadata;
  metadata.name = name;
  metadata.version = version;
  metadata.backend = "replay";
  metadata.platform = "replay";
  return metadata;
}

}  // namespace

absl::StatusOr<std::unique_ptr<Model>> CreateReplayModel(const std::string& labels_path,
                                                         const ReplayOptions& options,
                                                         const std::string& name, int64_t version,
                                                         Clock* clock) {
  DNS_ASSIGN_OR_RETURN(std::vector<labels::Detection> rows, labels::ReadLabelCsv(labels_path));
  ModelMetadata metadata = BaseMetadata(name, version);
  metadata.kind = ModelKind::kDetector;
  // "image" is listed so that clients built for real detectors work
  // unchanged; the replay model only reads "frame_index".
  metadata.inputs = {FrameIndexInputSpec(), ImageInputSpec(/*optional=*/true)};
  metadata.outputs = {DetectionsOutputSpec()};
  metadata.class_names = ClassNames(rows, options.object_name);
  FrameBoxes boxes = GroupByFrame(rows, FilterFor(options), metadata.class_names);
  return std::make_unique<ReplayModel>(std::move(metadata), std::move(boxes), options, clock);
}

absl::StatusOr<std::unique_ptr<Model>> CreateReplayClassifier(const std::string& labels_path,
                                                              const ReplayOptions& options,
                                                              const std::string& name,
                                                              int64_t version, int max_batch_size,
                                                              Clock* clock) {
  if (max_batch_size < 0) {
    return absl::InvalidArgumentError(fmt::format(
        "replay classifier '{}': max_batch_size must be >= 0, got {}", name, max_batch_size));
  }
  DNS_ASSIGN_OR_RETURN(std::vector<labels::Detection> rows, labels::ReadLabelCsv(labels_path));
  ModelMetadata metadata = BaseMetadata(name, version);
  metadata.kind = ModelKind::kClassifier;
  metadata.max_batch_size = max_batch_size;
  // "image" first, as for real classifiers (models::Classify and clients
  // take inputs[0] as the image); every input shares dim 0 so that the
  // server's dynamic batching can concatenate requests.
  metadata.inputs = {{kImageInput, DataType::kUint8, {-1, -1, -1, 3}},
                     {kFrameIndexInput, DataType::kInt64, {-1}}};
  metadata.outputs = {{kReplayConfidenceOutput, DataType::kFp32, {-1, 1}}};
  return std::make_unique<ReplayClassifier>(
      std::move(metadata), BestPerFrame(rows, FilterFor(options)), ServiceTime(options), clock);
}

}  // namespace dnoscope::models
