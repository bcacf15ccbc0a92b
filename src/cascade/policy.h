// CascadePolicy: the cascade's decisions, written once. Every driver calls
// it — the run engine (cascade.h; in-process or remote stages, one stream or
// many) and the optimizer's simulation over precomputed scores — so that a
// grep for the threshold comparisons finds them here and nowhere else:
//
//  - routing: a frame not sampled, undecodable or dropped (a live run
//    falling behind, --max-lateness-ms) inherits the previous row's label; a frame the difference detector finds unchanged reuses
//    the label of the frame it names (its anchor, a frame N back, or the
//    empty background: absent); any other frame goes to the models;
//  - the specialized verdict: confidence >= c_high present, <= c_low
//    absent, otherwise (and NaN) the reference decides;
//  - the reference verdict: present when a detection matches the query
//    (labels::LabelFilter: class, minimum score, box centre in the ROI);
//  - the label memory that reuse and inheritance read, and the counts of a
//    run's rows.
//
// The decision functions are const and only read the options: any thread
// may call them (e.g. a stage's completion callback). Complete() keeps the
// label memory and must be called once per frame in frame order, from one
// thread; a policy object belongs to one run.
#pragma once

#include <array>
#include <cstdint>
#include <deque>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "cascade/audit.h"
#include "cascade/cascade_config.h"
#include "detect/difference_detector.h"
#include "labels/label_csv.h"
#include "labels/prediction_csv.h"
#include "models/model.h"

namespace dnoscope::cascade {

// How a frame gets its label, decided when it enters the cascade.
enum class Route : uint8_t {
  kInherit,  // not sampled, undecodable or dropped: the previous row's label
  kReuse,    // unchanged per the difference detector: reuse_frame's label
  kModels,   // the specialized and/or reference stage decide
};

struct Routing {
  Route route = Route::kModels;
  // The row's status: kSkipped, kCorrupt, kDropped or kDiffReused; for kModels,
  // provisional until a model decides.
  labels::FrameStatus status = labels::FrameStatus::kReference;
  // kReuse: the frame whose label is reused; -1 for the empty background.
  int64_t reuse_frame = -1;
  // The difference score when the detector ran; NaN otherwise.
  float diff_score = 0;
};

// What the specialized stage's confidence says.
enum class Verdict : uint8_t { kAbsent, kPresent, kUnsure };

// The threshold rule: present at or above c_high, absent at or below c_low
// (present wins if both hold), unsure in between and for NaN.
Verdict JudgeConfidence(float confidence, float c_low, float c_high);

struct PolicyOptions {
  // The specialized stage is part of the cascade.
  bool specialized = false;
  float c_low = 0;
  float c_high = 1;
  // Which reference detections mean "present".
  labels::LabelFilter query;
  // How many frames back the difference detector may name as the frame to
  // reuse (its delta for "delta:N", else 1): the label memory's depth.
  int reuse_depth = 1;
  // The accuracy audit (audit.h).
  AuditOptions audit;
};

// The options a cascade config implies.
PolicyOptions PolicyOptionsFor(const CascadeConfig& config);

// Rows of a run by outcome.
struct FrameCounts {
  int64_t frames = 0;
  int64_t positive_frames = 0;
  int64_t corrupt_frames = 0;
  std::array<int64_t, labels::kNumFrameStatuses> status_counts{};
};

class CascadePolicy {
 public:
  explicit CascadePolicy(PolicyOptions options);

  const PolicyOptions& options() const { return options_; }

  // ---- decisions (const; any thread) ----

  // `diff` is the difference detector's decision when it ran on the frame
  // (sampled, decodable, not dropped, detector enabled). A dropped frame was
  // never looked at: it inherits the previous row's label (as a skipped
  // frame does), so a drop neither invents nor hides an answer change.
  static Routing RouteFrame(bool sampled, bool corrupt,
                            const std::optional<detect::DiffDecision>& diff,
                            bool dropped = false);

  // Records `confidence` in `r`; when certain, sets the row's status
  // (kSpecialized) and label and returns false; true when the reference
  // must decide. The thresholds are the options' or, while a drift response
  // changed the setting, `point`'s.
  bool DecideSpecialized(float confidence, labels::FrameResult* r) const;
  bool DecideSpecialized(float confidence, const OperatingPoint& point,
                         labels::FrameResult* r) const;

  // Whether a frame routed to the models goes to the specialized stage
  // first under `point` (otherwise straight to the reference).
  bool UsesSpecialized(const OperatingPoint& point) const {
    return options_.specialized && point.specialized;
  }

  // The reference's answer: `boxes` in full-frame pixels, class ids
  // indexing `class_names`. Sets status kReference, the label and the
  // highest score among the matching boxes (0 when none).
  void DecideReference(std::span<const models::BoxDetection> boxes,
                       const std::vector<std::string>& class_names, labels::FrameResult* r) const;
  // The same from an answer already matched against the query (replayed
  // truth in the optimizer's simulation).
  void DecideReference(bool present, float confidence, labels::FrameResult* r) const;

  // Whether frame `frame`, decided by a cheap stage (`decided_by`:
  // kDiffReused or kSpecialized), is also sent to the reference for the
  // audit. A function of the options and the frame only: the same frames
  // are audited whatever runs where.
  bool ShouldAudit(int64_t frame, labels::FrameStatus decided_by) const;

  // ---- in frame order (one thread) ----

  // Completes frame `r`, routed as `routing`: an inherited or reused frame
  // gets its label from the memory; a frame the models labelled is
  // remembered; the row is counted. Internal when a reused frame's label is
  // no longer remembered (a routing bug, never the input's fault).
  absl::Status Complete(const Routing& routing, labels::FrameResult* r);

  const FrameCounts& counts() const { return counts_; }

 private:
  absl::StatusOr<bool> LabelOf(int64_t frame) const;
  void Remember(int64_t frame, bool label, bool from_model);

  PolicyOptions options_;
  FrameCounts counts_;
  bool last_label_ = false;
  int64_t last_model_frame_ = -1;
  bool last_model_label_ = false;
  std::deque<std::pair<int64_t, bool>> recent_;
};

}  // namespace dnoscope::cascade
