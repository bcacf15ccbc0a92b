// Model repository on disk and model loading. The same code loads models for
// the local cascade, `dnoscope label`, and (later) the model server.
//
//   <root>/<model>/config.json
//   <root>/<model>/<version>/<files>
//
// Thread-safety: ModelRepository is immutable after Open and thread-safe;
// each Load returns a new, independent Model instance. A server that follows
// changes on disk opens the repository again (each Open is a fresh scan).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/clock.h"
#include "models/model.h"
#include "models/model_config.h"

namespace dnoscope::models {

struct RepositoryEntry {
  ModelConfig config;
  // Version numbers found, ascending.
  std::vector<int64_t> versions;
  // Non-OK when the model's config is unreadable or invalid (the model is
  // then UNAVAILABLE; the others still load).
  absl::Status status;
  // What a reloading server compares to notice changes: the text of
  // config.json, and per version folder a digest of its files' relative
  // names, sizes and modification times.
  std::string config_fingerprint;
  std::map<int64_t, std::string> version_fingerprints;
};

class ModelRepository {
 public:
  // Scans `root`. NotFound when it does not exist; a broken model is recorded
  // in its entry's status rather than failing the whole repository.
  static absl::StatusOr<std::unique_ptr<ModelRepository>> Open(const std::string& root);

  const std::string& root() const { return root_; }
  // Names of every model folder, sorted.
  std::vector<std::string> ModelNames() const;
  // NotFound (listing the available names) for unknown models.
  absl::StatusOr<const RepositoryEntry*> Find(const std::string& name) const;
  // A new instance of `name` at `version` (-1: highest). NotFound for unknown
  // model/version; the entry's status when it is broken; backend errors.
  absl::StatusOr<std::unique_ptr<Model>> Load(const std::string& name, int64_t version = -1) const;
  // The version Load(name, version) would load (-1: highest); errors as Load
  // before the backend runs.
  absl::StatusOr<int64_t> ResolveVersion(const std::string& name, int64_t version = -1) const;
  // <root>/<name>/<version>.
  std::string VersionDir(const std::string& name, int64_t version) const;

 private:
  std::string root_;
  std::map<std::string, RepositoryEntry> entries_;
};

// The version folders of `model_dir` (names that are positive integers),
// ascending; empty when there are none or the folder cannot be listed.
std::vector<int64_t> VersionFolders(const std::string& model_dir);

// OK for a model name usable as a folder in this and Triton's repositories:
// letters, digits, '.', '_' and '-', not starting with '.'; else
// InvalidArgument saying so.
absl::Status ValidateModelName(const std::string& name);

// Creates a model from a parsed config whose relative file names are resolved
// against `version_dir` (absolute names are used as they are). `clock` (not
// owned; must outlive the model) performs the replay backend's service-time
// sleeps. NotFound for missing files; InvalidArgument for bad configs/models.
absl::StatusOr<std::unique_ptr<Model>> CreateModel(const ModelConfig& config,
                                                   const std::string& version_dir, int64_t version,
                                                   Clock* clock = Clock::Real());

// A model named on the command line, as users expect:
//   "hog"                              built-in HOG people detector
//   "path/x.onnx"                      ONNX (classifier or detector per `kind`)
//   "path/x.cfg" + weights             Darknet (weights default to path/x.weights,
//                                      names to COCO's 80)
//   "name" + repository                a repository model (wins over "hog"
//                                      when the repository has that name)
// Direct files get the model name of the file stem and version 1.
struct ModelSpec {
  std::string model;
  std::string weights;
  // Class names file (one per line); empty = COCO's 80 for detectors.
  std::string names;
  // Model repository root for repository names.
  std::string repository;
  int64_t version = -1;
  // For direct files: "detector" or "classifier", and head overrides.
  std::string kind = "detector";
  DetectorHeadOptions detector;
};

// Loads what `spec` names. NotFound for unknown names/missing files (message
// says what was looked for), InvalidArgument for unsupported file types.
absl::StatusOr<std::unique_ptr<Model>> LoadModel(const ModelSpec& spec);

// COCO's 80 class names, 0-based.
const std::vector<std::string>& CocoClassNames();

}  // namespace dnoscope::models
