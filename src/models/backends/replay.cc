#include "models/backends/replay.h"

#include <algorithm>
#include <chrono>
#include <set>
#include <unordered_map>

#include "absl/status/status.h"
#include "common/status_macros.h"
#include "fmt/format.h"
#include "labels/label_csv.h"
#include "models/backends/backend_util.h"

namespace dnoscope::models {
namespace {

using FrameBoxes = std::unordered_map<int64_t, std::vector<BoxDetection>>;

class ReplayModel final : public Model {
 public:
  ReplayModel(ModelMetadata metadata, FrameBoxes boxes, Clock::Duration service_time, Clock* clock)
      : metadata_(std::move(metadata)),
        boxes_(std::move(boxes)),
        service_time_(service_time),
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
    outputs.push_back(DetectionsToTensor(frame_boxes));
    return outputs;
  }

 private:
  ModelMetadata metadata_;
  FrameBoxes boxes_;
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

}  // namespace

absl::StatusOr<std::unique_ptr<Model>> CreateReplayModel(const std::string& labels_path,
                                                         const ReplayOptions& options,
                                                         const std::string& name, int64_t version,
                                                         Clock* clock) {
  DNS_ASSIGN_OR_RETURN(std::vector<labels::Detection> rows, labels::ReadLabelCsv(labels_path));
  labels::LabelFilter filter;
  filter.object_name = options.object_name;
  ModelMetadata metadata;
  metadata.name = name;
  metadata.version = version;
  metadata.backend = "replay";
  metadata.platform = "replay";
  metadata.kind = ModelKind::kDetector;
  // "image" is listed so that clients built for real detectors work
  // unchanged; the replay model only reads "frame_index".
  metadata.inputs = {FrameIndexInputSpec(), ImageInputSpec(/*optional=*/true)};
  metadata.outputs = {DetectionsOutputSpec()};
  metadata.class_names = ClassNames(rows, options.object_name);
  FrameBoxes boxes = GroupByFrame(rows, filter, metadata.class_names);
  const auto service_time = std::chrono::duration_cast<Clock::Duration>(
      std::chrono::duration<double, std::milli>(options.service_time_ms));
  return std::make_unique<ReplayModel>(std::move(metadata), std::move(boxes), service_time, clock);
}

}  // namespace dnoscope::models
