// The audit's sampling and estimators against exact figures.
#include "cascade/audit.h"

#include <cmath>
#include <random>

#include "gtest/gtest.h"

namespace dnoscope::cascade {
namespace {

using labels::FrameResult;
using labels::FrameStatus;

FrameResult Row(int64_t frame, FrameStatus status, bool label) {
  FrameResult r;
  r.frame = frame;
  r.status = status;
  r.label = label;
  return r;
}

TEST(AuditTest, NormalQuantilesMatchTheTables) {
  EXPECT_NEAR(NormalQuantileTwoSided(0.95), 1.959964, 1e-5);
  EXPECT_NEAR(NormalQuantileTwoSided(0.99), 2.575829, 1e-5);
  EXPECT_NEAR(NormalQuantileTwoSided(0.975), 2.241403, 1e-5);  // 0.95 over 2 strata
  EXPECT_NEAR(NormalQuantileTwoSided(0.6827), 1.0, 1e-3);
}

TEST(AuditTest, WilsonIntervalMatchesPublishedValues) {
  // Wilson (1927) score interval, z = 1.96: 0/10 -> [0, 0.2775],
  // 5/10 -> [0.2366, 0.7634], 1/50 -> [0.0035, 0.1050].
  const double z = 1.959964;
  Interval a = WilsonInterval(0, 10, z);
  EXPECT_NEAR(a.low, 0.0, 1e-4);
  EXPECT_NEAR(a.high, 0.2775, 1e-4);
  Interval b = WilsonInterval(5, 10, z);
  EXPECT_NEAR(b.low, 0.2366, 1e-4);
  EXPECT_NEAR(b.high, 0.7634, 1e-4);
  Interval c = WilsonInterval(1, 50, z);
  EXPECT_NEAR(c.low, 0.0035, 1e-4);
  EXPECT_NEAR(c.high, 0.1050, 1e-4);
  Interval none = WilsonInterval(0, 0, z);
  EXPECT_EQ(none.low, 0);
  EXPECT_EQ(none.high, 1);
}

TEST(AuditTest, DrawIsAFunctionOfSeedAndFrameAtTheAskedRate) {
  int64_t hits = 0, same = 0, other_seed = 0;
  for (int64_t f = 0; f < 100000; ++f) {
    const bool a = AuditDraw(7, f, 0.02);
    hits += a;
    same += a == AuditDraw(7, f, 0.02);
    other_seed += a && AuditDraw(8, f, 0.02);
  }
  EXPECT_EQ(same, 100000);
  // Binomial(100000, 0.02): mean 2000, sd 44; 5 sd either way.
  EXPECT_GT(hits, 1780);
  EXPECT_LT(hits, 2220);
  // Independent seeds overlap like independent draws (~40), not like copies.
  EXPECT_LT(other_seed, 120);
  EXPECT_FALSE(AuditDraw(7, 3, 0.0));
  EXPECT_TRUE(AuditDraw(7, 3, 1.0));
}

TEST(AuditTest, OnlyCheaplyDecidedRowsHaveAStratum) {
  EXPECT_EQ(AuditStratumOf(Row(0, FrameStatus::kDiffReused, false)), 0);
  EXPECT_EQ(AuditStratumOf(Row(0, FrameStatus::kDiffReused, true)), 1);
  EXPECT_EQ(AuditStratumOf(Row(0, FrameStatus::kSpecialized, false)), 2);
  EXPECT_EQ(AuditStratumOf(Row(0, FrameStatus::kSpecialized, true)), 3);
  EXPECT_EQ(AuditStratumOf(Row(0, FrameStatus::kReference, true)), -1);
  EXPECT_EQ(AuditStratumOf(Row(0, FrameStatus::kSkipped, true)), -1);
}

TEST(AuditTest, EstimatesFollowTheStratifiedFormula) {
  AuditEstimator est;
  // 100 reference frames: 30 present, 70 absent (right by definition).
  for (int i = 0; i < 100; ++i) est.AddRow(Row(i, FrameStatus::kReference, i < 30));
  // 400 specialized "present" rows, 40 audited, 4 of them truly absent.
  for (int i = 0; i < 400; ++i) {
    const FrameResult r = Row(1000 + i, FrameStatus::kSpecialized, true);
    est.AddRow(r);
    if (i < 40) est.AddAudit(r, /*reference_label=*/i >= 4);
  }
  // 500 reused "absent" rows, 50 audited, 5 of them truly present.
  for (int i = 0; i < 500; ++i) {
    const FrameResult r = Row(2000 + i, FrameStatus::kDiffReused, false);
    est.AddRow(r);
    if (i < 50) est.AddAudit(r, /*reference_label=*/i < 5);
  }
  const AuditEstimate e = est.Estimate(0.95);
  EXPECT_EQ(e.frames, 1000);
  EXPECT_EQ(e.audited, 90);
  EXPECT_EQ(e.reference_frames, 100);
  // q = 0.1 (present stratum), r = 0.1 (absent stratum):
  // FP = 40, TP = 30 + 360; FN = 50, TN = 70 + 450.
  EXPECT_NEAR(e.fp_rate, 40.0 / (40 + 520), 1e-12);
  EXPECT_NEAR(e.fn_rate, 50.0 / (50 + 390), 1e-12);
  // The bounds are the rates at the strata's Wilson bounds, z for 0.95
  // over 2 strata.
  const double z = NormalQuantileTwoSided(0.975);
  const Interval q = WilsonInterval(4, 40, z);
  const Interval r = WilsonInterval(5, 50, z);
  auto fp_rate = [](double q, double r) { return 400 * q / (400 * q + 70 + 500 * (1 - r)); };
  auto fn_rate = [](double q, double r) { return 500 * r / (500 * r + 30 + 400 * (1 - q)); };
  EXPECT_NEAR(e.fp_interval.low, fp_rate(q.low, r.low), 1e-12);
  EXPECT_NEAR(e.fp_interval.high, fp_rate(q.high, r.high), 1e-12);
  EXPECT_NEAR(e.fn_interval.low, fn_rate(q.low, r.low), 1e-12);
  EXPECT_NEAR(e.fn_interval.high, fn_rate(q.high, r.high), 1e-12);
  EXPECT_LT(e.fp_interval.low, e.fp_rate);
  EXPECT_GT(e.fp_interval.high, e.fp_rate);
  // Per stratum.
  const StratumEstimate& spec_present = e.strata[AuditStratumOf(Row(0, FrameStatus::kSpecialized, true))];
  EXPECT_EQ(spec_present.stage, "specialized");
  EXPECT_EQ(spec_present.frames, 400);
  EXPECT_EQ(spec_present.audited, 40);
  EXPECT_EQ(spec_present.wrong, 4);
  EXPECT_NEAR(spec_present.error_share, 0.1, 1e-12);
}

TEST(AuditTest, UnauditedStratumWidensTheIntervalToEverything) {
  AuditEstimator est;
  for (int i = 0; i < 10; ++i) est.AddRow(Row(i, FrameStatus::kReference, false));
  for (int i = 0; i < 90; ++i) est.AddRow(Row(100 + i, FrameStatus::kDiffReused, false));
  const AuditEstimate e = est.Estimate(0.95);
  EXPECT_EQ(e.audited, 0);
  EXPECT_EQ(e.fn_rate, 0);  // no evidence of errors yet
  // Every reused frame may be a missed object: FN rate up to 100%.
  EXPECT_NEAR(e.fn_interval.high, 1.0, 1e-12);
  EXPECT_EQ(e.fp_interval.high, 0);  // nothing labelled present, no FP possible
}

// The interval's promise, checked by simulation: with the true error
// shares known, the 95% interval holds the true FN rate in at least 95% of
// repeated audits (Bonferroni makes it conservative).
TEST(AuditTest, IntervalsCoverTheTrueRateInRepeatedAudits) {
  std::mt19937_64 rng(12345);
  const double q_true = 0.04, r_true = 0.08;
  const int n_present = 600, n_absent = 900, n_reference = 200;
  int covered_fp = 0, covered_fn = 0;
  const int kRepeats = 400;
  for (int rep = 0; rep < kRepeats; ++rep) {
    AuditEstimator est;
    std::bernoulli_distribution audit(0.05), wrong_present(q_true), wrong_absent(r_true);
    int fp = 0, fn = 0, tp = 0, tn = 0;
    for (int i = 0; i < n_reference; ++i) {
      const bool present = i % 4 == 0;
      est.AddRow(Row(i, FrameStatus::kReference, present));
      ++(present ? tp : tn);
    }
    for (int i = 0; i < n_present + n_absent; ++i) {
      const bool label = i < n_present;
      const bool wrong = label ? wrong_present(rng) : wrong_absent(rng);
      const FrameResult r = Row(1000 + i, FrameStatus::kSpecialized, label);
      est.AddRow(r);
      if (label) ++(wrong ? fp : tp);
      if (!label) ++(wrong ? fn : tn);
      if (audit(rng)) est.AddAudit(r, wrong ? !label : label);
    }
    const AuditEstimate e = est.Estimate(0.95);
    const double true_fp = static_cast<double>(fp) / (fp + tn);
    const double true_fn = static_cast<double>(fn) / (fn + tp);
    covered_fp += e.fp_interval.low <= true_fp && true_fp <= e.fp_interval.high;
    covered_fn += e.fn_interval.low <= true_fn && true_fn <= e.fn_interval.high;
  }
  EXPECT_GE(covered_fp, kRepeats * 95 / 100);
  EXPECT_GE(covered_fn, kRepeats * 95 / 100);
}

TEST(AuditTest, OptionsOutsideTheirRangesAreRejected) {
  EXPECT_TRUE(ValidateAuditOptions({}).ok());
  EXPECT_FALSE(ValidateAuditOptions({.rate = 1.5}).ok());
  EXPECT_FALSE(ValidateAuditOptions({.rate = -0.1}).ok());
  EXPECT_FALSE(ValidateAuditOptions({.rate = 0.1, .level = 1.0}).ok());
  EXPECT_FALSE(ValidateAuditOptions({.rate = 0.1, .max_pending = 0}).ok());
}

}  // namespace
}  // namespace dnoscope::cascade
