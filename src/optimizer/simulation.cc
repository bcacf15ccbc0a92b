#include "optimizer/simulation.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "absl/status/status.h"
#include "common/status_macros.h"
#include "fmt/format.h"
#include "labels/evaluation.h"

namespace dnoscope::optimizer {
namespace {

using labels::FrameResult;
using labels::FrameStatus;

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
  plan.reuse_depth = std::max(1, diff.delta);
  plan.routing.resize(n);
  plan.decider.resize(n);
  plan.score.assign(n, std::numeric_limits<double>::quiet_NaN());
  for (int64_t i = 0; i < n; ++i) {
    const bool sampled = i % skip == 0;
    std::optional<detect::DiffDecision> decision;
    if (sampled && features.corrupt[i] == 0) {
      decision = detector->Process(features.first_frame + i, features.diff_images[i]);
      ++plan.processed;
      plan.score[i] = decision->score;
    }
    // Corruption was seen decoding every frame; a frame the sampling skips
    // is not decoded, so it counts as skipped.
    const bool corrupt = sampled && features.corrupt[i] != 0;
    const cascade::Routing& r = plan.routing[i] =
        cascade::CascadePolicy::RouteFrame(sampled, corrupt, decision);
    switch (r.route) {
      case cascade::Route::kInherit:
        plan.decider[i] = i > 0 ? plan.decider[i - 1] : -1;
        break;
      case cascade::Route::kReuse:
        plan.decider[i] =
            r.reuse_frame < 0 ? -1 : plan.decider[r.reuse_frame - features.first_frame];
        break;
      case cascade::Route::kModels:
        plan.decider[i] = static_cast<int32_t>(i);
        ++plan.to_models;
        break;
    }
  }
  return plan;
}

absl::StatusOr<std::vector<FrameResult>> SimulateSetting(const Features& features,
                                                         const DiffPlan& plan,
                                                         const Setting& setting) {
  cascade::PolicyOptions options;
  options.specialized = setting.use_specialized && features.has_confidence;
  options.c_low = setting.c_low;
  options.c_high = setting.c_high;
  options.reuse_depth = plan.reuse_depth;
  cascade::CascadePolicy policy(options);
  const int64_t n = features.size();
  std::vector<FrameResult> out(n);
  for (int64_t i = 0; i < n; ++i) {
    FrameResult& r = out[i];
    const cascade::Routing& routing = plan.routing[i];
    r.frame = features.first_frame + i;
    r.status = routing.status;
    r.diff_score = static_cast<float>(plan.score[i]);
    if (routing.route == cascade::Route::kModels &&
        (!options.specialized || policy.DecideSpecialized(features.confidence[i], &r))) {
      policy.DecideReference(features.truth[i] != 0, std::nanf(""), &r);
    }
    DNS_RETURN_IF_ERROR(policy.Complete(routing, &r));
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
  auto rates = [](const labels::Confusion& c) {
    return MakeRates(c.fp, c.fn, c.negatives(), c.positives());
  };
  Accuracy a;
  a.frames = rates(labels::CountFrames(truth, predicted));
  a.windows = rates(labels::CountWindows(truth, predicted, window, window_min_positive));
  return a;
}

}  // namespace dnoscope::optimizer
