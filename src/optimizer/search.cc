#include "optimizer/search.h"

#include <cmath>

#include "absl/status/status.h"
#include "common/status_macros.h"
#include "fmt/format.h"
#include "optimizer/threshold_sweep.h"
#include "spdlog/spdlog.h"

namespace dnoscope::optimizer {
namespace {

using labels::FrameStatus;

struct Candidate {
  Setting setting;
  double cost = 0;
  // FP rate + FN rate in the targets' unit: breaks ties in cost.
  double error = 0;
};

// Lower cost first, then lower error; earlier candidates win exact ties.
bool Better(const Candidate& a, const Candidate& b) {
  const double tolerance = 1e-9 * std::max(1.0, std::abs(b.cost));
  if (a.cost < b.cost - tolerance) return true;
  if (a.cost > b.cost + tolerance) return false;
  return a.error < b.error;
}

absl::Status CheckOptions(const Features& features, const SearchOptions& o) {
  auto bad = [](std::string what) { return absl::InvalidArgumentError(std::move(what)); };
  if (features.size() == 0) return bad("no frames to fit thresholds on");
  const Targets& t = o.targets;
  if (!(t.max_fp_rate >= 0 && t.max_fp_rate <= 1 && t.max_fn_rate >= 0 && t.max_fn_rate <= 1)) {
    return bad(fmt::format("targets must lie in [0, 1], got FP {} and FN {}", t.max_fp_rate,
                           t.max_fn_rate));
  }
  if (t.window < 1 || t.window_min_positive < 1 || t.window_min_positive > t.window) {
    return bad(
        fmt::format("bad window {} / minimum positives {}", t.window, t.window_min_positive));
  }
  const StageCosts& c = o.costs;
  for (double ms : {c.difference_ms, c.specialized_ms, c.reference_ms}) {
    if (!(ms >= 0) || !std::isfinite(ms)) return bad(fmt::format("bad stage cost {} ms", ms));
  }
  if (o.skip_candidates.empty()) return bad("no skip candidates");
  for (int skip : o.skip_candidates) {
    if (skip < 1) return bad(fmt::format("skip candidates must be >= 1, got {}", skip));
  }
  if (o.confidence_thresholds < 2 || o.diff_threshold_candidates < 0) {
    return bad("need at least 2 confidence thresholds and >= 0 difference-threshold candidates");
  }
  for (const cv::Mat& image : features.diff_images) {
    if (image.empty()) continue;
    if (image.cols != o.diff.width || image.rows != o.diff.height || image.type() != CV_8UC3) {
      return bad(fmt::format("features are {}x{} images, the detector compares at {}x{}",
                             image.cols, image.rows, o.diff.width, o.diff.height));
    }
    break;
  }
  return absl::OkStatus();
}

// Expected cost per frame, in ms, of a setting whose difference detector
// scores `scored` frames, sends `to_models` on, and leaves `reference` to the
// reference (the formula in search.h).
double CostMsPerFrame(const StageCosts& c, bool use_specialized, int64_t scored, int64_t to_models,
                      int64_t reference, int64_t frames) {
  const double ms = c.difference_ms * scored +
                    (use_specialized ? c.specialized_ms * to_models : 0.0) +
                    c.reference_ms * reference;
  return frames ? ms / frames : 0;
}

// Tries every setting; keeps the best feasible one.
class Searcher {
 public:
  Searcher(const Features& features, const SearchOptions& options)
      : features_(features),
        options_(options),
        thresholds_(internal::ConfidenceThresholds(features, options.confidence_thresholds)) {}

  absl::Status SearchSkip(int skip) {
    DNS_ASSIGN_OR_RETURN(DiffPlan zero,
                         PlanDifference(features_, options_.diff, options_.background, skip, 0.0));
    for (double t : internal::DiffThresholdCandidates(zero, options_.diff_threshold_candidates)) {
      ++diff_tried_;
      if (t == 0) {
        SearchPlan(zero);
        continue;
      }
      DNS_ASSIGN_OR_RETURN(DiffPlan plan,
                           PlanDifference(features_, options_.diff, options_.background, skip, t));
      SearchPlan(plan);
    }
    return absl::OkStatus();
  }

  const std::optional<Candidate>& best() const { return best_; }
  int64_t diff_tried() const { return diff_tried_; }
  int64_t covered() const { return covered_; }
  int64_t evaluations() const { return evaluations_; }
  size_t confidence_thresholds() const { return thresholds_.size(); }

 private:
  void SearchPlan(const DiffPlan& plan) {
    const internal::PlanSweep sweep(features_, plan, thresholds_, options_.targets);
    Setting s{.skip = plan.skip, .diff_threshold = plan.threshold};
    Consider(sweep, plan, s, sweep.EvaluateDisabled());
    const int q = static_cast<int>(thresholds_.size());
    covered_ += 1 + int64_t{q} * (q + 1) / 2;
    s.use_specialized = true;
    for (int a = 0; a < q; ++a) {
      const std::optional<int> b = sweep.CheapestHigh(a);
      if (!b) continue;
      s.c_low = thresholds_[a];
      s.c_high = thresholds_[*b];
      Consider(sweep, plan, s, sweep.Evaluate(a, *b));
    }
    evaluations_ += sweep.evaluations();
  }

  void Consider(const internal::PlanSweep& sweep, const DiffPlan& plan, const Setting& s,
                const internal::SweepCounts& counts) {
    if (!sweep.Feasible(counts)) return;
    const double cost = CostMsPerFrame(options_.costs, s.use_specialized, plan.processed,
                                       plan.to_models, counts.reference, features_.size());
    const ErrorRates rates = sweep.Rates(counts);
    const Candidate candidate{s, cost, rates.fp_rate + rates.fn_rate};
    if (!best_ || Better(candidate, *best_)) best_ = candidate;
  }

  const Features& features_;
  const SearchOptions& options_;
  const std::vector<float> thresholds_;
  std::optional<Candidate> best_;
  int64_t diff_tried_ = 0;
  int64_t covered_ = 0;
  int64_t evaluations_ = 0;
};

FrameShares CountShares(const std::vector<labels::FrameResult>& results) {
  FrameShares s;
  s.frames = static_cast<int64_t>(results.size());
  for (const labels::FrameResult& r : results) {
    switch (r.status) {
      case FrameStatus::kSkipped:
        ++s.skipped;
        break;
      case FrameStatus::kCorrupt:
        ++s.corrupt;
        break;
      case FrameStatus::kDropped:  // live runs only; never in a labelled training video
        ++s.skipped;
        break;
      case FrameStatus::kDiffReused:
        ++s.diff_reused;
        break;
      case FrameStatus::kSpecialized:
        ++s.specialized;
        break;
      case FrameStatus::kReference:
        ++s.reference;
        break;
    }
  }
  s.scored = s.diff_reused + s.specialized + s.reference;
  return s;
}

}  // namespace

Setting FallbackSetting() {
  return Setting{.skip = 1, .diff_threshold = 0, .use_specialized = false};
}

absl::StatusOr<Expectation> Expect(const Features& features, const SearchOptions& options,
                                   const Setting& setting) {
  DNS_ASSIGN_OR_RETURN(std::vector<labels::FrameResult> results,
                       Simulate(features, options.diff, options.background, setting));
  std::vector<uint8_t> predicted(results.size());
  for (size_t i = 0; i < results.size(); ++i) predicted[i] = results[i].label ? 1 : 0;
  Expectation e;
  e.setting = setting;
  e.accuracy = MeasureAccuracy(features.truth, predicted, options.targets.window,
                               options.targets.window_min_positive);
  e.shares = CountShares(results);
  e.cost_ms_per_frame = CostMsPerFrame(options.costs, setting.use_specialized, e.shares.scored,
                                       e.shares.specialized + e.shares.reference,
                                       e.shares.reference, e.shares.frames);
  return e;
}

absl::StatusOr<SearchResult> SearchThresholds(const Features& features,
                                              const SearchOptions& options, Clock* clock) {
  DNS_RETURN_IF_ERROR(CheckOptions(features, options));
  const Clock::TimePoint start = clock->Now();
  Searcher searcher(features, options);
  for (int skip : options.skip_candidates) DNS_RETURN_IF_ERROR(searcher.SearchSkip(skip));
  SearchResult result;
  result.met_targets = searcher.best().has_value();
  const Setting setting = result.met_targets ? searcher.best()->setting : FallbackSetting();
  DNS_ASSIGN_OR_RETURN(result.chosen, Expect(features, options, setting));
  if (result.met_targets && !MeetsTargets(result.chosen.accuracy, options.targets)) {
    // The sweep and the simulation disagree: a bug. Never report unmet targets as met.
    spdlog::error("optimizer: the chosen setting misses the targets in simulation; falling back");
    result.met_targets = false;
    DNS_ASSIGN_OR_RETURN(result.chosen, Expect(features, options, FallbackSetting()));
  }
  result.settings_covered = searcher.covered();
  result.evaluations = searcher.evaluations();
  result.diff_thresholds_tried = searcher.diff_tried();
  result.confidence_thresholds_tried = static_cast<int64_t>(searcher.confidence_thresholds());
  result.seconds = SecondsBetween(start, clock->Now());
  return result;
}

}  // namespace dnoscope::optimizer
