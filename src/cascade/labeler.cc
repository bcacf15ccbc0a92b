#include "cascade/labeler.h"

#include "common/status_macros.h"
#include "fmt/format.h"

namespace dnoscope::cascade {
namespace {

absl::StatusOr<std::vector<labels::Detection>> DetectFrame(models::Model& model,
                                                           const video::Frame& frame,
                                                           const labels::LabelFilter& filter) {
  absl::StatusOr<std::vector<models::BoxDetection>> boxes =
      models::Detect(model, frame.image, frame.index);
  if (!boxes.ok()) {
    return absl::Status(boxes.status().code(),
                        fmt::format("detector failed on frame {}: {}", frame.index,
                                    std::string(boxes.status().message())));
  }
  const std::vector<std::string>& names = model.metadata().class_names;
  std::vector<labels::Detection> out;
  for (const models::BoxDetection& b : *boxes) {
    labels::Detection d;
    d.frame = frame.index;
    d.object_name = b.class_id >= 0 && b.class_id < static_cast<int>(names.size())
                        ? names[b.class_id]
                        : fmt::format("class{}", b.class_id);
    d.confidence = b.score;
    d.xmin = b.x1;
    d.ymin = b.y1;
    d.xmax = b.x2;
    d.ymax = b.y2;
    if (filter.Matches(d)) out.push_back(std::move(d));
  }
  return out;
}

}  // namespace

absl::StatusOr<LabelRunSummary> LabelVideo(video::FrameSource& source, models::Model& model,
                                           const labels::LabelFilter& filter, Clock* clock,
                                           const DetectionsCallback& on_frame,
                                           const LabelProgressCallback& on_progress) {
  LabelRunSummary summary;
  const Clock::TimePoint start = clock->Now();
  std::vector<labels::Detection> last;
  while (true) {
    DNS_ASSIGN_OR_RETURN(std::optional<video::Frame> frame, source.Next());
    if (!frame) break;
    std::vector<labels::Detection> rows;
    if (frame->corrupt) {
      ++summary.corrupt_frames;
    } else if (frame->sampled) {
      const Clock::TimePoint t0 = clock->Now();
      DNS_ASSIGN_OR_RETURN(rows, DetectFrame(model, *frame, filter));
      summary.detector_seconds += SecondsBetween(t0, clock->Now());
      ++summary.detected_frames;
      last = rows;
    } else {
      rows = last;
      for (labels::Detection& d : rows) d.frame = frame->index;
    }
    ++summary.frames;
    summary.detections += static_cast<int64_t>(rows.size());
    if (!rows.empty()) ++summary.frames_with_detections;
    DNS_RETURN_IF_ERROR(on_frame(rows));
    summary.wall_seconds = SecondsBetween(start, clock->Now());
    if (on_progress) on_progress(summary);
  }
  summary.wall_seconds = SecondsBetween(start, clock->Now());
  return summary;
}

}  // namespace dnoscope::cascade
