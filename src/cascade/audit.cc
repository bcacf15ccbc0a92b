#include "cascade/audit.h"

#include <algorithm>
#include <cmath>

#include "fmt/format.h"
#include "nlohmann/json.hpp"

namespace dnoscope::cascade {
namespace {

// SplitMix64's finaliser: a bijective mix, enough to decorrelate frames.
uint64_t Mix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

struct Counts {
  double tp = 0, fp = 0, tn = 0, fn = 0;
};

double Ratio(double num, double den) { return den > 0 ? num / den : 0; }

}  // namespace

absl::Status ValidateAuditOptions(const AuditOptions& o) {
  if (!(o.rate >= 0 && o.rate <= 1) || !(o.level > 0 && o.level < 1) || o.max_pending < 1) {
    return absl::InvalidArgumentError(fmt::format(
        "audit rate must be in [0, 1] (got {}), its level in (0, 1) (got {}) and at least one "
        "audited frame may be pending (got {})",
        o.rate, o.level, o.max_pending));
  }
  return absl::OkStatus();
}

bool AuditDraw(uint64_t seed, int64_t frame, double rate) {
  if (rate <= 0) return false;
  const uint64_t bits = Mix(Mix(seed) ^ static_cast<uint64_t>(frame));
  // 53 random bits -> [0, 1).
  const double u = static_cast<double>(bits >> 11) * 0x1.0p-53;
  return u < rate;
}

Interval WilsonInterval(int64_t successes, int64_t trials, double z) {
  if (trials <= 0) return {0, 1};
  const double n = static_cast<double>(trials);
  const double p = static_cast<double>(successes) / n;
  const double z2 = z * z;
  const double denom = 1 + z2 / n;
  const double centre = (p + z2 / (2 * n)) / denom;
  const double half = z / denom * std::sqrt(p * (1 - p) / n + z2 / (4 * n * n));
  return {std::max(0.0, centre - half), std::min(1.0, centre + half)};
}

double NormalQuantileTwoSided(double level) {
  // P(|Z| > z) = erfc(z / sqrt 2) = 1 - level, solved by bisection: erfc is
  // monotone and 60 halvings of [0, 40] reach double precision.
  const double alpha = 1 - level;
  if (alpha <= 0) return 40;
  if (alpha >= 1) return 0;
  double lo = 0, hi = 40;
  for (int i = 0; i < 60; ++i) {
    const double mid = (lo + hi) / 2;
    (std::erfc(mid / std::sqrt(2.0)) > alpha ? lo : hi) = mid;
  }
  return (lo + hi) / 2;
}

int AuditStratumOf(const labels::FrameResult& row) {
  int stage;
  switch (row.status) {
    case labels::FrameStatus::kDiffReused:
      stage = static_cast<int>(AuditStage::kDiffReused);
      break;
    case labels::FrameStatus::kSpecialized:
      stage = static_cast<int>(AuditStage::kSpecialized);
      break;
    default:
      return -1;
  }
  return stage * 2 + (row.label ? 1 : 0);
}

void AuditEstimator::AddRow(const labels::FrameResult& row) { CountRow(row, 1); }
void AuditEstimator::RemoveRow(const labels::FrameResult& row) { CountRow(row, -1); }
void AuditEstimator::AddAudit(const labels::FrameResult& row, bool reference_label) {
  CountAudit(row, reference_label, 1);
}
void AuditEstimator::RemoveAudit(const labels::FrameResult& row, bool reference_label) {
  CountAudit(row, reference_label, -1);
}

void AuditEstimator::CountRow(const labels::FrameResult& row, int delta) {
  frames_ += delta;
  const int s = AuditStratumOf(row);
  if (s >= 0) {
    strata_[s].frames += delta;
  } else {
    (row.label ? other_positive_ : other_negative_) += delta;
  }
}

void AuditEstimator::CountAudit(const labels::FrameResult& row, bool reference_label, int delta) {
  const int s = AuditStratumOf(row);
  if (s < 0) return;
  strata_[s].audited += delta;
  if (reference_label != row.label) strata_[s].wrong += delta;
}

int64_t AuditEstimator::audited() const {
  int64_t n = 0;
  for (const Stratum& s : strata_) n += s.audited;
  return n;
}

AuditEstimate AuditEstimator::Estimate(double level) const {
  AuditEstimate e;
  e.level = level;
  e.frames = frames_;
  e.reference_frames = other_positive_ + other_negative_;
  int nonempty = 0;
  for (const Stratum& s : strata_) nonempty += s.frames > 0 ? 1 : 0;
  const double z = NormalQuantileTwoSided(1 - (1 - level) / std::max(1, nonempty));

  // The rates for given error shares of the strata.
  auto rates = [&](const std::array<double, kNumAuditStrata>& share) {
    Counts c;
    c.tp = static_cast<double>(other_positive_);
    c.tn = static_cast<double>(other_negative_);
    for (int i = 0; i < kNumAuditStrata; ++i) {
      const double n = static_cast<double>(strata_[i].frames);
      const bool present = i % 2 == 1;
      (present ? c.fp : c.fn) += n * share[i];
      (present ? c.tp : c.tn) += n * (1 - share[i]);
    }
    return std::pair(Ratio(c.fp, c.fp + c.tn), Ratio(c.fn, c.fn + c.tp));
  };
  std::array<double, kNumAuditStrata> point{}, low{}, high{};
  for (int i = 0; i < kNumAuditStrata; ++i) {
    const Stratum& s = strata_[i];
    StratumEstimate& out = e.strata[i];
    out.stage = i / 2 == static_cast<int>(AuditStage::kDiffReused) ? "diff_reused" : "specialized";
    out.label = i % 2 == 1;
    out.frames = s.frames;
    out.audited = s.audited;
    out.wrong = s.wrong;
    out.error_share = s.audited > 0 ? static_cast<double>(s.wrong) / s.audited : 0;
    out.interval = WilsonInterval(s.wrong, s.audited, z);
    e.audited += s.audited;
    point[i] = out.error_share;
    low[i] = out.interval.low;
    high[i] = out.interval.high;
  }
  std::tie(e.fp_rate, e.fn_rate) = rates(point);
  std::tie(e.fp_interval.low, e.fn_interval.low) = rates(low);
  std::tie(e.fp_interval.high, e.fn_interval.high) = rates(high);
  return e;
}

std::string AuditToJson(const AuditEstimate& e) {
  auto interval = [](const Interval& i) { return nlohmann::json::array({i.low, i.high}); };
  nlohmann::json strata = nlohmann::json::array();
  for (const StratumEstimate& s : e.strata) {
    strata.push_back({{"stage", s.stage},
                      {"label", s.label ? 1 : 0},
                      {"frames", s.frames},
                      {"audited", s.audited},
                      {"wrong", s.wrong},
                      {"error_share", s.error_share},
                      {"interval", interval(s.interval)}});
  }
  nlohmann::json j = {{"level", e.level},
                      {"method", "stratified by deciding stage and label; Wilson per stratum, "
                                 "Bonferroni over strata"},
                      {"frames", e.frames},
                      {"audited", e.audited},
                      {"reference_frames", e.reference_frames},
                      {"fp_rate", e.fp_rate},
                      {"fp_interval", interval(e.fp_interval)},
                      {"fn_rate", e.fn_rate},
                      {"fn_interval", interval(e.fn_interval)},
                      {"strata", strata}};
  return j.dump(2);
}

std::string AuditProgressText(const AuditEstimate& e) {
  return fmt::format("audit {}: FP {:.1f}% [{:.1f}, {:.1f}] FN {:.1f}% [{:.1f}, {:.1f}]", e.audited,
                     100 * e.fp_rate, 100 * e.fp_interval.low, 100 * e.fp_interval.high,
                     100 * e.fn_rate, 100 * e.fn_interval.low, 100 * e.fn_interval.high);
}

}  // namespace dnoscope::cascade
