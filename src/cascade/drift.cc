#include "cascade/drift.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "fmt/format.h"
#include "nlohmann/json.hpp"

namespace dnoscope::cascade {

absl::StatusOr<DriftMode> ParseDriftMode(std::string_view name) {
  for (DriftMode m : {DriftMode::kOff, DriftMode::kWarn, DriftMode::kTighten, DriftMode::kFallback}) {
    if (name == DriftModeName(m)) return m;
  }
  return absl::InvalidArgumentError(
      fmt::format("unknown drift response '{}' (off, warn, tighten, fallback)", name));
}

std::string_view DriftModeName(DriftMode mode) {
  switch (mode) {
    case DriftMode::kOff:
      return "off";
    case DriftMode::kWarn:
      return "warn";
    case DriftMode::kTighten:
      return "tighten";
    case DriftMode::kFallback:
      return "fallback";
  }
  return "off";
}

absl::Status ValidateDriftOptions(const DriftOptions& o) {
  if (!(o.fp_target >= 0 && o.fp_target <= 1) || !(o.fn_target >= 0 && o.fn_target <= 1) ||
      o.window_rows < 1 || o.min_audits < 1 || !(o.level > 0 && o.level < 1)) {
    return absl::InvalidArgumentError(fmt::format(
        "drift targets must be in [0, 1] (FP {}, FN {}), the window at least 1 row ({}), at "
        "least 1 audit judged ({}) and the level in (0, 1) ({})",
        o.fp_target, o.fn_target, o.window_rows, o.min_audits, o.level));
  }
  return absl::OkStatus();
}

DriftMonitor::DriftMonitor(DriftOptions options, std::vector<OperatingPoint> frontier, int64_t lag)
    : options_(options),
      frontier_(std::move(frontier)),
      lag_(std::max<int64_t>(1, lag)),
      judge_from_(std::numeric_limits<int64_t>::min()) {
  report_.mode = options_.mode;
  report_.fp_target = options_.fp_target;
  report_.fn_target = options_.fn_target;
  report_.frontier = frontier_;
}

bool DriftMonitor::ChangesSettings() const {
  return options_.mode == DriftMode::kTighten || options_.mode == DriftMode::kFallback;
}

int DriftMonitor::StepFor(int64_t frame) const {
  int step = 0;
  for (const auto& [from, s] : schedule_) {
    if (from > frame) break;
    step = s;
  }
  return step;
}

std::optional<DriftChange> DriftMonitor::OnRow(const labels::FrameResult& row,
                                               std::optional<bool> reference_label) {
  if (options_.mode == DriftMode::kOff || row.frame < judge_from_ || report_.fallen_back) {
    return std::nullopt;
  }
  window_.push_back({row, reference_label});
  estimator_.AddRow(row);
  if (reference_label) estimator_.AddAudit(row, *reference_label);
  while (static_cast<int64_t>(window_.size()) > options_.window_rows) {
    const WindowRow& old = window_.front();
    estimator_.RemoveRow(old.row);
    if (old.reference_label) estimator_.RemoveAudit(old.row, *old.reference_label);
    window_.pop_front();
  }
  if (!reference_label) return std::nullopt;
  return Judge(row.frame);
}

std::optional<DriftChange> DriftMonitor::Judge(int64_t frame) {
  if (estimator_.audited() < options_.min_audits) return std::nullopt;
  const AuditEstimate e = estimator_.Estimate(options_.level);
  const bool above =
      e.fp_interval.low > options_.fp_target || e.fn_interval.low > options_.fn_target;
  const bool under =
      e.fp_interval.high <= options_.fp_target && e.fn_interval.high <= options_.fn_target;
  const int step = schedule_.empty() ? 0 : schedule_.back().second;
  const int safest = static_cast<int>(frontier_.size()) - 1;
  DriftChange c;
  c.decided_at = frame;
  c.effective_from = frame + lag_;
  c.from_step = step;
  c.to_step = step;
  c.audited = e.audited;
  c.fp_interval = e.fp_interval;
  c.fn_interval = e.fn_interval;
  if (above) {
    ++report_.detections;
    if (options_.mode == DriftMode::kTighten && step < safest) {
      c.to_step = step + 1;
      c.action = "tighten";
      ++report_.tightenings;
    } else if (options_.mode == DriftMode::kFallback) {
      c.to_step = safest;
      c.action = "fallback";
      report_.fallen_back = true;
    } else {
      // warn, or tighten with nothing safer left: count, and judge afresh.
      c.action = "warn";
      c.effective_from = frame + 1;
    }
  } else if (under && options_.mode == DriftMode::kTighten && step > 0) {
    c.to_step = step - 1;
    c.action = "relax";
    ++report_.relaxations;
  } else {
    return std::nullopt;
  }
  if (c.to_step != c.from_step) schedule_.emplace_back(c.effective_from, c.to_step);
  Restart(c.effective_from);
  report_.changes.push_back(c);
  if (report_.changes.size() > kMaxReportedChanges) report_.changes.erase(report_.changes.begin());
  return c;
}

void DriftMonitor::Restart(int64_t from_frame) {
  window_.clear();
  estimator_ = AuditEstimator();
  judge_from_ = from_frame;
}

DriftReport DriftMonitor::Report() const {
  DriftReport r = report_;
  r.step = schedule_.empty() ? 0 : schedule_.back().second;
  r.window_rows = static_cast<int64_t>(window_.size());
  r.window_audits = estimator_.audited();
  return r;
}

std::string DriftToJson(const DriftReport& r) {
  using nlohmann::json;
  auto interval = [](const Interval& i) { return json::array({i.low, i.high}); };
  json frontier = json::array();
  for (const OperatingPoint& p : r.frontier) {
    json step = {{"diff_threshold", p.diff_threshold}, {"specialized", p.specialized}};
    if (p.specialized) {
      step["c_low"] = p.c_low;
      step["c_high"] = p.c_high;
    }
    frontier.push_back(step);
  }
  json changes = json::array();
  for (const DriftChange& c : r.changes) {
    changes.push_back({{"decided_at", c.decided_at},
                       {"effective_from", c.effective_from},
                       {"from_step", c.from_step},
                       {"to_step", c.to_step},
                       {"action", c.action},
                       {"audited", c.audited},
                       {"fp_interval", interval(c.fp_interval)},
                       {"fn_interval", interval(c.fn_interval)}});
  }
  json j = {{"mode", std::string(DriftModeName(r.mode))},
            {"fp_target", r.fp_target},
            {"fn_target", r.fn_target},
            {"step", r.step},
            {"steps", r.frontier.size()},
            {"detections", r.detections},
            {"tightenings", r.tightenings},
            {"relaxations", r.relaxations},
            {"fallen_back", r.fallen_back},
            {"window_rows", r.window_rows},
            {"window_audits", r.window_audits},
            {"frontier", frontier},
            {"changes", changes}};
  return j.dump(2);
}

std::string DriftProgressText(const DriftReport& r) {
  return fmt::format("drift {} step {}/{} ({} detected)", DriftModeName(r.mode), r.step,
                     r.frontier.size() - 1, r.detections);
}

std::string DriftChangeText(const DriftChange& c, const DriftReport& r) {
  const std::string evidence = fmt::format(
      "window of {} audits: FP [{:.1f}%, {:.1f}%] vs target {:.1f}%, FN [{:.1f}%, {:.1f}%] vs "
      "target {:.1f}%",
      c.audited, 100 * c.fp_interval.low, 100 * c.fp_interval.high, 100 * r.fp_target,
      100 * c.fn_interval.low, 100 * c.fn_interval.high, 100 * r.fn_target);
  if (c.from_step == c.to_step) {
    return fmt::format("drift detected at frame {} ({}); setting kept at step {}: {}",
                       c.decided_at, c.action, c.to_step, evidence);
  }
  return fmt::format("drift response '{}' at frame {}: step {} -> {} from frame {}: {}", c.action,
                     c.decided_at, c.from_step, c.to_step, c.effective_from, evidence);
}

}  // namespace dnoscope::cascade
