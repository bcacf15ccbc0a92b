// Internal to the optimizer library: candidate thresholds and the fast
// evaluation of every (c_low, c_high) pair for one difference plan.
//
// Each frame ends up with the label of one "decider" frame (a frame that
// reached the models; see DiffPlan::decider). Candidate confidence thresholds
// t_0 < ... < t_{Q-1} never equal a confidence (they lie strictly between
// two observed values; t_0 below all of them, t_{Q-1} above), so a decider
// of confidence c falls in bin k = #{t < c}, and for c_low = t_a <= c_high =
// t_b it is absent when k <= a, present when k > b, and goes to the
// reference (label = truth) in between. Per frame, the FP/FN counts are then
// prefix sums over bins: O(1) per pair. Per window they need one pass over
// the frames.
//
// These prefix sums restate CascadePolicy's threshold rule over bins; the
// per-window pass applies cascade::JudgeConfidence itself, and the search's
// chosen setting is re-checked by SimulateSetting, which runs the policy.
//
// For a fixed a, raising b moves deciders from "present" to "reference":
// the FP count never rises, the FN count and the reference count never fall
// (window labels are monotone in frame labels). So the cheapest feasible b
// is the smallest b meeting the FP target, found by bisection, and it is
// feasible only if it also meets the FN target.
//
// Thread-safety: a PlanSweep is used by one thread (it keeps a scratch buffer).
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "optimizer/features.h"
#include "optimizer/simulation.h"

namespace dnoscope::optimizer::internal {

// At most `max_count` (>= 2) thresholds: quantiles of the decodable frames'
// confidences, each strictly between two neighbouring observed values, plus
// one below all (c_low < 0 when they are >= 0) and one above all (c_high > 1
// when they are <= 1). Empty without confidences.
std::vector<float> ConfidenceThresholds(const Features& features, int max_count);

// 0 plus up to `count` quantiles of the finite scores in `plan` (the scores
// the detector computes at threshold 0), ascending, without duplicates.
std::vector<double> DiffThresholdCandidates(const DiffPlan& plan, int count);

struct SweepCounts {
  int64_t fp = 0;
  int64_t fn = 0;
  // Frames the reference decides.
  int64_t reference = 0;
};

class PlanSweep {
 public:
  // The arguments must outlive the sweep.
  PlanSweep(const Features& features, const DiffPlan& plan, std::span<const float> thresholds,
            const Targets& targets);

  // Counts for c_low = thresholds[a], c_high = thresholds[b] (a <= b), in the
  // targets' unit (frames or windows).
  SweepCounts Evaluate(int a, int b) const;
  // Counts without the specialized stage.
  SweepCounts EvaluateDisabled() const;
  bool Feasible(const SweepCounts& counts) const;
  // The cheapest feasible b for c_low index a, or nullopt.
  std::optional<int> CheapestHigh(int a) const;
  // Rates of `counts` in the targets' unit.
  ErrorRates Rates(const SweepCounts& counts) const;
  // Evaluate/EvaluateDisabled calls so far.
  int64_t evaluations() const { return evaluations_; }

 private:
  void BuildPrefixSums();
  SweepCounts EvaluateWindows(int a, int b, bool disabled) const;

  const Features& features_;
  const DiffPlan& plan_;
  std::span<const float> thresholds_;
  const Targets& targets_;
  // Per frame: the confidence bin of a decider frame.
  std::vector<int32_t> bin_;
  // Truth-positive and -negative unit counts (frames or windows).
  int64_t positives_ = 0;
  int64_t negatives_ = 0;
  // Per-frame mode: FN from frames whose label is a constant "absent".
  int64_t base_fn_ = 0;
  // Prefix sums over bins 0..k (k = 0..Q) of, per decider: frames it labels
  // that are negative / positive, the same for deciders whose own truth is
  // positive (their reference label makes the negatives FP) / negative, and
  // the deciders themselves.
  std::vector<int64_t> neg_, pos_, ref_fp_, ref_fn_, deciders_;
  mutable int64_t evaluations_ = 0;
  // Per-frame labels of one window evaluation, reused between calls.
  mutable std::vector<uint8_t> scratch_;
};

}  // namespace dnoscope::optimizer::internal
