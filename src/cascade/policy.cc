#include "cascade/policy.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "fmt/format.h"

namespace dnoscope::cascade {

using labels::FrameResult;
using labels::FrameStatus;

Verdict JudgeConfidence(float confidence, float c_low, float c_high) {
  if (confidence >= c_high) return Verdict::kPresent;
  if (confidence <= c_low) return Verdict::kAbsent;
  return Verdict::kUnsure;  // also NaN: every comparison is false
}

PolicyOptions PolicyOptionsFor(const CascadeConfig& config) {
  PolicyOptions o;
  o.specialized = config.specialized_enabled();
  o.c_low = config.c_low;
  o.c_high = config.c_high;
  o.query.object_name = config.object;
  o.query.min_confidence = config.min_confidence;
  o.query.roi = config.roi;
  o.reuse_depth = config.diff_enabled ? std::max(1, config.diff.delta) : 1;
  return o;
}

CascadePolicy::CascadePolicy(PolicyOptions options) : options_(std::move(options)) {
  options_.reuse_depth = std::max(1, options_.reuse_depth);
}

Routing CascadePolicy::RouteFrame(bool sampled, bool corrupt,
                                  const std::optional<detect::DiffDecision>& diff,
                                  bool dropped) {
  Routing r;
  r.diff_score = std::numeric_limits<float>::quiet_NaN();
  if (!sampled || corrupt || dropped) {
    r.route = Route::kInherit;
    r.status = dropped   ? FrameStatus::kDropped
               : corrupt ? FrameStatus::kCorrupt
                         : FrameStatus::kSkipped;
    return r;
  }
  if (diff) {
    r.diff_score = static_cast<float>(diff->score);
    if (!diff->changed) {
      r.route = Route::kReuse;
      r.status = FrameStatus::kDiffReused;
      r.reuse_frame = diff->reuse_frame;
      return r;
    }
  }
  r.route = Route::kModels;
  return r;
}

bool CascadePolicy::DecideSpecialized(float confidence, FrameResult* r) const {
  OperatingPoint own;
  own.c_low = options_.c_low;
  own.c_high = options_.c_high;
  return DecideSpecialized(confidence, own, r);
}

bool CascadePolicy::DecideSpecialized(float confidence, const OperatingPoint& point,
                                      FrameResult* r) const {
  r->specialized_confidence = confidence;
  const Verdict verdict = JudgeConfidence(confidence, point.c_low, point.c_high);
  if (verdict == Verdict::kUnsure) return true;
  r->status = FrameStatus::kSpecialized;
  r->label = verdict == Verdict::kPresent;
  return false;
}

void CascadePolicy::DecideReference(std::span<const models::BoxDetection> boxes,
                                    const std::vector<std::string>& class_names,
                                    FrameResult* r) const {
  bool present = false;
  float confidence = 0;
  for (const models::BoxDetection& b : boxes) {
    if (b.class_id < 0 || b.class_id >= static_cast<int>(class_names.size())) continue;
    if (!options_.query.Matches(class_names[b.class_id], b.score, b.x1, b.y1, b.x2, b.y2)) {
      continue;
    }
    present = true;
    confidence = std::max(confidence, b.score);
  }
  DecideReference(present, confidence, r);
}

void CascadePolicy::DecideReference(bool present, float confidence, FrameResult* r) const {
  r->status = FrameStatus::kReference;
  r->label = present;
  r->reference_confidence = confidence;
}

bool CascadePolicy::ShouldAudit(int64_t frame, labels::FrameStatus decided_by) const {
  if (decided_by != labels::FrameStatus::kDiffReused &&
      decided_by != labels::FrameStatus::kSpecialized) {
    return false;
  }
  return AuditDraw(options_.audit.seed, frame, options_.audit.rate);
}

absl::Status CascadePolicy::Complete(const Routing& routing, FrameResult* r) {
  switch (routing.route) {
    case Route::kInherit:
      r->label = last_label_;
      break;
    case Route::kReuse: {
      absl::StatusOr<bool> label = LabelOf(routing.reuse_frame);
      if (!label.ok()) return label.status();
      r->label = *label;
      Remember(r->frame, r->label, /*from_model=*/false);
      break;
    }
    case Route::kModels:
      Remember(r->frame, r->label, /*from_model=*/true);
      break;
  }
  last_label_ = r->label;
  ++counts_.frames;
  ++counts_.status_counts[static_cast<int>(r->status)];
  if (r->label) ++counts_.positive_frames;
  if (r->status == FrameStatus::kCorrupt) ++counts_.corrupt_frames;
  return absl::OkStatus();
}

absl::StatusOr<bool> CascadePolicy::LabelOf(int64_t frame) const {
  if (frame < 0) return false;  // background mode: the empty scene
  if (frame == last_model_frame_) return last_model_label_;
  for (const auto& [index, label] : recent_) {
    if (index == frame) return label;
  }
  return absl::InternalError(fmt::format("label of reference frame {} is not known", frame));
}

void CascadePolicy::Remember(int64_t frame, bool label, bool from_model) {
  if (from_model) {
    last_model_frame_ = frame;
    last_model_label_ = label;
  }
  recent_.emplace_back(frame, label);
  while (recent_.size() > static_cast<size_t>(options_.reuse_depth)) recent_.pop_front();
}

}  // namespace dnoscope::cascade
