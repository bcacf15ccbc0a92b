#include "cascade/cascade_config.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <limits>
#include <fstream>
#include <set>
#include <sstream>

#include "absl/status/status.h"
#include "common/status_macros.h"
#include "fmt/format.h"
#include "nlohmann/json.hpp"
#include "opencv2/imgcodecs.hpp"

namespace dnoscope::cascade {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

// Typed access to one JSON object with errors that name the key path.
// True when an integer JSON value fits in T (no silent truncation).
template <typename T>
bool FitsIn(const json& v) {
  if (v.is_number_unsigned()) {
    return v.get<uint64_t>() <= static_cast<uint64_t>(std::numeric_limits<T>::max());
  }
  const int64_t x = v.get<int64_t>();
  if (x < 0) return x >= static_cast<int64_t>(std::numeric_limits<T>::min());
  return static_cast<uint64_t>(x) <= static_cast<uint64_t>(std::numeric_limits<T>::max());
}

class Fields {
 public:
  Fields(const json& object, std::string path, std::string_view source)
      : object_(object), path_(std::move(path)), source_(source) {}

  absl::Status CheckKeys(const std::set<std::string>& allowed) const {
    if (!object_.is_object()) return Error(path_.empty() ? "(top level)" : path_, "an object");
    for (const auto& [key, value] : object_.items()) {
      if (!allowed.count(key)) {
        return absl::InvalidArgumentError(fmt::format("{}: unknown key '{}'", source_, Key(key)));
      }
    }
    return absl::OkStatus();
  }
  bool Has(const std::string& key) const { return object_.contains(key); }
  const json& Raw(const std::string& key) const { return object_.at(key); }
  std::string Key(const std::string& key) const { return path_.empty() ? key : path_ + "." + key; }

  template <typename T>
  absl::Status Get(const std::string& key, T* out) const {
    if (!object_.contains(key)) return absl::OkStatus();
    const json& v = object_.at(key);
    if constexpr (std::is_same_v<T, bool>) {
      if (!v.is_boolean()) return Error(Key(key), "a boolean");
    } else if constexpr (std::is_same_v<T, std::string>) {
      if (!v.is_string()) return Error(Key(key), "a string");
    } else if constexpr (std::is_integral_v<T>) {
      if (!v.is_number_integer() || !FitsIn<T>(v)) {
        return Error(Key(key), fmt::format("an integer from {} to {}", std::numeric_limits<T>::min(),
                                           std::numeric_limits<T>::max()));
      }
    } else {
      if (!v.is_number()) return Error(Key(key), "a number");
    }
    *out = v.get<T>();
    return absl::OkStatus();
  }

  absl::Status Error(const std::string& key, std::string_view expected) const {
    return absl::InvalidArgumentError(fmt::format("{}: '{}' must be {}", source_, key, expected));
  }

 private:
  const json& object_;
  std::string path_;
  std::string_view source_;
};

std::string Resolve(const std::string& base_dir, const std::string& path) {
  if (path.empty() || base_dir.empty() || fs::path(path).is_absolute()) return path;
  return (fs::path(base_dir) / path).lexically_normal().string();
}

absl::Status ParseRoiField(const Fields& f, CascadeConfig* c) {
  if (!f.Has("roi")) return absl::OkStatus();
  const json& v = f.Raw("roi");
  if (v.is_null()) return absl::OkStatus();
  if (!v.is_array() || v.size() != 4 ||
      !std::all_of(v.begin(), v.end(),
                   [](const json& e) { return e.is_number_integer() && FitsIn<int>(e); })) {
    return f.Error("roi", "an array of four integers [x0, y0, x1, y1]");
  }
  DNS_ASSIGN_OR_RETURN(Roi roi,
                       ParseRoi(fmt::format("{},{},{},{}", v[0].get<int>(), v[1].get<int>(),
                                            v[2].get<int>(), v[3].get<int>())));
  c->roi = roi;
  return absl::OkStatus();
}

absl::Status ParseDifference(const json& j, std::string_view source, const std::string& base,
                             CascadeConfig* c) {
  Fields f(j, "difference", source);
  DNS_RETURN_IF_ERROR(f.CheckKeys({"enabled", "metric", "width", "height", "threshold", "reference",
                                   "grid", "reduce", "weights", "background"}));
  DNS_RETURN_IF_ERROR(f.Get("enabled", &c->diff_enabled));
  DNS_RETURN_IF_ERROR(f.Get("width", &c->diff.width));
  DNS_RETURN_IF_ERROR(f.Get("height", &c->diff.height));
  DNS_RETURN_IF_ERROR(f.Get("threshold", &c->diff.threshold));
  std::string text;
  if (f.Has("metric")) {
    DNS_RETURN_IF_ERROR(f.Get("metric", &text));
    DNS_ASSIGN_OR_RETURN(c->diff.metric, detect::ParseDiffMetric(text));
  }
  if (f.Has("reference")) {
    DNS_RETURN_IF_ERROR(f.Get("reference", &text));
    DNS_RETURN_IF_ERROR(detect::ParseReferenceMode(text, &c->diff));
  }
  if (f.Has("reduce")) {
    DNS_RETURN_IF_ERROR(f.Get("reduce", &text));
    DNS_ASSIGN_OR_RETURN(c->diff.reduce, detect::ParseBlockReduce(text));
  }
  if (f.Has("grid")) {
    const json& g = f.Raw("grid");
    if (!g.is_array() || g.size() != 2 ||
        !std::all_of(g.begin(), g.end(),
                     [](const json& e) { return e.is_number_integer() && FitsIn<int>(e); })) {
      return f.Error("difference.grid", "an array of two integers [rows, cols]");
    }
    c->diff.grid_rows = g[0].get<int>();
    c->diff.grid_cols = g[1].get<int>();
  }
  if (f.Has("weights")) {
    const json& w = f.Raw("weights");
    if (!w.is_array() ||
        !std::all_of(w.begin(), w.end(), [](const json& e) { return e.is_number(); })) {
      return f.Error("difference.weights", "an array of numbers");
    }
    c->diff.block_weights = w.get<std::vector<double>>();
  }
  DNS_RETURN_IF_ERROR(f.Get("background", &c->diff_background));
  c->diff_background = Resolve(base, c->diff_background);
  return absl::OkStatus();
}

absl::Status ParseModelSpec(const Fields& f, const std::string& base, models::ModelSpec* spec) {
  DNS_RETURN_IF_ERROR(f.Get("model", &spec->model));
  DNS_RETURN_IF_ERROR(f.Get("weights", &spec->weights));
  DNS_RETURN_IF_ERROR(f.Get("names", &spec->names));
  DNS_RETURN_IF_ERROR(f.Get("version", &spec->version));
  if (LooksLikeModelFile(spec->model)) spec->model = Resolve(base, spec->model);
  spec->weights = Resolve(base, spec->weights);
  spec->names = Resolve(base, spec->names);
  return absl::OkStatus();
}

absl::Status ParseSpecialized(const json& j, std::string_view source, const std::string& base,
                              CascadeConfig* c) {
  Fields f(j, "specialized", source);
  DNS_RETURN_IF_ERROR(
      f.CheckKeys({"model", "version", "c_low", "c_high", "width", "height", "weights", "names"}));
  DNS_RETURN_IF_ERROR(ParseModelSpec(f, base, &c->specialized));
  DNS_RETURN_IF_ERROR(f.Get("c_low", &c->c_low));
  DNS_RETURN_IF_ERROR(f.Get("c_high", &c->c_high));
  DNS_RETURN_IF_ERROR(f.Get("width", &c->specialized_width));
  DNS_RETURN_IF_ERROR(f.Get("height", &c->specialized_height));
  return absl::OkStatus();
}

absl::Status ParseReference(const json& j, std::string_view source, const std::string& base,
                            CascadeConfig* c) {
  Fields f(j, "reference", source);
  DNS_RETURN_IF_ERROR(f.CheckKeys({"model", "weights", "names", "version"}));
  return ParseModelSpec(f, base, &c->reference);
}

absl::Status ParseOperatingPoint(const json& j, std::string_view source, const std::string& path,
                                 OperatingPoint* p) {
  Fields f(j, path, source);
  DNS_RETURN_IF_ERROR(f.CheckKeys({"diff_threshold", "specialized", "c_low", "c_high",
                                   "expected_fp_rate", "expected_fn_rate",
                                   "cost_ms_per_frame"}));
  DNS_RETURN_IF_ERROR(f.Get("diff_threshold", &p->diff_threshold));
  DNS_RETURN_IF_ERROR(f.Get("specialized", &p->specialized));
  DNS_RETURN_IF_ERROR(f.Get("c_low", &p->c_low));
  DNS_RETURN_IF_ERROR(f.Get("c_high", &p->c_high));
  // Expectations are informative; null (NaN written by the optimizer) is allowed.
  for (auto [key, out] : {std::pair{"expected_fp_rate", &p->expected_fp_rate},
                          std::pair{"expected_fn_rate", &p->expected_fn_rate},
                          std::pair{"cost_ms_per_frame", &p->cost_ms_per_frame}}) {
    if (f.Has(key) && !f.Raw(key).is_null()) DNS_RETURN_IF_ERROR(f.Get(key, out));
  }
  return absl::OkStatus();
}

absl::Status ParseDrift(const json& j, std::string_view source, CascadeConfig* c) {
  Fields f(j, "drift", source);
  DNS_RETURN_IF_ERROR(f.CheckKeys({"fp_target", "fn_target", "frontier"}));
  for (auto [key, out] : {std::pair{"fp_target", &c->drift.fp_target},
                          std::pair{"fn_target", &c->drift.fn_target}}) {
    double v = 0;
    if (!f.Has(key)) continue;
    DNS_RETURN_IF_ERROR(f.Get(key, &v));
    *out = v;
  }
  if (!f.Has("frontier")) return absl::OkStatus();
  const json& list = f.Raw("frontier");
  if (!list.is_array()) return f.Error("drift.frontier", "an array of settings");
  for (size_t i = 0; i < list.size(); ++i) {
    OperatingPoint p;
    DNS_RETURN_IF_ERROR(
        ParseOperatingPoint(list[i], source, fmt::format("drift.frontier[{}]", i), &p));
    c->drift.frontier.push_back(p);
  }
  return absl::OkStatus();
}

absl::Status ParseTopLevel(const json& j, std::string_view source, const std::string& base,
                           CascadeConfig* c) {
  Fields f(j, "", source);
  DNS_RETURN_IF_ERROR(f.CheckKeys({"object", "min_confidence", "roi", "skip", "model_repository",
                                   "difference", "specialized", "reference", "drift",
                                   "optimizer"}));
  DNS_RETURN_IF_ERROR(f.Get("object", &c->object));
  DNS_RETURN_IF_ERROR(f.Get("min_confidence", &c->min_confidence));
  DNS_RETURN_IF_ERROR(f.Get("skip", &c->skip));
  DNS_RETURN_IF_ERROR(f.Get("model_repository", &c->model_repository));
  c->model_repository = Resolve(base, c->model_repository);
  DNS_RETURN_IF_ERROR(ParseRoiField(f, c));
  if (f.Has("difference")) DNS_RETURN_IF_ERROR(ParseDifference(j["difference"], source, base, c));
  if (f.Has("specialized"))
    DNS_RETURN_IF_ERROR(ParseSpecialized(j["specialized"], source, base, c));
  if (f.Has("reference")) DNS_RETURN_IF_ERROR(ParseReference(j["reference"], source, base, c));
  if (f.Has("drift")) DNS_RETURN_IF_ERROR(ParseDrift(j["drift"], source, c));
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<CascadeConfig> ParseCascadeConfig(std::string_view json_text,
                                                 std::string_view source_name,
                                                 const std::string& base_dir) {
  json j = json::parse(json_text.begin(), json_text.end(), nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) {
    return absl::InvalidArgumentError(fmt::format("{}: not valid JSON", source_name));
  }
  CascadeConfig config;
  DNS_RETURN_IF_ERROR(ParseTopLevel(j, source_name, base_dir, &config));
  DNS_RETURN_IF_ERROR(ValidateCascadeConfig(config));
  return config;
}

absl::StatusOr<CascadeConfig> ReadCascadeConfig(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(fmt::format("cascade config '{}' cannot be read", path));
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string base = fs::path(path).parent_path().string();
  return ParseCascadeConfig(ss.str(), path, base.empty() ? "." : base);
}

bool LooksLikeModelFile(const std::string& model) {
  const std::string ext = fs::path(model).extension().string();
  return model.find('/') != std::string::npos || ext == ".onnx" || ext == ".cfg";
}

absl::StatusOr<cv::Mat> LoadDiffBackground(const CascadeConfig& config) {
  if (!config.diff_enabled || config.diff.reference != detect::ReferenceMode::kBackground) {
    return cv::Mat();
  }
  cv::Mat image;
  try {
    image = cv::imread(config.diff_background, cv::IMREAD_COLOR);
  } catch (const cv::Exception& e) {
    return absl::InvalidArgumentError(
        fmt::format("background image '{}': {}", config.diff_background, e.what()));
  }
  if (image.empty()) {
    return absl::InvalidArgumentError(
        fmt::format("background image '{}' is missing or not an image", config.diff_background));
  }
  if (!config.roi) return image;
  DNS_RETURN_IF_ERROR(CheckRoiInFrame(*config.roi, image.cols, image.rows));
  const Roi& r = *config.roi;
  return image(cv::Rect(r.x0, r.y0, r.width(), r.height())).clone();
}

absl::Status ValidateCascadeConfig(const CascadeConfig& c) {
  auto bad = [](std::string what) { return absl::InvalidArgumentError(std::move(what)); };
  if (c.skip < 1) return bad(fmt::format("skip must be >= 1, got {}", c.skip));
  if (c.object.empty()) return bad("object must not be empty");
  if (c.diff.width < 1 || c.diff.height < 1) return bad("difference width/height must be >= 1");
  if (c.diff.threshold < 0) return bad("difference threshold must be >= 0");
  if (c.specialized_width < 1 || c.specialized_height < 1) {
    return bad("specialized width/height must be >= 1");
  }
  if (c.specialized_enabled() && !(c.c_low <= c.c_high)) {
    return bad(fmt::format("c_low ({}) must not exceed c_high ({})", c.c_low, c.c_high));
  }
  if (c.diff_enabled && c.diff.reference == detect::ReferenceMode::kBackground &&
      c.diff_background.empty()) {
    return bad(
        "difference reference 'background' needs a background image (difference.background)");
  }
  if (c.reference.model.empty()) return bad("a reference model is required");
  for (auto [name, target] : {std::pair{"fp_target", c.drift.fp_target},
                              std::pair{"fn_target", c.drift.fn_target}}) {
    if (target && !(*target >= 0 && *target <= 1)) {
      return bad(fmt::format("drift.{} must be in [0, 1], got {}", name, *target));
    }
  }
  for (size_t i = 0; i < c.drift.frontier.size(); ++i) {
    const OperatingPoint& p = c.drift.frontier[i];
    if (!(p.diff_threshold >= 0)) {
      return bad(fmt::format("drift.frontier[{}]: diff_threshold must be >= 0", i));
    }
    if (p.specialized && !c.specialized_enabled()) {
      return bad(fmt::format(
          "drift.frontier[{}] uses the specialized stage but the config names no specialized "
          "model",
          i));
    }
    if (p.specialized && !(p.c_low <= p.c_high)) {
      return bad(fmt::format("drift.frontier[{}]: c_low ({}) must not exceed c_high ({})", i,
                             p.c_low, p.c_high));
    }
  }
  return absl::OkStatus();
}

OperatingPoint OwnOperatingPoint(const CascadeConfig& c) {
  OperatingPoint p;
  p.diff_threshold = c.diff.threshold;
  p.specialized = c.specialized_enabled();
  p.c_low = c.c_low;
  p.c_high = c.c_high;
  return p;
}

std::vector<OperatingPoint> DriftFrontier(const CascadeConfig& c) {
  std::vector<OperatingPoint> frontier = {OwnOperatingPoint(c)};
  frontier.insert(frontier.end(), c.drift.frontier.begin(), c.drift.frontier.end());
  if (frontier.back().specialized) {
    OperatingPoint safest;
    safest.diff_threshold = frontier.back().diff_threshold;
    safest.specialized = false;
    frontier.push_back(safest);
  }
  return frontier;
}

std::string CascadeConfigToJson(const CascadeConfig& c) {
  json j;
  j["object"] = c.object;
  j["min_confidence"] = c.min_confidence;
  if (c.roi) j["roi"] = {c.roi->x0, c.roi->y0, c.roi->x1, c.roi->y1};
  j["skip"] = c.skip;
  if (!c.model_repository.empty()) j["model_repository"] = c.model_repository;
  json d = {{"enabled", c.diff_enabled},
            {"metric", std::string(detect::DiffMetricName(c.diff.metric))},
            {"width", c.diff.width},
            {"height", c.diff.height},
            {"threshold", c.diff.threshold},
            {"reference", detect::ReferenceModeString(c.diff)},
            {"grid", {c.diff.grid_rows, c.diff.grid_cols}},
            {"reduce", c.diff.reduce == detect::BlockReduce::kMax ? "max" : "sum"}};
  if (!c.diff.block_weights.empty()) d["weights"] = c.diff.block_weights;
  if (!c.diff_background.empty()) d["background"] = c.diff_background;
  j["difference"] = d;
  auto spec_json = [](const models::ModelSpec& s) {
    json m = {{"model", s.model}, {"version", s.version}};
    if (!s.weights.empty()) m["weights"] = s.weights;
    if (!s.names.empty()) m["names"] = s.names;
    return m;
  };
  if (c.specialized_enabled()) {
    json s = spec_json(c.specialized);
    s["c_low"] = c.c_low;
    s["c_high"] = c.c_high;
    s["width"] = c.specialized_width;
    s["height"] = c.specialized_height;
    j["specialized"] = s;
  }
  j["reference"] = spec_json(c.reference);
  const DriftConfig& dc = c.drift;
  if (dc.fp_target || dc.fn_target || !dc.frontier.empty()) {
    // NaN expectations become null (JSON has no NaN) and read back as unknown.
    auto number = [](double v) { return std::isfinite(v) ? json(v) : json(nullptr); };
    json drift = json::object();
    if (dc.fp_target) drift["fp_target"] = *dc.fp_target;
    if (dc.fn_target) drift["fn_target"] = *dc.fn_target;
    json frontier = json::array();
    for (const OperatingPoint& p : dc.frontier) {
      json step = {{"diff_threshold", p.diff_threshold}, {"specialized", p.specialized}};
      if (p.specialized) {
        step["c_low"] = p.c_low;
        step["c_high"] = p.c_high;
      }
      step["expected_fp_rate"] = number(p.expected_fp_rate);
      step["expected_fn_rate"] = number(p.expected_fn_rate);
      step["cost_ms_per_frame"] = number(p.cost_ms_per_frame);
      frontier.push_back(step);
    }
    drift["frontier"] = frontier;
    j["drift"] = drift;
  }
  return j.dump(2, ' ', false, json::error_handler_t::replace);
}

}  // namespace dnoscope::cascade
