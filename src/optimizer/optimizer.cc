#include "optimizer/optimizer.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <set>

#include "absl/status/status.h"
#include "common/status_macros.h"
#include "fmt/format.h"
#include "models/model_repository.h"
#include "spdlog/spdlog.h"

namespace dnoscope::optimizer {
namespace {

absl::Status CheckOptions(const OptimizeOptions& o) {
  auto bad = [](std::string what) { return absl::InvalidArgumentError(std::move(what)); };
  const Targets& t = o.targets;
  if (!(t.max_fp_rate >= 0 && t.max_fp_rate <= 1 && t.max_fn_rate >= 0 && t.max_fn_rate <= 1)) {
    return bad(fmt::format("target FP and FN rates must lie in [0, 1], got {} and {}",
                           t.max_fp_rate, t.max_fn_rate));
  }
  if (o.skip_candidates.empty() || std::any_of(o.skip_candidates.begin(), o.skip_candidates.end(),
                                               [](int s) { return s < 1; })) {
    return bad("skip candidates must be a non-empty list of integers >= 1");
  }
  for (const std::optional<double>& ms :
       {o.cost_difference_ms, o.cost_specialized_ms, o.cost_reference_ms}) {
    if (ms && !(*ms >= 0 && std::isfinite(*ms))) {
      return bad(fmt::format("stage costs must be >= 0 ms, got {}", *ms));
    }
  }
  if (o.range.end && *o.range.end <= o.range.start) {
    return bad(fmt::format("empty fitting range {}", o.range.ToString()));
  }
  return cascade::ValidateCascadeConfig(o.base);
}

// Measured costs, replaced by the given ones; errors when one is neither.
absl::StatusOr<StageCosts> ChooseCosts(const OptimizeOptions& o, const Features& f,
                                       OptimizeResult* result) {
  StageCosts c = f.measured;
  OptimizeResult::Given& given = result->given;
  auto pick = [](const std::optional<double>& option, double* cost, bool* was_given) {
    if (option) *cost = *option;
    *was_given = option.has_value();
  };
  pick(o.cost_difference_ms, &c.difference_ms, &given.difference);
  pick(o.cost_specialized_ms, &c.specialized_ms, &given.specialized);
  pick(o.cost_reference_ms, &c.reference_ms, &given.reference);
  if (!o.cost_reference_ms && f.samples.reference == 0) {
    return absl::InvalidArgumentError(
        "the reference cost was not measured (no reference model or no timing frames); give it");
  }
  if (f.has_confidence && !o.cost_specialized_ms && f.samples.specialized == 0) {
    return absl::InvalidArgumentError(
        "the specialized cost was not measured (no timing frames); give it");
  }
  return c;
}

// Extraction as the cascade will run: the specialized input size comes from
// the model; timing frames are spread over the range the source will yield.
FeatureOptions MakeFeatureOptions(const OptimizeOptions& options, const FeatureModels& models,
                                  const video::VideoInfo& info) {
  FeatureOptions fo{.config = options.base, .interpolation = options.interpolation};
  if (models.specialized && !models.specialized->metadata().inputs.empty()) {
    const auto& shape = models.specialized->metadata().inputs[0].shape;
    if (shape.size() == 4 && shape[1] > 0 && shape[2] > 0) {
      fo.config.specialized_height = static_cast<int>(shape[1]);
      fo.config.specialized_width = static_cast<int>(shape[2]);
    }
  }
  fo.specialized_batch_size = options.specialized_batch_size;
  fo.specialized_timing_frames = options.specialized_timing_frames;
  fo.reference_timing_frames = options.reference_timing_frames;
  fo.max_feature_bytes = options.max_feature_bytes;
  const int64_t end = std::min(options.range.end.value_or(INT64_MAX),
                               info.frame_count > 0 ? info.frame_count : INT64_MAX);
  fo.expected_frames = end == INT64_MAX ? 0 : std::max<int64_t>(0, end - options.range.start);
  return fo;
}

void AddWarnings(const OptimizeOptions& o, OptimizeResult* r) {
  if (!r->search.met_targets) {
    r->warnings.insert(
        r->warnings.begin(),
        fmt::format("no setting meets FP <= {} and FN <= {} ({}) on the fitting range; fell back "
                    "to the safe setting (difference threshold 0, every changed frame to the "
                    "reference), which reaches FP {:.4f} and FN {:.4f}",
                    o.targets.max_fp_rate, o.targets.max_fn_rate,
                    o.targets.per_window ? "per window" : "per frame",
                    r->search.chosen.accuracy.frames.fp_rate,
                    r->search.chosen.accuracy.frames.fn_rate));
  }
  if (r->reference_checked >= 4 && r->reference_agreed * 4 < r->reference_checked * 3) {
    r->warnings.push_back(fmt::format(
        "the reference model agreed with the label CSV on only {} of {} timing frames: were the "
        "labels made with this reference, object, --min-confidence and --roi?",
        r->reference_agreed, r->reference_checked));
  }
  if (o.range.end && r->first_frame + r->frames < *o.range.end) {
    r->warnings.push_back(fmt::format("the video ends at frame {}, before the range end {}",
                                      r->first_frame + r->frames, *o.range.end));
  }
}

void FillSpeedups(OptimizeResult* r) {
  const double cost = r->search.chosen.cost_ms_per_frame;
  const double ref = r->costs.reference_ms;
  const double decode = r->costs.decode_ms;
  r->speedup = cost > 0 ? ref / cost : 0;
  const double overlapped = std::max(decode, cost);
  r->speedup_with_decode = overlapped > 0 ? std::max(decode, ref) / overlapped : 0;
}

int64_t LastLabelledFrame(const std::vector<labels::Detection>& rows) {
  int64_t last = -1;
  for (const labels::Detection& d : rows) last = std::max(last, d.frame);
  return last;
}

// Labels must reach the range and name the object somewhere.
absl::Status CheckLabels(const std::vector<labels::Detection>& rows, const OptimizeOptions& o) {
  const int64_t last = LastLabelledFrame(rows);
  std::set<std::string> names;
  for (const labels::Detection& d : rows) names.insert(d.object_name);
  if (last < o.range.start) {
    return absl::InvalidArgumentError(fmt::format(
        "label CSV '{}' does not cover the fitting range {}: its last row is frame {}; label the "
        "range first (dnoscope label --frames ...)",
        o.labels_path, o.range.ToString(), last));
  }
  if (!names.count(o.base.object)) {
    std::string list;
    for (const std::string& n : names) list += (list.empty() ? "" : ", ") + n;
    return absl::InvalidArgumentError(
        fmt::format("label CSV '{}' never names object '{}' (it names: {})", o.labels_path,
                    o.base.object, list));
  }
  return absl::OkStatus();
}

// True when LoadModel looks `model` up in the repository (not "hog", not a file).
bool NeedsRepository(const std::string& model) {
  const std::string ext = std::filesystem::path(model).extension().string();
  return !model.empty() && model != "hog" && ext != ".onnx" && ext != ".cfg";
}

// The default repository ("models") may not exist when no model needs it:
// then the config must not name it either, or `dnoscope run` would fail.
cascade::CascadeConfig WithoutUnusedRepository(cascade::CascadeConfig c) {
  std::error_code error;
  if (!c.model_repository.empty() && !std::filesystem::is_directory(c.model_repository, error) &&
      !NeedsRepository(c.specialized.model) && !NeedsRepository(c.reference.model)) {
    c.model_repository.clear();
  }
  return c;
}

}  // namespace

cascade::CascadeConfig ApplySetting(const cascade::CascadeConfig& base, const Setting& setting) {
  cascade::CascadeConfig c = base;
  c.skip = setting.skip;
  c.diff_enabled = true;
  c.diff.threshold = setting.diff_threshold;
  if (setting.use_specialized) {
    c.c_low = setting.c_low;
    c.c_high = setting.c_high;
  } else {
    c.specialized.model.clear();
    c.c_low = 0;
    c.c_high = 1;
  }
  return c;
}

SearchOptions MakeSearchOptions(const OptimizeOptions& options, const StageCosts& costs) {
  SearchOptions s;
  s.targets = options.targets;
  s.diff = options.base.diff;
  s.costs = costs;
  s.skip_candidates = options.skip_candidates;
  s.diff_threshold_candidates = options.diff_threshold_candidates;
  s.confidence_thresholds = options.confidence_thresholds;
  return s;
}

absl::StatusOr<OptimizeResult> OptimizeWithModels(video::FrameSource& source,
                                                  const FeatureModels& models,
                                                  const labels::LabelIndex& truth,
                                                  const OptimizeOptions& options, Clock* clock,
                                                  const FrameProgress& on_frame) {
  DNS_RETURN_IF_ERROR(CheckOptions(options));
  if (options.base.specialized_enabled() != (models.specialized != nullptr)) {
    return absl::InvalidArgumentError(
        "the config names a specialized model exactly when one is given");
  }
  const FeatureOptions fo = MakeFeatureOptions(options, models, source.info());
  DNS_ASSIGN_OR_RETURN(cv::Mat background, cascade::LoadDiffBackground(options.base));
  DNS_ASSIGN_OR_RETURN(Features f, ExtractFeatures(source, models, truth, fo, clock, on_frame));
  OptimizeResult result;
  DNS_ASSIGN_OR_RETURN(result.costs, ChooseCosts(options, f, &result));
  SearchOptions so = MakeSearchOptions(options, result.costs);
  so.background = background;
  DNS_ASSIGN_OR_RETURN(result.search, SearchThresholds(f, so, clock));
  result.config = ApplySetting(fo.config, result.search.chosen.setting);
  result.specialized_model = options.base.specialized.model;
  result.samples = f.samples;
  result.first_frame = f.first_frame;
  result.frames = f.size();
  result.positive_frames = f.positives();
  result.reference_checked = f.reference_checked;
  result.reference_agreed = f.reference_agreed;
  result.confidence_batch_deviation = f.confidence_batch_deviation;
  FillSpeedups(&result);
  AddWarnings(options, &result);
  return result;
}

absl::StatusOr<OptimizeResult> Optimize(const OptimizeOptions& given, Clock* clock,
                                        const FrameProgress& on_frame) {
  OptimizeOptions options = given;
  options.base = WithoutUnusedRepository(given.base);
  DNS_RETURN_IF_ERROR(CheckOptions(options));
  DNS_ASSIGN_OR_RETURN(std::vector<labels::Detection> rows,
                       labels::ReadLabelCsv(options.labels_path));
  DNS_RETURN_IF_ERROR(CheckLabels(rows, options));
  const cascade::CascadeConfig& base = options.base;
  std::unique_ptr<models::Model> specialized;
  if (base.specialized_enabled()) {
    models::ModelSpec spec = base.specialized;
    spec.repository = base.model_repository;
    DNS_ASSIGN_OR_RETURN(specialized, models::LoadModel(spec));
  }
  models::ModelSpec reference_spec = base.reference;
  reference_spec.repository = base.model_repository;
  DNS_ASSIGN_OR_RETURN(std::unique_ptr<models::Model> reference, models::LoadModel(reference_spec));
  video::FrameSourceOptions source_options{.uri = options.video, .range = options.range};
  DNS_ASSIGN_OR_RETURN(auto source, video::OpenFrameSource(source_options));
  const int64_t frame_count = source->info().frame_count;
  const int64_t end = options.range.end.value_or(std::max<int64_t>(frame_count, 0));
  const int64_t last_labelled = LastLabelledFrame(rows);
  const labels::LabelIndex truth = labels::LabelIndex::Build(
      rows, {base.object, base.min_confidence, base.roi}, std::max(end, last_labelled + 1));
  DNS_ASSIGN_OR_RETURN(OptimizeResult result,
                       OptimizeWithModels(*source, {specialized.get(), reference.get()}, truth,
                                          options, clock, on_frame));
  const int64_t last_fitted = result.first_frame + result.frames - 1;
  const int64_t gap = last_fitted - last_labelled;
  if (gap > std::max<int64_t>(100, result.frames / 4)) {
    result.warnings.push_back(fmt::format(
        "the label CSV has no row after frame {}, {} frames before the range ends: if those "
        "frames were never labelled they count as 'absent'",
        last_labelled, gap));
  }
  return result;
}

}  // namespace dnoscope::optimizer
