#include "models/model_config.h"

#include <algorithm>
#include <limits>
#include <optional>
#include <set>

#include "absl/status/status.h"
#include "common/status_macros.h"
#include "common/tensor.h"
#include "fmt/format.h"
#include "fmt/ranges.h"
#include "nlohmann/json.hpp"

namespace dnoscope::models {
namespace {

using Json = nlohmann::json;

// Typed, key-checked access to one JSON object of config.json. Every Get*
// records its key as known so that Finish() can reject the rest; errors
// name the full dotted key and the expected type.
class ObjectReader {
 public:
  ObjectReader(const Json& object, std::string prefix, std::string source)
      : object_(object), prefix_(std::move(prefix)), source_(std::move(source)) {}

  absl::Status GetString(const std::string& key, std::string* out) {
    const Json* v = Lookup(key);
    if (v == nullptr) return absl::OkStatus();
    if (!v->is_string()) return TypeError(key, "a string", *v);
    *out = v->get<std::string>();
    return absl::OkStatus();
  }

  absl::Status GetBool(const std::string& key, bool* out) {
    const Json* v = Lookup(key);
    if (v == nullptr) return absl::OkStatus();
    if (!v->is_boolean()) return TypeError(key, "a boolean", *v);
    *out = v->get<bool>();
    return absl::OkStatus();
  }

  template <typename T>
  absl::Status GetNumber(const std::string& key, T* out, T min_value,
                         T max_value = std::numeric_limits<T>::max()) {
    const Json* v = Lookup(key);
    if (v == nullptr) return absl::OkStatus();
    constexpr bool kInteger = std::is_integral_v<T>;
    if (kInteger ? !v->is_number_integer() : !v->is_number()) {
      return TypeError(key, kInteger ? "an integer" : "a number", *v);
    }
    const double value = v->get<double>();
    if (value < static_cast<double>(min_value) || value > static_cast<double>(max_value)) {
      return Error(fmt::format("key '{}{}' must be in [{}, {}], got {}", prefix_, key, min_value,
                               max_value, v->dump()));
    }
    *out = kInteger ? static_cast<T>(v->get<int64_t>()) : static_cast<T>(value);
    return absl::OkStatus();
  }

  // A nested object; nullopt when absent.
  absl::StatusOr<std::optional<ObjectReader>> GetObject(const std::string& key) {
    const Json* v = Lookup(key);
    if (v == nullptr) return std::optional<ObjectReader>();
    if (!v->is_object()) return TypeError(key, "an object", *v);
    return std::optional<ObjectReader>(ObjectReader(*v, prefix_ + key + ".", source_));
  }

  // The raw value (for arrays and maps); nullptr when absent.
  const Json* GetRaw(const std::string& key) { return Lookup(key); }

  bool Has(const std::string& key) const { return object_.contains(key); }

  absl::Status Finish() const {
    for (const auto& [key, value] : object_.items()) {
      if (known_.count(key) == 0) {
        return Error(fmt::format("unknown key '{}{}' (allowed here: {})", prefix_, key,
                                 fmt::join(known_, ", ")));
      }
    }
    return absl::OkStatus();
  }

  absl::Status TypeError(const std::string& key, const char* expected, const Json& got) const {
    return Error(fmt::format("key '{}{}' must be {}, got {} {}", prefix_, key, expected,
                             got.type_name(), got.dump()));
  }

  absl::Status Error(const std::string& message) const {
    return absl::InvalidArgumentError(fmt::format("{}: {}", source_, message));
  }

  const std::string& prefix() const { return prefix_; }

 private:
  const Json* Lookup(const std::string& key) {
    known_.insert(key);
    auto it = object_.find(key);
    return it == object_.end() ? nullptr : &*it;
  }

  const Json& object_;
  std::string prefix_;
  std::string source_;
  std::set<std::string> known_;
};

constexpr int kMaxInt = std::numeric_limits<int>::max();

absl::Status ParseHeadFormat(ObjectReader& r, HeadFormat* format) {
  std::string name;
  DNS_RETURN_IF_ERROR(r.GetString("format", &name));
  if (name.empty()) return absl::OkStatus();
  if (name == "darknet")
    *format = HeadFormat::kDarknet;
  else if (name == "yolov5")
    *format = HeadFormat::kYoloV5;
  else if (name == "yolov8")
    *format = HeadFormat::kYoloV8;
  else {
    return r.Error(
        fmt::format("key '{}format' must be \"darknet\", \"yolov5\" or \"yolov8\", got "
                    "\"{}\"",
                    r.prefix(), name));
  }
  return absl::OkStatus();
}

absl::Status ParseClassThresholds(ObjectReader& r, std::map<std::string, float>* out) {
  const Json* v = r.GetRaw("class_thresholds");
  if (v == nullptr) return absl::OkStatus();
  if (!v->is_object()) return r.TypeError("class_thresholds", "an object of numbers", *v);
  for (const auto& [name, value] : v->items()) {
    if (!value.is_number() || value.get<double>() < 0 || value.get<double>() > 1) {
      return r.TypeError("class_thresholds." + name, "a number in [0, 1]", value);
    }
    (*out)[name] = value.get<float>();
  }
  return absl::OkStatus();
}

absl::Status ParseDetector(ObjectReader& r, ModelConfig* c) {
  DetectorHeadOptions& d = c->detector;
  DNS_RETURN_IF_ERROR(ParseHeadFormat(r, &d.format));
  DNS_RETURN_IF_ERROR(r.GetNumber("input_width", &d.input_width, 0, kMaxInt));
  DNS_RETURN_IF_ERROR(r.GetNumber("input_height", &d.input_height, 0, kMaxInt));
  DNS_RETURN_IF_ERROR(r.GetBool("letterbox", &d.letterbox));
  DNS_RETURN_IF_ERROR(r.GetNumber("confidence_threshold", &d.confidence_threshold, 0.0f, 1.0f));
  DNS_RETURN_IF_ERROR(r.GetNumber("nms_threshold", &d.nms_threshold, 0.0f, 1.0f));
  DNS_RETURN_IF_ERROR(ParseClassThresholds(r, &c->class_thresholds));
  DNS_RETURN_IF_ERROR(r.GetBool("class_agnostic_nms", &d.class_agnostic_nms));
  DNS_RETURN_IF_ERROR(r.GetBool("swap_rb", &d.swap_rb));
  DNS_RETURN_IF_ERROR(r.GetNumber("scale", &d.scale, 0.0));
  return r.Finish();
}

absl::Status ParseClassifier(ObjectReader& r, ModelConfig* c) {
  DNS_RETURN_IF_ERROR(r.GetNumber("input_width", &c->classifier_width, 0, kMaxInt));
  DNS_RETURN_IF_ERROR(r.GetNumber("input_height", &c->classifier_height, 0, kMaxInt));
  return r.Finish();
}

absl::Status ParseHog(ObjectReader& r, ModelConfig* c) {
  HogOptions& h = c->hog;
  DNS_RETURN_IF_ERROR(
      r.GetNumber("hit_threshold", &h.hit_threshold, std::numeric_limits<double>::lowest()));
  DNS_RETURN_IF_ERROR(r.GetNumber("win_stride", &h.win_stride, 1, 64));
  DNS_RETURN_IF_ERROR(r.GetNumber("padding", &h.padding, 0, 64));
  DNS_RETURN_IF_ERROR(r.GetNumber("scale", &h.scale, 1.001, 4.0));
  DNS_RETURN_IF_ERROR(r.GetNumber("max_width", &h.max_width, 0, kMaxInt));
  return r.Finish();
}

absl::Status ParseReplay(ObjectReader& r, ModelConfig* c) {
  DNS_RETURN_IF_ERROR(r.GetNumber("service_time_ms", &c->replay.service_time_ms, 0.0));
  DNS_RETURN_IF_ERROR(r.GetString("object_name", &c->replay.object_name));
  DNS_RETURN_IF_ERROR(r.GetNumber("frame_width", &c->replay.frame_width, 0, kMaxInt));
  DNS_RETURN_IF_ERROR(r.GetNumber("frame_height", &c->replay.frame_height, 0, kMaxInt));
  if ((c->replay.frame_width == 0) != (c->replay.frame_height == 0)) {
    return r.Error("replay.frame_width and replay.frame_height go together");
  }
  return r.Finish();
}

absl::Status ParseIdentity(ObjectReader& r, ModelConfig* c) {
  DNS_RETURN_IF_ERROR(r.GetString("datatype", &c->identity.datatype));
  if (!DataTypeFromName(c->identity.datatype).ok()) {
    return r.Error(fmt::format(
        "key 'identity.datatype' must be FP32, UINT8, INT32, INT64 or BYTES, got \"{}\"",
        c->identity.datatype));
  }
  return r.Finish();
}

absl::Status ParseFiles(ObjectReader& r, ModelConfig* c) {
  DNS_RETURN_IF_ERROR(r.GetString("model", &c->model_file));
  DNS_RETURN_IF_ERROR(r.GetString("weights", &c->weights_file));
  DNS_RETURN_IF_ERROR(r.GetString("names", &c->names_file));
  DNS_RETURN_IF_ERROR(r.GetString("labels", &c->labels_file));
  return r.Finish();
}

absl::Status ParseBatching(ObjectReader& r, ModelConfig* c) {
  DNS_RETURN_IF_ERROR(r.GetNumber("max_queue_delay_us", &c->max_queue_delay_us, int64_t{0}));
  const Json* sizes = r.GetRaw("preferred_batch_sizes");
  if (sizes != nullptr) {
    if (!sizes->is_array()) return r.TypeError("preferred_batch_sizes", "an array", *sizes);
    for (const Json& size : *sizes) {
      if (!size.is_number_integer() || size.get<int64_t>() < 1 || size.get<int64_t>() > kMaxInt) {
        return r.TypeError("preferred_batch_sizes[]", "a positive integer", size);
      }
      c->preferred_batch_sizes.push_back(size.get<int>());
    }
  }
  return r.Finish();
}

absl::Status ParseVersionPolicy(ObjectReader& r, ModelConfig* c) {
  VersionPolicy& policy = c->version_policy;
  int kinds = 0;
  DNS_ASSIGN_OR_RETURN(std::optional<ObjectReader> latest, r.GetObject("latest"));
  if (latest) {
    ++kinds;
    policy.kind = VersionPolicy::Kind::kLatest;
    if (!latest->Has("num_versions")) {
      return r.Error("key 'version_policy.latest' needs 'num_versions' (an integer >= 1)");
    }
    DNS_RETURN_IF_ERROR(latest->GetNumber("num_versions", &policy.num_versions, 1, kMaxInt));
    DNS_RETURN_IF_ERROR(latest->Finish());
  }
  DNS_ASSIGN_OR_RETURN(std::optional<ObjectReader> all, r.GetObject("all"));
  if (all) {
    ++kinds;
    policy.kind = VersionPolicy::Kind::kAll;
    DNS_RETURN_IF_ERROR(all->Finish());
  }
  DNS_ASSIGN_OR_RETURN(std::optional<ObjectReader> specific, r.GetObject("specific"));
  if (specific) {
    ++kinds;
    policy.kind = VersionPolicy::Kind::kSpecific;
    const Json* versions = specific->GetRaw("versions");
    if (versions == nullptr || !versions->is_array() || versions->empty()) {
      return r.Error(
          "key 'version_policy.specific' needs 'versions' (a non-empty array of integers >= 1)");
    }
    for (const Json& v : *versions) {
      if (!v.is_number_integer() || v.get<int64_t>() < 1) {
        return specific->TypeError("versions[]", "an integer >= 1", v);
      }
      policy.versions.push_back(v.get<int64_t>());
    }
    std::sort(policy.versions.begin(), policy.versions.end());
    policy.versions.erase(std::unique(policy.versions.begin(), policy.versions.end()),
                          policy.versions.end());
    DNS_RETURN_IF_ERROR(specific->Finish());
  }
  DNS_RETURN_IF_ERROR(r.Finish());
  if (kinds != 1) {
    return r.Error(
        "key 'version_policy' must hold exactly one of 'latest', 'all' or 'specific'");
  }
  return absl::OkStatus();
}

using SectionParser = absl::Status (*)(ObjectReader&, ModelConfig*);

// Parses section `key` when present. `allowed` false rejects its presence.
absl::Status ParseSection(ObjectReader& root, const std::string& key, SectionParser parser,
                          bool allowed, ModelConfig* c) {
  DNS_ASSIGN_OR_RETURN(std::optional<ObjectReader> section, root.GetObject(key));
  if (!section) return absl::OkStatus();
  if (!allowed) {
    return root.Error(fmt::format("key '{}' does not apply to backend \"{}\"", key, c->backend));
  }
  return parser(*section, c);
}

absl::Status ParseTopLevel(ObjectReader& r, ModelConfig* c) {
  DNS_RETURN_IF_ERROR(r.GetString("name", &c->name));
  if (!r.Has("backend")) return r.Error("missing required key 'backend' (a string)");
  DNS_RETURN_IF_ERROR(r.GetString("backend", &c->backend));
  if (c->backend != "opencv_dnn" && c->backend != "hog" && c->backend != "replay" &&
      c->backend != "identity") {
    return r.Error(fmt::format(
        "key 'backend' must be \"opencv_dnn\", \"hog\", \"replay\" or \"identity\", got \"{}\"",
        c->backend));
  }
  DNS_RETURN_IF_ERROR(r.GetString("kind", &c->kind));
  if (c->kind != "detector" && c->kind != "classifier") {
    return r.Error(
        fmt::format("key 'kind' must be \"detector\" or \"classifier\", got \"{}\"", c->kind));
  }
  if (c->kind == "classifier" && c->backend != "opencv_dnn" && c->backend != "replay") {
    return r.Error("kind \"classifier\" needs backend \"opencv_dnn\" or \"replay\"");
  }
  c->max_batch_size = c->kind == "classifier" ? 64 : 0;
  DNS_RETURN_IF_ERROR(r.GetNumber("max_batch_size", &c->max_batch_size, 0, kMaxInt));
  DNS_RETURN_IF_ERROR(r.GetNumber("instance_count", &c->instance_count, 1, 1024));
  return absl::OkStatus();
}

absl::Status ParseSections(ObjectReader& r, ModelConfig* c) {
  const bool dnn = c->backend == "opencv_dnn";
  DNS_RETURN_IF_ERROR(ParseSection(r, "files", ParseFiles, true, c));
  DNS_RETURN_IF_ERROR(ParseSection(r, "dynamic_batching", ParseBatching, true, c));
  DNS_RETURN_IF_ERROR(ParseSection(r, "version_policy", ParseVersionPolicy, true, c));
  DNS_RETURN_IF_ERROR(ParseSection(r, "detector", ParseDetector, dnn && c->kind == "detector", c));
  DNS_RETURN_IF_ERROR(
      ParseSection(r, "classifier", ParseClassifier, dnn && c->kind == "classifier", c));
  DNS_RETURN_IF_ERROR(ParseSection(r, "hog", ParseHog, c->backend == "hog", c));
  DNS_RETURN_IF_ERROR(ParseSection(r, "replay", ParseReplay, c->backend == "replay", c));
  DNS_RETURN_IF_ERROR(ParseSection(r, "identity", ParseIdentity, c->backend == "identity", c));
  DNS_RETURN_IF_ERROR(r.Finish());
  if (dnn && c->model_file.empty()) {
    return r.Error("backend \"opencv_dnn\" needs key 'files.model' (a .onnx or .cfg file)");
  }
  if (c->backend == "replay" && c->labels_file.empty()) {
    return r.Error("backend \"replay\" needs key 'files.labels' (a label CSV)");
  }
  return absl::OkStatus();
}

// A float as the double with the same shortest decimal form, so that 0.45f
// is written as 0.45 rather than 0.44999998807907104.
double ShortestDouble(float value) { return std::stod(fmt::format("{}", value)); }

nlohmann::ordered_json DetectorToJson(const ModelConfig& c) {
  const DetectorHeadOptions& d = c.detector;
  nlohmann::ordered_json j = {{"format", HeadFormatName(d.format)},
                              {"input_width", d.input_width},
                              {"input_height", d.input_height},
                              {"letterbox", d.letterbox},
                              {"confidence_threshold", ShortestDouble(d.confidence_threshold)},
                              {"nms_threshold", ShortestDouble(d.nms_threshold)}};
  if (!c.class_thresholds.empty()) {
    nlohmann::ordered_json thresholds = nlohmann::ordered_json::object();
    for (const auto& [name, value] : c.class_thresholds) thresholds[name] = ShortestDouble(value);
    j["class_thresholds"] = thresholds;
  }
  j["class_agnostic_nms"] = d.class_agnostic_nms;
  j["swap_rb"] = d.swap_rb;
  j["scale"] = d.scale;
  return j;
}

nlohmann::ordered_json VersionPolicyToJson(const VersionPolicy& p) {
  switch (p.kind) {
    case VersionPolicy::Kind::kAll:
      return {{"all", nlohmann::ordered_json::object()}};
    case VersionPolicy::Kind::kSpecific:
      return {{"specific", {{"versions", p.versions}}}};
    case VersionPolicy::Kind::kLatest:
      break;
  }
  return {{"latest", {{"num_versions", p.num_versions}}}};
}

nlohmann::ordered_json FilesToJson(const ModelConfig& c) {
  nlohmann::ordered_json files = nlohmann::ordered_json::object();
  if (!c.model_file.empty()) files["model"] = c.model_file;
  if (!c.weights_file.empty()) files["weights"] = c.weights_file;
  if (!c.names_file.empty()) files["names"] = c.names_file;
  if (!c.labels_file.empty()) files["labels"] = c.labels_file;
  return files;
}

}  // namespace

std::vector<int64_t> SelectVersions(const VersionPolicy& policy,
                                    const std::vector<int64_t>& available) {
  switch (policy.kind) {
    case VersionPolicy::Kind::kAll:
      return available;
    case VersionPolicy::Kind::kSpecific: {
      std::vector<int64_t> selected;
      for (int64_t v : available) {
        if (std::binary_search(policy.versions.begin(), policy.versions.end(), v)) {
          selected.push_back(v);
        }
      }
      return selected;
    }
    case VersionPolicy::Kind::kLatest:
      break;
  }
  const size_t keep = std::min(available.size(), static_cast<size_t>(policy.num_versions));
  return std::vector<int64_t>(available.end() - static_cast<std::ptrdiff_t>(keep), available.end());
}

absl::StatusOr<ModelConfig> ParseModelConfig(std::string_view json_text,
                                             std::string_view source_name,
                                             std::string_view default_name) {
  const std::string source(source_name);
  Json root;
  try {
    root = Json::parse(json_text.begin(), json_text.end());
  } catch (const Json::exception& e) {
    return absl::InvalidArgumentError(fmt::format("{}: invalid JSON: {}", source, e.what()));
  }
  if (!root.is_object()) {
    return absl::InvalidArgumentError(
        fmt::format("{}: config must be a JSON object, got {}", source, root.type_name()));
  }
  ModelConfig config;
  config.name = std::string(default_name);
  ObjectReader reader(root, "", source);
  DNS_RETURN_IF_ERROR(ParseTopLevel(reader, &config));
  DNS_RETURN_IF_ERROR(ParseSections(reader, &config));
  return config;
}

std::string ModelConfigToJson(const ModelConfig& c) {
  nlohmann::ordered_json j = {{"name", c.name}, {"backend", c.backend}, {"kind", c.kind}};
  nlohmann::ordered_json files = FilesToJson(c);
  if (!files.empty()) j["files"] = files;
  j["max_batch_size"] = c.max_batch_size;
  j["instance_count"] = c.instance_count;
  j["dynamic_batching"] = {{"max_queue_delay_us", c.max_queue_delay_us},
                           {"preferred_batch_sizes", c.preferred_batch_sizes}};
  j["version_policy"] = VersionPolicyToJson(c.version_policy);
  if (c.backend == "opencv_dnn" && c.kind == "detector") j["detector"] = DetectorToJson(c);
  if (c.backend == "opencv_dnn" && c.kind == "classifier") {
    j["classifier"] = {{"input_width", c.classifier_width}, {"input_height", c.classifier_height}};
  }
  if (c.backend == "hog") {
    j["hog"] = {{"hit_threshold", c.hog.hit_threshold},
                {"win_stride", c.hog.win_stride},
                {"padding", c.hog.padding},
                {"scale", c.hog.scale},
                {"max_width", c.hog.max_width}};
  }
  if (c.backend == "replay") {
    j["replay"] = {{"service_time_ms", c.replay.service_time_ms},
                   {"object_name", c.replay.object_name},
                   {"frame_width", c.replay.frame_width},
                   {"frame_height", c.replay.frame_height}};
  }
  if (c.backend == "identity") j["identity"] = {{"datatype", c.identity.datatype}};
  return j.dump(2) + "\n";
}

}  // namespace dnoscope::models
