#include "optimizer/threshold_sweep.h"

#include <algorithm>
#include <cmath>

#include "labels/evaluation.h"

namespace dnoscope::optimizer::internal {
namespace {

// A float strictly between a < b, or nullopt when they are adjacent floats.
std::optional<float> Between(float a, float b) {
  const float m = a + (b - a) / 2;
  if (a < m && m < b) return m;
  return std::nullopt;
}

float Below(float lo) {
  const float t = lo >= 0 ? -1.0f : lo - std::abs(lo) - 1.0f;
  return std::isfinite(t) ? t : std::nextafter(lo, -INFINITY);
}

float Above(float hi) {
  const float t = hi <= 1 ? 2.0f : hi + std::abs(hi) + 1.0f;
  return std::isfinite(t) ? t : std::nextafter(hi, INFINITY);
}

}  // namespace

std::vector<float> ConfidenceThresholds(const Features& features, int max_count) {
  std::vector<float> values;
  if (!features.has_confidence) return values;
  for (int64_t i = 0; i < features.size(); ++i) {
    if (!features.corrupt[i] && std::isfinite(features.confidence[i])) {
      values.push_back(features.confidence[i]);
    }
  }
  if (values.empty()) return values;
  std::sort(values.begin(), values.end());
  std::vector<float> out = {Below(values.front())};
  const int inner = std::max(0, max_count - 2);
  const size_t m = values.size();
  for (int i = 1; i <= inner; ++i) {
    // Quantile split point, moved to the next change of value.
    const size_t p = static_cast<size_t>(int64_t{i} * static_cast<int64_t>(m) / (inner + 1));
    if (p == 0) continue;
    const size_t q = std::upper_bound(values.begin(), values.end(), values[p - 1]) - values.begin();
    if (q >= m) continue;
    if (std::optional<float> t = Between(values[q - 1], values[q])) out.push_back(*t);
  }
  out.push_back(Above(values.back()));
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

std::vector<double> DiffThresholdCandidates(const DiffPlan& plan, int count) {
  std::vector<double> scores;
  for (size_t i = 0; i < plan.routing.size(); ++i) {
    const bool scored =
        plan.route(i) == cascade::Route::kModels || plan.route(i) == cascade::Route::kReuse;
    if (scored && std::isfinite(plan.score[i])) scores.push_back(plan.score[i]);
  }
  std::sort(scores.begin(), scores.end());
  std::vector<double> out = {0.0};
  const int64_t m = static_cast<int64_t>(scores.size());
  for (int i = 1; i <= count && m > 0; ++i) {
    const int64_t rank = (int64_t{i} * m + count - 1) / count;  // ceil(i * m / count)
    out.push_back(scores[std::clamp<int64_t>(rank - 1, 0, m - 1)]);
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

PlanSweep::PlanSweep(const Features& features, const DiffPlan& plan,
                     std::span<const float> thresholds, const Targets& targets)
    : features_(features), plan_(plan), thresholds_(thresholds), targets_(targets) {
  const int64_t n = features.size();
  bin_.assign(n, -1);  // -1: not a decider, or a NaN confidence (always the reference)
  for (int64_t i = 0; i < n; ++i) {
    const float c = features.confidence[i];
    if (plan.route(i) == cascade::Route::kModels && features.has_confidence && !std::isnan(c)) {
      bin_[i] = static_cast<int32_t>(std::upper_bound(thresholds.begin(), thresholds.end(), c) -
                                     thresholds.begin());
    }
  }
  if (targets.per_window) {
    std::vector<uint8_t> none(n, 0);
    const Accuracy a =
        MeasureAccuracy(features.truth, none, targets.window, targets.window_min_positive);
    positives_ = a.windows.positives;
    negatives_ = a.windows.negatives;
  } else {
    positives_ = features.positives();
    negatives_ = n - positives_;
  }
  BuildPrefixSums();
}

void PlanSweep::BuildPrefixSums() {
  const int64_t n = features_.size();
  const size_t q = thresholds_.size();
  std::vector<int32_t> tally_pos(n, 0), tally_neg(n, 0);
  for (int64_t f = 0; f < n; ++f) {
    const int32_t d = plan_.decider[f];
    if (d < 0) {
      base_fn_ += features_.truth[f];
    } else {
      ++(features_.truth[f] ? tally_pos : tally_neg)[d];
    }
  }
  // Index q + 1 collects deciders that always go to the reference (NaN confidence).
  for (auto* v : {&neg_, &pos_, &ref_fp_, &ref_fn_, &deciders_}) v->assign(q + 2, 0);
  for (int64_t d = 0; d < n; ++d) {
    if (plan_.route(d) != cascade::Route::kModels) continue;
    const size_t k = bin_[d] < 0 ? q + 1 : static_cast<size_t>(bin_[d]);
    neg_[k] += tally_neg[d];
    pos_[k] += tally_pos[d];
    (features_.truth[d] ? ref_fp_[k] : ref_fn_[k]) +=
        features_.truth[d] ? tally_neg[d] : tally_pos[d];
    ++deciders_[k];
  }
  for (auto* v : {&neg_, &pos_, &ref_fp_, &ref_fn_, &deciders_}) {
    for (size_t k = 1; k <= q; ++k) (*v)[k] += (*v)[k - 1];
  }
}

SweepCounts PlanSweep::Evaluate(int a, int b) const {
  ++evaluations_;
  const size_t q = thresholds_.size();
  SweepCounts c;
  c.reference = deciders_[b] - deciders_[a] + deciders_[q + 1];
  if (targets_.per_window) {
    const SweepCounts w = EvaluateWindows(a, b, /*disabled=*/false);
    c.fp = w.fp;
    c.fn = w.fn;
    return c;
  }
  c.fp = (neg_[q] - neg_[b]) + (ref_fp_[b] - ref_fp_[a]) + ref_fp_[q + 1];
  c.fn = base_fn_ + pos_[a] + (ref_fn_[b] - ref_fn_[a]) + ref_fn_[q + 1];
  return c;
}

SweepCounts PlanSweep::EvaluateDisabled() const {
  ++evaluations_;
  if (targets_.per_window) {
    SweepCounts c = EvaluateWindows(0, 0, /*disabled=*/true);
    c.reference = plan_.to_models;
    return c;
  }
  const size_t q = thresholds_.size();
  const auto all = [q](const std::vector<int64_t>& v) { return v[q] + v[q + 1]; };
  return {all(ref_fp_), base_fn_ + all(ref_fn_), plan_.to_models};
}

SweepCounts PlanSweep::EvaluateWindows(int a, int b, bool disabled) const {
  const std::vector<uint8_t>& truth = features_.truth;
  const float c_low = disabled ? 0.0f : thresholds_[a];
  const float c_high = disabled ? 0.0f : thresholds_[b];
  // Each frame's label is its decider's: the policy's verdict on the
  // decider's confidence, or the truth when the reference decides.
  auto label = [&](int32_t d) -> uint8_t {
    if (d < 0) return 0;
    if (disabled || bin_[d] < 0) return truth[d];
    switch (cascade::JudgeConfidence(features_.confidence[d], c_low, c_high)) {
      case cascade::Verdict::kPresent:
        return 1;
      case cascade::Verdict::kAbsent:
        return 0;
      case cascade::Verdict::kUnsure:
        break;
    }
    return truth[d];
  };
  std::vector<uint8_t>& predicted = scratch_;
  predicted.resize(truth.size());
  for (size_t i = 0; i < truth.size(); ++i) predicted[i] = label(plan_.decider[i]);
  const labels::Confusion c =
      labels::CountWindows(truth, predicted, targets_.window, targets_.window_min_positive);
  return {c.fp, c.fn, 0};
}

ErrorRates PlanSweep::Rates(const SweepCounts& counts) const {
  return MakeRates(counts.fp, counts.fn, negatives_, positives_);
}

bool PlanSweep::Feasible(const SweepCounts& counts) const {
  return WithinTargets(Rates(counts), targets_);
}

std::optional<int> PlanSweep::CheapestHigh(int a) const {
  const int last = static_cast<int>(thresholds_.size()) - 1;
  auto fp_ok = [&](int b) {
    return CheckedFpRate(Rates(Evaluate(a, b)), targets_) <= targets_.max_fp_rate;
  };
  if (a > last || !fp_ok(last)) return std::nullopt;
  int lo = a, hi = last;  // smallest b in [a, last] meeting the FP target
  while (lo < hi) {
    const int mid = lo + (hi - lo) / 2;
    if (fp_ok(mid)) {
      hi = mid;
    } else {
      lo = mid + 1;
    }
  }
  if (!Feasible(Evaluate(a, lo))) return std::nullopt;
  return lo;
}

}  // namespace dnoscope::optimizer::internal
