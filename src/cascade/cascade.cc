#include "cascade/cascade.h"

#include <cmath>
#include <deque>
#include <thread>
#include <utility>

#include "absl/status/status.h"
#include "common/bounded_queue.h"
#include "common/status_macros.h"
#include "fmt/format.h"
#include "spdlog/spdlog.h"

namespace dnoscope::cascade {

using labels::FrameResult;
using labels::FrameStatus;

bool MatchesQuery(const models::BoxDetection& d, const std::vector<std::string>& class_names,
                  const CascadeConfig& config) {
  if (d.class_id < 0 || d.class_id >= static_cast<int>(class_names.size())) return false;
  if (class_names[d.class_id] != config.object) return false;
  if (d.score < config.min_confidence) return false;
  return !config.roi || config.roi->ContainsBoxCentre(d.x1, d.y1, d.x2, d.y2);
}

// Runs the stages over frames in order and remembers the labels that later
// frames may reuse. Lives on the worker thread for one Run().
class Cascade::Worker {
 public:
  Worker(Cascade& cascade, const ResultCallback& on_result, const ProgressCallback& on_progress)
      : c_(cascade), on_result_(on_result), on_progress_(on_progress) {}

  absl::Status Consume(BoundedQueue<video::Frame>& queue) {
    while (std::optional<video::Frame> frame = queue.Pop()) {
      absl::StatusOr<FrameResult> result = Decide(*frame);
      if (!result.ok()) return result.status();
      DNS_RETURN_IF_ERROR(Emit(*result));
    }
    return absl::OkStatus();
  }

  CascadeSummary& summary() { return summary_; }

 private:
  absl::StatusOr<FrameResult> Decide(const video::Frame& frame) {
    FrameResult r;
    r.frame = frame.index;
    if (!frame.sampled || frame.corrupt) {
      r.status = frame.corrupt ? FrameStatus::kCorrupt : FrameStatus::kSkipped;
      r.label = last_label_;
      return r;
    }
    if (c_.diff_) {
      const Clock::TimePoint t0 = c_.clock_->Now();
      video::CropAndResize(frame.image, c_.config_.roi, c_.config_.diff.width,
                           c_.config_.diff.height, c_.options_.interpolation, &diff_input_);
      const Clock::TimePoint t1 = c_.clock_->Now();
      const detect::DiffDecision d = c_.diff_->Process(r.frame, diff_input_);
      summary_.stage_seconds.preprocess += SecondsBetween(t0, t1);
      summary_.stage_seconds.difference += SecondsBetween(t1, c_.clock_->Now());
      r.diff_score = static_cast<float>(d.score);
      if (!d.changed) {
        r.status = FrameStatus::kDiffReused;
        DNS_ASSIGN_OR_RETURN(r.label, LabelOf(d.reuse_frame));
        Remember(r.frame, r.label, /*from_model=*/false);
        return r;
      }
    }
    DNS_RETURN_IF_ERROR(RunModels(frame, &r));
    Remember(r.frame, r.label, /*from_model=*/true);
    return r;
  }

  absl::Status RunModels(const video::Frame& frame, FrameResult* r) {
    if (c_.specialized_) {
      const Clock::TimePoint t0 = c_.clock_->Now();
      video::CropAndResize(frame.image, c_.config_.roi, c_.config_.specialized_width,
                           c_.config_.specialized_height, c_.options_.interpolation, &spec_input_);
      absl::StatusOr<std::vector<float>> conf = 
          models::Classify(*c_.specialized_, {spec_input_}, std::span<const int64_t>(&frame.index, 1));
      summary_.stage_seconds.specialized += SecondsBetween(t0, c_.clock_->Now());
      if (!conf.ok()) return Annotate(conf.status(), "specialized model", r->frame);
      r->specialized_confidence = conf->at(0);
      if (r->specialized_confidence <= c_.config_.c_low ||
          r->specialized_confidence >= c_.config_.c_high) {
        r->status = FrameStatus::kSpecialized;
        r->label = r->specialized_confidence >= c_.config_.c_high;
        return absl::OkStatus();
      }
    }
    const Clock::TimePoint t0 = c_.clock_->Now();
    absl::StatusOr<std::vector<models::BoxDetection>> boxes =
        models::Detect(*c_.reference_, frame.image, frame.index);
    summary_.stage_seconds.reference += SecondsBetween(t0, c_.clock_->Now());
    if (!boxes.ok()) return Annotate(boxes.status(), "reference model", r->frame);
    r->status = FrameStatus::kReference;
    r->reference_confidence = 0;
    const auto& names = c_.reference_->metadata().class_names;
    for (const models::BoxDetection& b : *boxes) {
      if (!MatchesQuery(b, names, c_.config_)) continue;
      r->label = true;
      r->reference_confidence = std::max(r->reference_confidence, b.score);
    }
    return absl::OkStatus();
  }

  static absl::Status Annotate(const absl::Status& s, std::string_view stage, int64_t frame) {
    return absl::Status(
        s.code(), fmt::format("{} failed on frame {}: {}", stage, frame, std::string(s.message())));
  }

  absl::StatusOr<bool> LabelOf(int64_t frame) const {
    if (frame < 0) return false;  // background mode: the empty scene
    if (frame == last_model_frame_) return last_model_label_;
    for (const auto& [index, label] : recent_) {
      if (index == frame) return label;
    }
    return absl::InternalError(fmt::format("label of reference frame {} is not known", frame));
  }

  void Remember(int64_t frame, bool label, bool from_model) {
    if (from_model) {
      last_model_frame_ = frame;
      last_model_label_ = label;
    }
    recent_.emplace_back(frame, label);
    const size_t keep = c_.diff_ ? static_cast<size_t>(c_.diff_->options().delta) : 1;
    while (recent_.size() > keep) recent_.pop_front();
  }

  absl::Status Emit(const FrameResult& r) {
    last_label_ = r.label;
    ++summary_.frames;
    ++summary_.status_counts[static_cast<int>(r.status)];
    if (r.label) ++summary_.positive_frames;
    if (r.status == FrameStatus::kCorrupt) ++summary_.corrupt_frames;
    DNS_RETURN_IF_ERROR(on_result_(r));
    if (on_progress_) on_progress_(summary_);
    return absl::OkStatus();
  }

  Cascade& c_;
  const ResultCallback& on_result_;
  const ProgressCallback& on_progress_;
  CascadeSummary summary_;
  cv::Mat diff_input_;
  cv::Mat spec_input_;
  bool last_label_ = false;
  int64_t last_model_frame_ = -1;
  bool last_model_label_ = false;
  std::deque<std::pair<int64_t, bool>> recent_;
};

Cascade::Cascade(CascadeConfig config, CascadeOptions options,
                 std::unique_ptr<models::Model> specialized,
                 std::unique_ptr<models::Model> reference,
                 std::unique_ptr<detect::DifferenceDetector> diff, Clock* clock)
    : config_(std::move(config)),
      options_(options),
      specialized_(std::move(specialized)),
      reference_(std::move(reference)),
      diff_(std::move(diff)),
      clock_(clock) {}

Cascade::~Cascade() = default;

absl::StatusOr<std::unique_ptr<Cascade>> Cascade::Create(const CascadeConfig& config,
                                                         const CascadeOptions& options,
                                                         std::unique_ptr<models::Model> specialized,
                                                         std::unique_ptr<models::Model> reference,
                                                         Clock* clock) {
  DNS_RETURN_IF_ERROR(ValidateCascadeConfig(config));
  if (reference == nullptr) return absl::InvalidArgumentError("cascade needs a reference model");
  if (config.specialized_enabled() && specialized == nullptr) {
    return absl::InvalidArgumentError("config names a specialized model but none was loaded");
  }
  std::unique_ptr<detect::DifferenceDetector> diff;
  if (config.diff_enabled) {
    DNS_ASSIGN_OR_RETURN(cv::Mat background, LoadDiffBackground(config));
    DNS_ASSIGN_OR_RETURN(diff, detect::DifferenceDetector::Create(config.diff, background));
  }
  return std::unique_ptr<Cascade>(new Cascade(config, options, std::move(specialized),
                                              std::move(reference), std::move(diff), clock));
}

absl::StatusOr<CascadeSummary> Cascade::Run(video::FrameSource& source,
                                            const ResultCallback& on_result,
                                            const ProgressCallback& on_progress) {
  const video::VideoInfo& info = source.info();
  if (config_.roi) DNS_RETURN_IF_ERROR(CheckRoiInFrame(*config_.roi, info.width, info.height));
  const Clock::TimePoint start = clock_->Now();
  BoundedQueue<video::Frame> queue(options_.queue_capacity);
  Worker worker(*this, on_result, on_progress);
  absl::Status worker_status;
  std::jthread thread([&] {
    worker_status = worker.Consume(queue);
    queue.Close();  // unblocks the decoder when the worker stopped early
  });
  double decode_seconds = 0;
  absl::Status decode_status;
  while (true) {
    const Clock::TimePoint t0 = clock_->Now();
    absl::StatusOr<std::optional<video::Frame>> next = source.Next();
    decode_seconds += SecondsBetween(t0, clock_->Now());
    if (!next.ok()) {
      decode_status = next.status();
      break;
    }
    if (!next->has_value() || !queue.Push(std::move(**next))) break;
  }
  queue.Close();
  thread.join();
  CascadeSummary summary = worker.summary();
  summary.stage_seconds.decode = decode_seconds;
  summary.wall_seconds = SecondsBetween(start, clock_->Now());
  summary.frames_per_second = summary.wall_seconds > 0 ? summary.frames / summary.wall_seconds : 0;
  if (!worker_status.ok()) return worker_status;
  if (!decode_status.ok()) return decode_status;
  return summary;
}

absl::StatusOr<double> MeasureDecodeOnly(video::FrameSource& source, const CascadeConfig& config,
                                         const CascadeOptions& options, Clock* clock) {
  const Clock::TimePoint start = clock->Now();
  int64_t frames = 0;
  cv::Mat small;
  while (true) {
    DNS_ASSIGN_OR_RETURN(std::optional<video::Frame> frame, source.Next());
    if (!frame) break;
    ++frames;
    if (frame->sampled && !frame->corrupt) {
      video::CropAndResize(frame->image, config.roi, config.diff.width, config.diff.height,
                           options.interpolation, &small);
    }
  }
  const double seconds = SecondsBetween(start, clock->Now());
  return seconds > 0 ? frames / seconds : 0.0;
}

}  // namespace dnoscope::cascade
