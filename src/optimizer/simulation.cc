#include "optimizer/simulation.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "absl/status/status.h"
#include "common/status_macros.h"
#include "fmt/format.h"

namespace dnoscope::optimizer {
namespace {

using labels::FrameResult;
using labels::FrameStatus;

// The status and label the cascade gives a frame that reached the models.
void DecideWithModels(const Features& f, int64_t i, const Setting& s, FrameResult* r) {
  if (s.use_specialized && f.has_confidence) {
    const float conf = f.confidence[i];
    r->specialized_confidence = conf;
    // Same comparisons as Cascade::Worker::RunModels (NaN defers).
    if (conf <= s.c_low || conf >= s.c_high) {
      r->status = FrameStatus::kSpecialized;
      r->label = conf >= s.c_high;
      return;
    }
  }
  r->status = FrameStatus::kReference;
  r->label = f.truth[i] != 0;
}

}  // namespace

absl::StatusOr<DiffPlan> PlanDifference(const Features& features, const detect::DiffOptions& diff,
                                        const cv::Mat& background, int skip, double threshold) {
  if (skip < 1) return absl::InvalidArgumentError(fmt::format("skip must be >= 1, got {}", skip));
  detect::DiffOptions options = diff;
  options.threshold = threshold;
  DNS_ASSIGN_OR_RETURN(auto detector, detect::DifferenceDetector::Create(options, background));
  const int64_t n = features.size();
  DiffPlan plan;
  plan.skip = skip;
  plan.threshold = threshold;
  plan.path.resize(n);
  plan.decider.resize(n);
  plan.score.assign(n, std::numeric_limits<double>::quiet_NaN());
  for (int64_t i = 0; i < n; ++i) {
    const int32_t previous = i > 0 ? plan.decider[i - 1] : -1;
    if (i % skip != 0 || features.corrupt[i]) {
      plan.path[i] = i % skip != 0 ? FramePath::kSkipped : FramePath::kCorrupt;
      plan.decider[i] = previous;
      continue;
    }
    const detect::DiffDecision d =
        detector->Process(features.first_frame + i, features.diff_images[i]);
    ++plan.processed;
    plan.score[i] = d.score;
    if (d.changed) {
      plan.path[i] = FramePath::kModels;
      plan.decider[i] = static_cast<int32_t>(i);
      ++plan.to_models;
    } else {
      plan.path[i] = FramePath::kReused;
      plan.decider[i] = d.reuse_frame < 0 ? -1 : plan.decider[d.reuse_frame - features.first_frame];
    }
  }
  return plan;
}

std::vector<FrameResult> SimulateSetting(const Features& features, const DiffPlan& plan,
                                         const Setting& setting) {
  const int64_t n = features.size();
  std::vector<FrameResult> out(n);
  for (int64_t i = 0; i < n; ++i) {
    FrameResult& r = out[i];
    r.frame = features.first_frame + i;
    r.diff_score = static_cast<float>(plan.score[i]);
    const bool previous = i > 0 && out[i - 1].label;
    switch (plan.path[i]) {
      case FramePath::kSkipped:
      case FramePath::kCorrupt:
        r.status =
            plan.path[i] == FramePath::kSkipped ? FrameStatus::kSkipped : FrameStatus::kCorrupt;
        r.label = previous;
        break;
      case FramePath::kReused:
        r.status = FrameStatus::kDiffReused;
        r.label = plan.decider[i] >= 0 && out[plan.decider[i]].label;
        break;
      case FramePath::kModels:
        DecideWithModels(features, i, setting, &r);
        break;
    }
  }
  return out;
}

absl::StatusOr<std::vector<FrameResult>> Simulate(const Features& features,
                                                  const detect::DiffOptions& diff,
                                                  const cv::Mat& background,
                                                  const Setting& setting) {
  DNS_ASSIGN_OR_RETURN(DiffPlan plan, PlanDifference(features, diff, background, setting.skip,
                                                     setting.diff_threshold));
  return SimulateSetting(features, plan, setting);
}

namespace {

// z with P(Z <= z) = p for a standard normal Z, by bisection on erfc.
double NormalQuantile(double p) {
  double lo = -10, hi = 10;
  for (int i = 0; i < 100; ++i) {
    const double mid = (lo + hi) / 2;
    (0.5 * std::erfc(-mid / std::sqrt(2.0)) < p ? lo : hi) = mid;
  }
  return (lo + hi) / 2;
}

}  // namespace

double RateUpperBound(int64_t errors, int64_t total, double confidence) {
  if (total <= 0) return 0.0;
  const double n = static_cast<double>(total);
  const double p = static_cast<double>(errors) / n;
  if (confidence <= 0) return p;
  const double z = NormalQuantile(confidence);
  const double z2 = z * z;
  const double centre = p + z2 / (2 * n);
  const double spread = z * std::sqrt(p * (1 - p) / n + z2 / (4 * n * n));
  return std::min(1.0, (centre + spread) / (1 + z2 / n));
}

double CheckedFpRate(const ErrorRates& rates, const Targets& targets) {
  return RateUpperBound(rates.fp, rates.negatives, targets.confidence);
}

double CheckedFnRate(const ErrorRates& rates, const Targets& targets) {
  return RateUpperBound(rates.fn, rates.positives, targets.confidence);
}

bool WithinTargets(const ErrorRates& rates, const Targets& targets) {
  return CheckedFpRate(rates, targets) <= targets.max_fp_rate &&
         CheckedFnRate(rates, targets) <= targets.max_fn_rate;
}

bool MeetsTargets(const Accuracy& accuracy, const Targets& targets) {
  return WithinTargets(targets.per_window ? accuracy.windows : accuracy.frames, targets);
}

ErrorRates MakeRates(int64_t fp, int64_t fn, int64_t negatives, int64_t positives) {
  ErrorRates r;
  r.fp = fp;
  r.fn = fn;
  r.negatives = negatives;
  r.positives = positives;
  r.fp_rate = negatives ? static_cast<double>(fp) / static_cast<double>(negatives) : 0.0;
  r.fn_rate = positives ? static_cast<double>(fn) / static_cast<double>(positives) : 0.0;
  return r;
}

Accuracy MeasureAccuracy(std::span<const uint8_t> truth, std::span<const uint8_t> predicted,
                         int window, int window_min_positive) {
  const int64_t n = static_cast<int64_t>(truth.size());
  int64_t fp = 0, fn = 0, positives = 0;
  for (int64_t i = 0; i < n; ++i) {
    positives += truth[i] ? 1 : 0;
    fp += !truth[i] && predicted[i] ? 1 : 0;
    fn += truth[i] && !predicted[i] ? 1 : 0;
  }
  Accuracy a;
  a.frames = MakeRates(fp, fn, n - positives, positives);
  int64_t wfp = 0, wfn = 0, wpos = 0, windows = 0;
  for (int64_t w = 0; w < n; w += window, ++windows) {
    const int64_t len = std::min<int64_t>(window, n - w);
    const int64_t need = (int64_t{window_min_positive} * len + window - 1) / window;
    int64_t t = 0, p = 0;
    for (int64_t i = w; i < w + len; ++i) {
      t += truth[i] ? 1 : 0;
      p += predicted[i] ? 1 : 0;
    }
    wpos += t >= need ? 1 : 0;
    wfp += t < need && p >= need ? 1 : 0;
    wfn += t >= need && p < need ? 1 : 0;
  }
  a.windows = MakeRates(wfp, wfn, windows - wpos, wpos);
  return a;
}

}  // namespace dnoscope::optimizer
