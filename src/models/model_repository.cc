#include "models/model_repository.h"

#include <charconv>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/status/status.h"
#include "common/status_macros.h"
#include "fmt/format.h"
#include "fmt/ranges.h"
#include "models/backends/backend_util.h"
#include "models/backends/hog.h"
#include "models/backends/identity.h"
#include "models/backends/opencv_dnn.h"
#include "models/backends/replay.h"

namespace dnoscope::models {
namespace {

namespace fs = std::filesystem;

constexpr char kConfigFile[] = "config.json";

// Same code, message prefixed with context.
absl::Status Annotate(const absl::Status& status, const std::string& context) {
  return absl::Status(status.code(), fmt::format("{}: {}", context, std::string(status.message())));
}

// A version folder name: a positive decimal integer.
bool ParseVersion(const std::string& name, int64_t* version) {
  if (name.empty() || name.find_first_not_of("0123456789") != std::string::npos) return false;
  auto [end, ec] = std::from_chars(name.data(), name.data() + name.size(), *version);
  return ec == std::errc() && end == name.data() + name.size() && *version > 0;
}

// Relative name, size and modification time of every file under `dir`,
// sorted, one per line: changes when a file is added, removed, rewritten or
// touched.
std::string FingerprintDir(const fs::path& dir) {
  std::vector<std::string> lines;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(dir, ec); !ec && it != fs::end(it);
       it.increment(ec)) {
    std::error_code file_ec;
    if (!it->is_regular_file(file_ec)) continue;
    const auto size = it->file_size(file_ec);
    const auto mtime = it->last_write_time(file_ec).time_since_epoch().count();
    lines.push_back(fmt::format("{} {} {}", fs::relative(it->path(), dir, file_ec).string(), size,
                                static_cast<int64_t>(mtime)));
  }
  std::sort(lines.begin(), lines.end());
  return fmt::format("{}", fmt::join(lines, "\n"));
}

}  // namespace

std::vector<int64_t> VersionFolders(const std::string& model_dir) {
  std::vector<int64_t> versions;
  std::error_code ec;
  for (const fs::directory_entry& e : fs::directory_iterator(model_dir, ec)) {
    int64_t version = 0;
    std::error_code dir_ec;
    if (e.is_directory(dir_ec) && ParseVersion(e.path().filename().string(), &version)) {
      versions.push_back(version);
    }
  }
  std::sort(versions.begin(), versions.end());
  return versions;
}

namespace {

absl::StatusOr<ModelConfig> ReadConfig(const fs::path& model_dir, const std::string& name,
                                       std::string* text) {
  const fs::path path = model_dir / kConfigFile;
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(fmt::format("'{}' not found", path.string()));
  std::ostringstream contents;
  contents << in.rdbuf();
  *text = contents.str();
  DNS_ASSIGN_OR_RETURN(ModelConfig config, ParseModelConfig(*text, path.string(), name));
  if (config.name != name) {
    return absl::InvalidArgumentError(fmt::format("{}: name '{}' differs from its folder name '{}'",
                                                  path.string(), config.name, name));
  }
  return config;
}

RepositoryEntry ScanModel(const fs::path& model_dir, const std::string& name) {
  RepositoryEntry entry;
  entry.config.name = name;
  entry.versions = VersionFolders(model_dir.string());
  for (int64_t version : entry.versions) {
    entry.version_fingerprints[version] = FingerprintDir(model_dir / std::to_string(version));
  }
  absl::StatusOr<ModelConfig> config = ReadConfig(model_dir, name, &entry.config_fingerprint);
  if (!config.ok()) {
    entry.status = config.status();
  } else {
    entry.config = *std::move(config);
    if (entry.versions.empty()) {
      entry.status = absl::NotFoundError(fmt::format(
          "'{}' has no version folder (a positive integer such as 1/)", model_dir.string()));
    }
  }
  return entry;
}

absl::StatusOr<std::unique_ptr<Model>> LoadModelFile(const ModelSpec& spec) {
  if (spec.kind != "detector" && spec.kind != "classifier") {
    return absl::InvalidArgumentError(
        fmt::format("model kind must be \"detector\" or \"classifier\", got \"{}\"", spec.kind));
  }
  ModelConfig config;
  config.name = fs::path(spec.model).stem().string();
  config.backend = "opencv_dnn";
  config.kind = spec.kind;
  config.model_file = spec.model;
  config.weights_file = spec.weights;
  if (config.weights_file.empty() && fs::path(spec.model).extension() == ".cfg") {
    config.weights_file = fs::path(spec.model).replace_extension(".weights").string();
  }
  config.names_file = spec.names;
  config.detector = spec.detector;
  config.max_batch_size = spec.kind == "classifier" ? 64 : 0;
  return CreateModel(config, "", 1);
}

}  // namespace

absl::StatusOr<std::unique_ptr<ModelRepository>> ModelRepository::Open(const std::string& root) {
  std::error_code ec;
  if (!fs::is_directory(root, ec)) {
    return absl::NotFoundError(fmt::format("model repository '{}' is not a directory", root));
  }
  auto repository = std::unique_ptr<ModelRepository>(new ModelRepository());
  repository->root_ = root;
  for (const fs::directory_entry& e : fs::directory_iterator(root, ec)) {
    const std::string name = e.path().filename().string();
    std::error_code dir_ec;
    if (!e.is_directory(dir_ec) || name.empty() || name[0] == '.') continue;
    // Broken models are reported by whoever serves or loads them.
    repository->entries_.emplace(name, ScanModel(e.path(), name));
  }
  if (ec) {
    return absl::InternalError(fmt::format("cannot list '{}': {}", root, ec.message()));
  }
  return repository;
}

std::vector<std::string> ModelRepository::ModelNames() const {
  std::vector<std::string> names;
  for (const auto& [name, entry] : entries_) names.push_back(name);
  return names;
}

absl::StatusOr<const RepositoryEntry*> ModelRepository::Find(const std::string& name) const {
  auto it = entries_.find(name);
  if (it == entries_.end()) {
    return absl::NotFoundError(fmt::format("no model '{}' in repository '{}' (available: {})", name,
                                           root_, fmt::join(ModelNames(), ", ")));
  }
  return &it->second;
}

absl::StatusOr<int64_t> ModelRepository::ResolveVersion(const std::string& name,
                                                        int64_t version) const {
  DNS_ASSIGN_OR_RETURN(const RepositoryEntry* entry, Find(name));
  if (!entry->status.ok()) {
    return Annotate(entry->status, fmt::format("model '{}' is unavailable", name));
  }
  if (version < 0 && !entry->versions.empty()) version = entry->versions.back();
  if (std::find(entry->versions.begin(), entry->versions.end(), version) == entry->versions.end()) {
    return absl::NotFoundError(fmt::format("model '{}' has no version {} (available: {})", name,
                                           version, fmt::join(entry->versions, ", ")));
  }
  return version;
}

std::string ModelRepository::VersionDir(const std::string& name, int64_t version) const {
  return (fs::path(root_) / name / std::to_string(version)).string();
}

absl::StatusOr<std::unique_ptr<Model>> ModelRepository::Load(const std::string& name,
                                                             int64_t version) const {
  DNS_ASSIGN_OR_RETURN(version, ResolveVersion(name, version));
  DNS_ASSIGN_OR_RETURN(const RepositoryEntry* entry, Find(name));
  absl::StatusOr<std::unique_ptr<Model>> model =
      CreateModel(entry->config, VersionDir(name, version), version);
  if (!model.ok()) {
    return Annotate(model.status(), fmt::format("model '{}' version {}", name, version));
  }
  return model;
}

absl::Status ValidateModelName(const std::string& name) {
  const bool chars_ok = std::all_of(name.begin(), name.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-';
  });
  if (name.empty() || name[0] == '.' || !chars_ok) {
    return absl::InvalidArgumentError(fmt::format(
        "bad model name '{}': use letters, digits, '.', '_' and '-', not starting with '.'", name));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<Model>> CreateModel(const ModelConfig& config,
                                                   const std::string& version_dir, int64_t version,
                                                   Clock* clock) {
  if (config.backend == "hog") return CreateHogModel(config.hog, config.name, version);
  if (config.backend == "replay") {
    const std::string labels = ResolvePath(version_dir, config.labels_file);
    if (config.kind == "classifier") {
      return CreateReplayClassifier(labels, config.replay, config.name, version,
                                    config.max_batch_size, clock);
    }
    return CreateReplayModel(labels, config.replay, config.name, version, clock);
  }
  if (config.backend == "opencv_dnn") return CreateOpenCvDnnModel(config, version_dir, version);
  if (config.backend == "identity") return CreateIdentityModel(config, version);
  return absl::InvalidArgumentError(
      fmt::format("model '{}': unknown backend \"{}\" (expected opencv_dnn, hog, replay or identity)",
                  config.name, config.backend));
}

absl::StatusOr<std::unique_ptr<Model>> LoadModel(const ModelSpec& spec) {
  const std::string extension = fs::path(spec.model).extension().string();
  if (extension == ".onnx" || extension == ".cfg") return LoadModelFile(spec);
  if (!spec.repository.empty()) {
    DNS_ASSIGN_OR_RETURN(std::unique_ptr<ModelRepository> repository,
                         ModelRepository::Open(spec.repository));
    // "hog" falls through to the built-in detector unless the repository has it.
    if (spec.model != "hog" || repository->Find(spec.model).ok()) {
      return repository->Load(spec.model, spec.version);
    }
  }
  if (spec.model == "hog") return CreateHogModel(HogOptions{}, "hog", 1);
  std::error_code ec;
  if (fs::exists(spec.model, ec)) {
    return absl::InvalidArgumentError(
        fmt::format("unsupported model file '{}' (expected .onnx, or a Darknet .cfg with weights)",
                    spec.model));
  }
  return absl::NotFoundError(fmt::format(
      "no model '{}': expected \"hog\", a .onnx file, a Darknet .cfg, or a model name with a "
      "repository",
      spec.model));
}

const std::vector<std::string>& CocoClassNames() {
  // Darknet's coco.names spelling (e.g. "motorbike", "sofa", "tvmonitor").
  static const std::vector<std::string> kNames = {
      "person",        "bicycle",       "car",           "motorbike",
      "aeroplane",     "bus",           "train",         "truck",
      "boat",          "traffic light", "fire hydrant",  "stop sign",
      "parking meter", "bench",         "bird",          "cat",
      "dog",           "horse",         "sheep",         "cow",
      "elephant",      "bear",          "zebra",         "giraffe",
      "backpack",      "umbrella",      "handbag",       "tie",
      "suitcase",      "frisbee",       "skis",          "snowboard",
      "sports ball",   "kite",          "baseball bat",  "baseball glove",
      "skateboard",    "surfboard",     "tennis racket", "bottle",
      "wine glass",    "cup",           "fork",          "knife",
      "spoon",         "bowl",          "banana",        "apple",
      "sandwich",      "orange",        "broccoli",      "carrot",
      "hot dog",       "pizza",         "donut",         "cake",
      "chair",         "sofa",          "pottedplant",   "bed",
      "diningtable",   "toilet",        "tvmonitor",     "laptop",
      "mouse",         "remote",        "keyboard",      "cell phone",
      "microwave",     "oven",          "toaster",       "sink",
      "refrigerator",  "book",          "clock",         "vase",
      "scissors",      "teddy bear",    "hair drier",    "toothbrush"};
  return kNames;
}

}  // namespace dnoscope::models
