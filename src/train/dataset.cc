#include "train/dataset.h"

#include <algorithm>
#include <cmath>
#include <random>

#include "absl/status/status.h"
#include "common/status_macros.h"
#include "fmt/format.h"
#include "spdlog/spdlog.h"
#include "video/preprocess.h"

namespace dnoscope::train {
namespace {

absl::Status ValidateOptions(const DatasetOptions& o) {
  if (o.width < 4 || o.height < 4 || o.width > 1024 || o.height > 1024) {
    return absl::InvalidArgumentError(
        fmt::format("input size {}x{} must be within 4..1024 pixels each", o.width, o.height));
  }
  if (o.smooth_window < 1 || o.smooth_window % 2 == 0) {
    return absl::InvalidArgumentError(
        fmt::format("smoothing window must be an odd number >= 1, got {}", o.smooth_window));
  }
  if (o.smooth_min_positive < 1 || o.smooth_min_positive > o.smooth_window) {
    return absl::InvalidArgumentError(
        fmt::format("smoothing needs 1 <= min positive <= window ({}), got {}", o.smooth_window,
                    o.smooth_min_positive));
  }
  if (!(o.validation_fraction > 0 && o.validation_fraction < 1)) {
    return absl::InvalidArgumentError(
        fmt::format("validation fraction must be in (0, 1), got {}", o.validation_fraction));
  }
  return absl::OkStatus();
}

// Appends every sampled, decodable frame of `source`, cropped and resized.
absl::Status ReadFrames(video::FrameSource& source, const DatasetOptions& o,
                        const DatasetProgress& on_frame, Dataset* data) {
  const video::VideoInfo& info = source.info();
  if (o.filter.roi) DNS_RETURN_IF_ERROR(CheckRoiInFrame(*o.filter.roi, info.width, info.height));
  cv::Mat small;
  int64_t read = 0;
  while (true) {
    DNS_ASSIGN_OR_RETURN(std::optional<video::Frame> frame, source.Next());
    if (!frame) break;
    ++read;
    if (on_frame) on_frame(read);
    if (!frame->sampled || frame->corrupt || frame->image.empty()) continue;
    video::CropAndResize(frame->image, o.filter.roi, o.width, o.height, video::Interpolation::kArea,
                         &small);
    if (!small.isContinuous()) small = small.clone();
    data->pixels.insert(data->pixels.end(), small.data, small.data + data->image_bytes());
    data->frame_indices.push_back(frame->index);
  }
  if (data->frame_indices.empty()) {
    return absl::InvalidArgumentError(fmt::format(
        "no decodable frames in the requested range of {} ({} frames read): the training range "
        "is empty or lies past the end of the video",
        info.uri, read));
  }
  data->range.start = data->frame_indices.front();
  data->range.end = data->frame_indices.back() + 1;
  return absl::OkStatus();
}

absl::Status CheckCoverage(std::span<const labels::Detection> detections, const FrameRange& range,
                           const std::string& labels_name) {
  int64_t last = -1;
  for (const labels::Detection& d : detections) last = std::max(last, d.frame);
  if (last >= range.start) return absl::OkStatus();
  return absl::InvalidArgumentError(fmt::format(
      "{} has no rows at or after frame {}{}: it does not cover {} (label the training range "
      "with `dnoscope label` first)",
      labels_name, range.start,
      last < 0 ? " (it has no rows at all)" : fmt::format(" (its last row is frame {})", last),
      range.ToString()));
}

absl::Status CheckBothClasses(const ClassBalance& b, const FrameRange& range) {
  if (b.positives > 0 && b.negatives > 0) return absl::OkStatus();
  return absl::InvalidArgumentError(fmt::format(
      "all {} frames of {} are {}: the specialized model needs both classes (check the object "
      "name, minimum confidence, ROI or frame range)",
      b.total(), range.ToString(), b.positives > 0 ? "positive" : "negative"));
}

// Uniform integer in [0, bound) from a 64-bit engine: the same on every
// standard library (std::uniform_int_distribution is not).
uint64_t Below(std::mt19937_64& rng, uint64_t bound) {
  const uint64_t limit = UINT64_MAX - UINT64_MAX % bound;
  uint64_t x;
  do {
    x = rng();
  } while (x >= limit);
  return x % bound;
}

void Shuffle(std::vector<int64_t>* v, std::mt19937_64& rng) {
  for (size_t i = v->size(); i > 1; --i) std::swap((*v)[i - 1], (*v)[Below(rng, i)]);
}

}  // namespace

double ClassBalance::positive_share() const {
  return total() > 0 ? static_cast<double>(positives) / static_cast<double>(total()) : 0.0;
}

std::string ClassBalance::ToString() const {
  return fmt::format("{} positive ({:.1f}%), {} negative", positives, 100.0 * positive_share(),
                     negatives);
}

cv::Mat Dataset::ImageMat(int64_t i) const {
  return cv::Mat(height, width, CV_8UC3, const_cast<uint8_t*>(image(i)));
}

ClassBalance Dataset::Balance() const {
  ClassBalance b;
  b.positives = std::count(labels.begin(), labels.end(), uint8_t{1});
  b.negatives = size() - b.positives;
  return b;
}

ClassBalance Dataset::Balance(std::span<const int64_t> indices) const {
  ClassBalance b;
  for (int64_t i : indices) (labels[i] ? b.positives : b.negatives)++;
  return b;
}

std::vector<uint8_t> SmoothLabels(const labels::LabelIndex& index, int64_t num_frames, int window,
                                  int min_positive) {
  std::vector<uint8_t> out(static_cast<size_t>(std::max<int64_t>(0, num_frames)));
  const int64_t half = window / 2;
  // Sliding count of positives in [f - half, f + half].
  int64_t count = 0;
  for (int64_t f = -half; f < half; ++f) count += index.Positive(f);
  for (int64_t f = 0; f < num_frames; ++f) {
    count += index.Positive(f + half);
    out[f] = count >= min_positive ? 1 : 0;
    count -= index.Positive(f - half);
  }
  return out;
}

void SplitTrainValidation(std::span<const uint8_t> labels, double validation_fraction,
                          uint64_t seed, std::vector<int64_t>* train,
                          std::vector<int64_t>* validation) {
  std::vector<int64_t> by_class[2];
  for (size_t i = 0; i < labels.size(); ++i) by_class[labels[i] ? 1 : 0].push_back(i);
  std::mt19937_64 rng(seed);
  train->clear();
  validation->clear();
  for (std::vector<int64_t>& members : by_class) {
    Shuffle(&members, rng);
    const int64_t n = static_cast<int64_t>(members.size());
    int64_t held = std::llround(validation_fraction * static_cast<double>(n));
    if (n >= 2) held = std::clamp<int64_t>(held, 1, n - 1);
    if (n < 2) held = 0;
    validation->insert(validation->end(), members.begin(), members.begin() + held);
    train->insert(train->end(), members.begin() + held, members.end());
  }
  // Mix the classes so that batches see both.
  Shuffle(train, rng);
  Shuffle(validation, rng);
}

absl::StatusOr<Dataset> BuildDataset(video::FrameSource& source,
                                     std::span<const labels::Detection> detections,
                                     const DatasetOptions& options,
                                     const DatasetProgress& on_frame) {
  DNS_RETURN_IF_ERROR(ValidateOptions(options));
  Dataset data;
  data.width = options.width;
  data.height = options.height;
  DNS_RETURN_IF_ERROR(ReadFrames(source, options, on_frame, &data));
  DNS_RETURN_IF_ERROR(CheckCoverage(detections, data.range, options.labels_name));

  // Labels just past the range still count in the smoothing window.
  const int64_t num_frames = *data.range.end + options.smooth_window / 2;
  const labels::LabelIndex index =
      labels::LabelIndex::Build(detections, options.filter, num_frames);
  const std::vector<uint8_t> smoothed =
      SmoothLabels(index, num_frames, options.smooth_window, options.smooth_min_positive);
  for (int64_t frame : data.frame_indices) {
    data.labels.push_back(smoothed[frame]);
    data.raw_positives += index.Positive(frame);
  }
  DNS_RETURN_IF_ERROR(CheckBothClasses(data.Balance(), data.range));
  SplitTrainValidation(data.labels, options.validation_fraction, options.seed, &data.train,
                       &data.validation);
  spdlog::debug("data set: {} samples of {}, {}", data.size(), data.range.ToString(),
                data.Balance().ToString());
  return data;
}

}  // namespace dnoscope::train
