#include "optimizer/features.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <optional>

#include "absl/status/status.h"
#include "cascade/cascade_config.h"
#include "cascade/policy.h"
#include "common/status_macros.h"
#include "detect/difference_detector.h"
#include "fmt/format.h"

namespace dnoscope::optimizer {
namespace {

constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();

// Spreads `count` picks over `expected` frames (the first frames when unknown).
class Spread {
 public:
  Spread(int count, int64_t expected)
      : count_(count),
        stride_(expected > 0 ? std::max<int64_t>(1, expected / std::max(1, count)) : 1) {}
  bool Pick(int64_t i) {
    if (taken_ >= count_ || i % stride_ != stride_ / 2) return false;
    ++taken_;
    return true;
  }
  bool first() const { return taken_ == 1; }

 private:
  int count_;
  int64_t stride_;
  int taken_ = 0;
};

absl::Status Annotate(const absl::Status& s, const char* what, int64_t frame) {
  return absl::Status(
      s.code(), fmt::format("{} failed on frame {}: {}", what, frame, std::string(s.message())));
}

// Fills Features frame by frame. Lives for one ExtractFeatures call.
class Extractor {
 public:
  Extractor(const FeatureModels& models, const labels::LabelIndex& truth,
            const FeatureOptions& options, Clock* clock, Features* out)
      : models_(models),
        truth_(truth),
        options_(options),
        config_(options.config),
        query_(cascade::PolicyOptionsFor(options.config)),
        clock_(clock),
        out_(out),
        spec_timing_(models.specialized ? options.specialized_timing_frames : 0,
                     options.expected_frames),
        ref_timing_(models.reference ? options.reference_timing_frames : 0,
                    options.expected_frames) {}

  absl::Status Add(const video::Frame& frame) {
    if (!frame.sampled) {
      return absl::InvalidArgumentError(
          "feature extraction needs every frame of the range decoded (source skip must be 1)");
    }
    const int64_t i = out_->size();
    if (i == 0) out_->first_frame = frame.index;
    const int64_t bytes = int64_t{config_.diff.width} * config_.diff.height * 3 * (i + 1);
    if (bytes > options_.max_feature_bytes) {
      return absl::InvalidArgumentError(fmt::format(
          "the fitting range needs more than {} MB of {}x{} difference images (limit {} MB); use "
          "a shorter range or a smaller difference resolution",
          bytes >> 20, config_.diff.width, config_.diff.height, options_.max_feature_bytes >> 20));
    }
    out_->truth.push_back(truth_.Positive(frame.index) ? 1 : 0);
    out_->corrupt.push_back(frame.corrupt ? 1 : 0);
    out_->confidence.push_back(kNaN);
    out_->diff_images.emplace_back();
    if (frame.corrupt) return absl::OkStatus();
    return AddDecoded(frame, i);
  }

  absl::Status Finish() {
    DNS_RETURN_IF_ERROR(FlushBatch());
    for (const auto& [i, single] : single_confidences_) {
      const double deviation = std::abs(static_cast<double>(out_->confidence[i]) - single);
      out_->confidence_batch_deviation = std::max(out_->confidence_batch_deviation, deviation);
    }
    return TimeDifferenceMetric();
  }

  double resize_seconds() const { return resize_seconds_; }

 private:
  absl::Status AddDecoded(const video::Frame& frame, int64_t i) {
    const Clock::TimePoint t0 = clock_->Now();
    video::CropAndResize(frame.image, config_.roi, config_.diff.width, config_.diff.height,
                         options_.interpolation, &out_->diff_images[i]);
    resize_seconds_ += SecondsBetween(t0, clock_->Now());
    ++out_->samples.difference;
    if (models_.specialized) {
      cv::Mat small;
      video::CropAndResize(frame.image, config_.roi, config_.specialized_width,
                           config_.specialized_height, options_.interpolation, &small);
      batch_.push_back(small);
      batch_frames_.push_back(i);
      if (static_cast<int>(batch_.size()) >= std::max(1, options_.specialized_batch_size)) {
        DNS_RETURN_IF_ERROR(FlushBatch());
      }
      if (spec_timing_.Pick(i)) DNS_RETURN_IF_ERROR(TimeSpecialized(frame, i));
    }
    if (ref_timing_.Pick(i)) DNS_RETURN_IF_ERROR(TimeReference(frame));
    return absl::OkStatus();
  }

  absl::Status FlushBatch() {
    if (batch_.empty()) return absl::OkStatus();
    absl::StatusOr<std::vector<float>> conf = models::Classify(*models_.specialized, batch_);
    if (!conf.ok()) return Annotate(conf.status(), "specialized model", batch_frames_[0]);
    for (size_t k = 0; k < batch_frames_.size(); ++k)
      out_->confidence[batch_frames_[k]] = (*conf)[k];
    batch_.clear();
    batch_frames_.clear();
    return absl::OkStatus();
  }

  // As the cascade runs the specialized stage: crop, resize, one image.
  absl::Status TimeSpecialized(const video::Frame& frame, int64_t i) {
    const int runs = spec_timing_.first() ? 2 : 1;  // the first run warms the model up
    for (int run = 0; run < runs; ++run) {
      const Clock::TimePoint t0 = clock_->Now();
      cv::Mat small;
      video::CropAndResize(frame.image, config_.roi, config_.specialized_width,
                           config_.specialized_height, options_.interpolation, &small);
      absl::StatusOr<std::vector<float>> conf = models::Classify(*models_.specialized, {small});
      if (!conf.ok()) return Annotate(conf.status(), "specialized model", frame.index);
      if (run + 1 < runs) continue;
      specialized_seconds_ += SecondsBetween(t0, clock_->Now());
      ++out_->samples.specialized;
      single_confidences_.emplace_back(i, conf->at(0));
    }
    return absl::OkStatus();
  }

  absl::Status TimeReference(const video::Frame& frame) {
    const int runs = ref_timing_.first() ? 2 : 1;
    for (int run = 0; run < runs; ++run) {
      const Clock::TimePoint t0 = clock_->Now();
      absl::StatusOr<std::vector<models::BoxDetection>> boxes =
          models::Detect(*models_.reference, frame.image, frame.index);
      if (!boxes.ok()) return Annotate(boxes.status(), "reference model", frame.index);
      if (run + 1 < runs) continue;
      reference_seconds_ += SecondsBetween(t0, clock_->Now());
      ++out_->samples.reference;
      labels::FrameResult verdict;
      query_.DecideReference(*boxes, models_.reference->metadata().class_names, &verdict);
      ++out_->reference_checked;
      if (verdict.label == truth_.Positive(frame.index)) ++out_->reference_agreed;
    }
    return absl::OkStatus();
  }

  // Times the metric over consecutive decoded frames and fills the costs.
  absl::Status TimeDifferenceMetric() {
    detect::DiffOptions metric = config_.diff;
    metric.reference = detect::ReferenceMode::kAnchor;  // Score() needs no background
    DNS_ASSIGN_OR_RETURN(auto detector, detect::DifferenceDetector::Create(metric));
    double score_seconds = 0;
    int64_t scored = 0;
    const cv::Mat* previous = nullptr;
    for (const cv::Mat& image : out_->diff_images) {
      if (image.empty()) continue;
      if (previous) {
        const Clock::TimePoint t0 = clock_->Now();
        detector->Score(*previous, image);  // not inline: the call is not optimised away
        score_seconds += SecondsBetween(t0, clock_->Now());
        ++scored;
      }
      previous = &image;
    }
    StageCosts& m = out_->measured;
    const int64_t n = out_->samples.difference;
    m.difference_ms =
        n ? 1e3 * resize_seconds_ / n + (scored ? 1e3 * score_seconds / scored : 0) : 0;
    m.specialized_ms =
        out_->samples.specialized ? 1e3 * specialized_seconds_ / out_->samples.specialized : 0;
    m.reference_ms =
        out_->samples.reference ? 1e3 * reference_seconds_ / out_->samples.reference : 0;
    return absl::OkStatus();
  }

  const FeatureModels& models_;
  const labels::LabelIndex& truth_;
  const FeatureOptions& options_;
  const cascade::CascadeConfig& config_;
  // The cascade's reference verdict (query match) for the timing check.
  const cascade::CascadePolicy query_;
  Clock* clock_;
  Features* out_;
  Spread spec_timing_;
  Spread ref_timing_;
  std::vector<cv::Mat> batch_;
  std::vector<int64_t> batch_frames_;
  std::vector<std::pair<int64_t, float>> single_confidences_;
  double resize_seconds_ = 0;
  double specialized_seconds_ = 0;
  double reference_seconds_ = 0;
};

}  // namespace

int64_t Features::positives() const { return std::count(truth.begin(), truth.end(), 1); }

absl::StatusOr<Features> ExtractFeatures(video::FrameSource& source, const FeatureModels& models,
                                         const labels::LabelIndex& truth,
                                         const FeatureOptions& options, Clock* clock,
                                         const FrameProgress& on_frame) {
  const cascade::CascadeConfig& config = options.config;
  if (config.roi) {
    DNS_RETURN_IF_ERROR(CheckRoiInFrame(*config.roi, source.info().width, source.info().height));
  }
  Features features;
  features.has_confidence = models.specialized != nullptr;
  Extractor extractor(models, truth, options, clock, &features);
  double decode_seconds = 0;
  while (true) {
    const Clock::TimePoint t0 = clock->Now();
    DNS_ASSIGN_OR_RETURN(std::optional<video::Frame> frame, source.Next());
    decode_seconds += SecondsBetween(t0, clock->Now());
    if (!frame) break;
    DNS_RETURN_IF_ERROR(extractor.Add(*frame));
    if (on_frame) on_frame(features.size());
  }
  if (features.size() == 0) {
    return absl::InvalidArgumentError("the fitting range yields no frames");
  }
  DNS_RETURN_IF_ERROR(extractor.Finish());
  features.samples.decode = features.size();
  features.measured.decode_ms = 1e3 * decode_seconds / features.size();
  return features;
}

}  // namespace dnoscope::optimizer
