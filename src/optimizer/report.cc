#include "optimizer/report.h"

#include <filesystem>
#include <fstream>

#include "absl/status/status.h"
#include "common/status_macros.h"
#include "fmt/format.h"
#include "fmt/ranges.h"
#include "nlohmann/json.hpp"

namespace dnoscope::optimizer {
namespace {

using nlohmann::ordered_json;
namespace fs = std::filesystem;

std::string Rebase(const std::string& path, const fs::path& out_dir) {
  if (path.empty() || fs::path(path).is_absolute()) return path;
  std::error_code error;
  const fs::path target = fs::weakly_canonical(fs::absolute(path), error);
  if (error) return path;
  const fs::path relative = target.lexically_relative(out_dir);
  return relative.empty() ? target.string() : relative.string();
}

std::string CostSource(bool given, int64_t samples) {
  if (given) return "given";
  return samples > 0 ? fmt::format("measured on {} frames", samples) : "not measured";
}

ordered_json Shares(const FrameShares& s, bool fractions) {
  auto v = [&](int64_t n) { return fractions ? ordered_json(s.Share(n)) : ordered_json(n); };
  return {{"diff_reused", v(s.diff_reused)},
          {"specialized", v(s.specialized)},
          {"reference", v(s.reference)},
          {"skipped", v(s.skipped)},
          {"corrupt", v(s.corrupt)}};
}

ordered_json Expected(const OptimizeResult& r) {
  const Expectation& e = r.search.chosen;
  return {{"fp_rate", e.accuracy.frames.fp_rate},
          {"fn_rate", e.accuracy.frames.fn_rate},
          {"window_fp_rate", e.accuracy.windows.fp_rate},
          {"window_fn_rate", e.accuracy.windows.fn_rate},
          {"shares", Shares(e.shares, true)},
          {"frames", Shares(e.shares, false)},
          {"cost_ms_per_frame", e.cost_ms_per_frame},
          {"reference_every_frame_ms_per_frame", r.costs.reference_ms},
          {"speedup_over_reference", r.speedup},
          {"speedup_with_decode", r.speedup_with_decode}};
}

ordered_json Costs(const OptimizeResult& r) {
  return {{"decode", r.costs.decode_ms},
          {"difference", r.costs.difference_ms},
          {"specialized", r.costs.specialized_ms},
          {"reference", r.costs.reference_ms}};
}

ordered_json CostSources(const OptimizeResult& r) {
  return {{"decode", CostSource(false, r.samples.decode)},
          {"difference", CostSource(r.given.difference, r.samples.difference)},
          {"specialized", CostSource(r.given.specialized, r.samples.specialized)},
          {"reference", CostSource(r.given.reference, r.samples.reference)}};
}

ordered_json Chosen(const OptimizeResult& r) {
  const Setting& s = r.search.chosen.setting;
  ordered_json j = {{"skip", s.skip},
                    {"diff_threshold", s.diff_threshold},
                    {"specialized", s.use_specialized},
                    {"specialized_model", r.specialized_model}};
  if (s.use_specialized) {
    j["c_low"] = s.c_low;
    j["c_high"] = s.c_high;
  }
  return j;
}

std::string TargetUnit(const Targets& t) { return t.per_window ? "window" : "frame"; }

std::string SettingLine(const OptimizeResult& r, const OptimizeOptions& o) {
  const Setting& s = r.search.chosen.setting;
  const detect::DiffOptions& d = o.base.diff;
  std::string line =
      fmt::format("skip {}, difference threshold {:.6g} ({} MSE at {}x{} against {}), ", s.skip,
                  s.diff_threshold, detect::DiffMetricName(d.metric), d.width, d.height,
                  detect::ReferenceModeString(d));
  if (s.use_specialized) {
    return line + fmt::format("specialized '{}' c_low {:.6g}, c_high {:.6g}", r.specialized_model,
                              s.c_low, s.c_high);
  }
  return line +
         (r.specialized_model.empty()
              ? std::string("no specialized model")
              : fmt::format("specialized '{}' left out (it did not pay off)", r.specialized_model));
}

std::string CostLine(const char* name, double ms, bool given, int64_t samples) {
  return fmt::format("{} {:.4g} ({})", name, ms, CostSource(given, samples));
}

// Shares, costs and search figures of the report.
std::string StageLines(const OptimizeResult& r, const OptimizeOptions& o) {
  const FrameShares& sh = r.search.chosen.shares;
  std::string out;
  out += fmt::format(
      "frames         diff reused {:.1f}%, specialized {:.1f}%, reference {:.1f}%, skipped "
      "{:.1f}%, corrupt {:.1f}%\n",
      100 * sh.Share(sh.diff_reused), 100 * sh.Share(sh.specialized), 100 * sh.Share(sh.reference),
      100 * sh.Share(sh.skipped), 100 * sh.Share(sh.corrupt));
  out += fmt::format(
      "cost           {:.4g} ms/frame vs {:.4g} ms/frame for the reference on every frame: "
      "speedup {:.1f}x ({:.1f}x with decoding at {:.3g} ms/frame overlapped)\n",
      r.search.chosen.cost_ms_per_frame, r.costs.reference_ms, r.speedup, r.speedup_with_decode,
      r.costs.decode_ms);
  out += fmt::format(
      "stage costs    ms/frame: {}, {}, {}\n",
      CostLine("difference", r.costs.difference_ms, r.given.difference, r.samples.difference),
      CostLine("specialized", r.costs.specialized_ms, r.given.specialized, r.samples.specialized),
      CostLine("reference", r.costs.reference_ms, r.given.reference, r.samples.reference));
  out += fmt::format(
      "search         {} difference thresholds x {} confidence thresholds, skips {}: {} settings "
      "in {:.3f} s\n",
      r.search.diff_thresholds_tried, r.search.confidence_thresholds_tried,
      fmt::join(o.skip_candidates, ","), r.search.settings_covered, r.search.seconds);
  return out;
}

}  // namespace

std::string FormatReport(const OptimizeResult& r, const OptimizeOptions& o) {
  const Expectation& e = r.search.chosen;
  const Targets& t = o.targets;
  std::string out = fmt::format(
      "fitting range  {}:{} ({} frames, {} positive), targets FP <= {:.4g}, FN <= {:.4g} per {}{}\n",
      r.first_frame, r.first_frame + r.frames, r.frames, r.positive_frames, t.max_fp_rate,
      t.max_fn_rate, TargetUnit(t),
      t.confidence > 0 ? fmt::format(" (upper bounds at {:.0f}% confidence)", 100 * t.confidence)
                       : "");
  out += fmt::format("{}  {}\n", r.search.met_targets ? "chosen        " : "FALLBACK      ",
                     SettingLine(r, o));
  out += fmt::format(
      "expected       FP rate {:.4f} ({} of {}), FN rate {:.4f} ({} of {}); per window FP {:.4f}, "
      "FN {:.4f}\n",
      e.accuracy.frames.fp_rate, e.accuracy.frames.fp, e.accuracy.frames.negatives,
      e.accuracy.frames.fn_rate, e.accuracy.frames.fn, e.accuracy.frames.positives,
      e.accuracy.windows.fp_rate, e.accuracy.windows.fn_rate);
  out += StageLines(r, o);
  for (const std::string& w : r.warnings) out += "WARNING: " + w + "\n";
  return out;
}

std::string OptimizerReportJson(const OptimizeResult& r, const OptimizeOptions& o) {
  const Targets& t = o.targets;
  const SearchResult& s = r.search;
  const ordered_json range = {{"start", r.first_frame},
                              {"end", r.first_frame + r.frames},
                              {"frames", r.frames},
                              {"positive_frames", r.positive_frames}};
  const ordered_json targets = {{"fp_rate", t.max_fp_rate},
                                {"fn_rate", t.max_fn_rate},
                                {"unit", TargetUnit(t)},
                                {"confidence", t.confidence},
                                {"window", t.window},
                                {"window_min_positive", t.window_min_positive}};
  ordered_json j = {{"video", o.video},
                    {"labels", o.labels_path},
                    {"fitting_range", range},
                    {"targets", targets},
                    {"met_targets", s.met_targets},
                    {"fallback", !s.met_targets},
                    {"chosen", Chosen(r)},
                    {"expected", Expected(r)},
                    {"stage_costs_ms", Costs(r)},
                    {"stage_cost_sources", CostSources(r)},
                    {"search",
                     {{"seconds", s.seconds},
                      {"skip_candidates", o.skip_candidates},
                      {"diff_thresholds", s.diff_thresholds_tried},
                      {"confidence_thresholds", s.confidence_thresholds_tried},
                      {"settings_covered", s.settings_covered},
                      {"evaluations", s.evaluations}}},
                    {"checks",
                     {{"reference_checked", r.reference_checked},
                      {"reference_agreed", r.reference_agreed},
                      {"confidence_batch_deviation", r.confidence_batch_deviation}}},
                    {"warnings", r.warnings}};
  return j.dump(2, ' ', false, ordered_json::error_handler_t::replace);
}

cascade::CascadeConfig RebasePaths(const cascade::CascadeConfig& config,
                                   const std::string& out_dir) {
  std::error_code error;
  const fs::path dir = fs::weakly_canonical(fs::absolute(out_dir.empty() ? "." : out_dir), error);
  cascade::CascadeConfig c = config;
  auto rebase = [&](std::string* path) { *path = Rebase(*path, dir); };
  rebase(&c.model_repository);
  rebase(&c.diff_background);
  for (models::ModelSpec* spec : {&c.specialized, &c.reference}) {
    if (cascade::LooksLikeModelFile(spec->model)) rebase(&spec->model);
    rebase(&spec->weights);
    rebase(&spec->names);
  }
  return c;
}

absl::StatusOr<std::string> OptimizedConfigJson(const OptimizeResult& result,
                                                const OptimizeOptions& options,
                                                const std::string& out_dir) {
  try {
    // CascadeConfigToJson throws on paths that are not UTF-8.
    ordered_json j =
        ordered_json::parse(cascade::CascadeConfigToJson(RebasePaths(result.config, out_dir)));
    j["optimizer"] = ordered_json::parse(OptimizerReportJson(result, options));
    return j.dump(2, ' ', false, ordered_json::error_handler_t::replace) + "\n";
  } catch (const nlohmann::json::exception& e) {
    return absl::InvalidArgumentError(fmt::format("cannot write the config as JSON: {}", e.what()));
  }
}

absl::Status WriteOptimizedConfig(const std::string& path, const OptimizeResult& result,
                                  const OptimizeOptions& options) {
  const fs::path dir = fs::path(path).parent_path();
  std::error_code error;
  if (!dir.empty()) fs::create_directories(dir, error);
  if (error) {
    return absl::PermissionDeniedError(
        fmt::format("cannot create directory '{}': {}", dir.string(), error.message()));
  }
  DNS_ASSIGN_OR_RETURN(const std::string text, OptimizedConfigJson(result, options, dir.string()));
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  out.close();
  if (!out) return absl::PermissionDeniedError(fmt::format("cannot write '{}'", path));
  return absl::OkStatus();
}

}  // namespace dnoscope::optimizer
