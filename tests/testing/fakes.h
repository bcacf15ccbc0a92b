// Fakes for cascade tests: an in-memory frame source and models that answer
// from tables, counting their calls.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <vector>

#include "absl/status/status.h"
#include "models/model.h"
#include "video/frame_source.h"

namespace dnoscope::testing {

// Yields the given frames in order (indices as set in each Frame), then an
// optional error instead of the end.
class FakeFrameSource : public video::FrameSource {
 public:
  FakeFrameSource(std::vector<video::Frame> frames, int width, int height,
                  absl::Status final_status = absl::OkStatus())
      : frames_(std::move(frames)), final_status_(std::move(final_status)) {
    info_.uri = "fake://";
    info_.width = width;
    info_.height = height;
    info_.fps = 10;
    info_.frame_count = static_cast<int64_t>(frames_.size());
  }
  const video::VideoInfo& info() const override { return info_; }
  absl::StatusOr<std::optional<video::Frame>> Next() override {
    if (next_ < frames_.size()) return std::optional<video::Frame>(frames_[next_++]);
    if (!final_status_.ok()) return final_status_;
    return std::optional<video::Frame>();
  }
  int64_t corrupt_frames() const override { return 0; }

 private:
  std::vector<video::Frame> frames_;
  absl::Status final_status_;
  size_t next_ = 0;
  video::VideoInfo info_;
};

// Detector answering "frame_index" from a table of boxes; counts calls.
class FakeDetector : public models::Model {
 public:
  FakeDetector(std::map<int64_t, std::vector<models::BoxDetection>> boxes,
               std::vector<std::string> class_names)
      : boxes_(std::move(boxes)) {
    metadata_.name = "fake_detector";
    metadata_.backend = "fake";
    metadata_.class_names = std::move(class_names);
    metadata_.inputs = {{models::kImageInput, DataType::kUint8, {-1, -1, 3}},
                        {models::kFrameIndexInput, DataType::kInt64, {1}}};
    metadata_.outputs = {{models::kDetectionsOutput, DataType::kFp32, {-1, 6}}};
  }
  const models::ModelMetadata& metadata() const override { return metadata_; }
  absl::StatusOr<std::vector<Tensor>> Infer(const std::vector<Tensor>& inputs) override {
    const Tensor* index = FindTensor(inputs, models::kFrameIndexInput);
    if (index == nullptr) return absl::InvalidArgumentError("frame_index missing");
    const int64_t frame = index->Values<int64_t>()[0];
    calls->push_back(frame);
    if (frame == fail_on_frame) return absl::InternalError("injected failure");
    auto it = boxes_.find(frame);
    return std::vector<Tensor>{models::DetectionsToTensor(
        it == boxes_.end() ? std::vector<models::BoxDetection>{} : it->second)};
  }
  // Frames asked for, in order; shared so that tests can read it after the
  // cascade that owns this model is gone.
  std::shared_ptr<std::vector<int64_t>> calls = std::make_shared<std::vector<int64_t>>();
  int64_t fail_on_frame = -1;

 private:
  std::map<int64_t, std::vector<models::BoxDetection>> boxes_;
  models::ModelMetadata metadata_;
};

// Classifier answering "frame_index" with confidence(frame); records the
// frames asked for.
class FakeIndexedClassifier : public models::Model {
 public:
  explicit FakeIndexedClassifier(std::function<float(int64_t)> confidence)
      : confidence_(std::move(confidence)) {
    metadata_.name = "fake_indexed_classifier";
    metadata_.backend = "fake";
    metadata_.kind = models::ModelKind::kClassifier;
    metadata_.inputs = {{"images", DataType::kUint8, {-1, 50, 50, 3}},
                        {models::kFrameIndexInput, DataType::kInt64, {-1}}};
    metadata_.outputs = {{"confidence", DataType::kFp32, {-1, 1}}};
    metadata_.max_batch_size = 64;
  }
  const models::ModelMetadata& metadata() const override { return metadata_; }
  absl::StatusOr<std::vector<Tensor>> Infer(const std::vector<Tensor>& inputs) override {
    const Tensor* index = FindTensor(inputs, models::kFrameIndexInput);
    if (index == nullptr) return absl::InvalidArgumentError("frame_index missing");
    std::vector<float> out;
    for (int64_t frame : index->Values<int64_t>()) {
      calls->push_back(frame);
      out.push_back(confidence_(frame));
    }
    return std::vector<Tensor>{
        Tensor::Fp32("confidence", {static_cast<int64_t>(out.size()), 1}, out)};
  }
  std::shared_ptr<std::vector<int64_t>> calls = std::make_shared<std::vector<int64_t>>();

 private:
  std::function<float(int64_t)> confidence_;
  models::ModelMetadata metadata_;
};

// Classifier returning the confidences of a queue, one per image, in order.
class FakeClassifier : public models::Model {
 public:
  explicit FakeClassifier(std::vector<float> confidences) : confidences_(std::move(confidences)) {
    metadata_.name = "fake_classifier";
    metadata_.backend = "fake";
    metadata_.kind = models::ModelKind::kClassifier;
    metadata_.inputs = {{"images", DataType::kUint8, {-1, 50, 50, 3}}};
    metadata_.outputs = {{"confidence", DataType::kFp32, {-1, 1}}};
    metadata_.max_batch_size = 64;
  }
  const models::ModelMetadata& metadata() const override { return metadata_; }
  absl::StatusOr<std::vector<Tensor>> Infer(const std::vector<Tensor>& inputs) override {
    if (inputs.empty() || inputs[0].shape.size() != 4) {
      return absl::InvalidArgumentError("expected one [N,H,W,3] input");
    }
    std::vector<float> out;
    for (int64_t i = 0; i < inputs[0].shape[0]; ++i) {
      out.push_back(next_ < confidences_.size() ? confidences_[next_++] : 0.5f);
    }
    ++calls;
    return std::vector<Tensor>{
        Tensor::Fp32("confidence", {static_cast<int64_t>(out.size()), 1}, out)};
  }
  int calls = 0;

 private:
  std::vector<float> confidences_;
  size_t next_ = 0;
  models::ModelMetadata metadata_;
};

}  // namespace dnoscope::testing
