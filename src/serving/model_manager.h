// The models a server serves: every model of a model repository, every
// version folder of each, each version behind its own ModelScheduler.
//
// A model whose config.json is unreadable or invalid, or a version whose
// files fail to load, is kept as UNAVAILABLE with the reason (shown in its
// metadata and logged) while the others serve.
//
// Thread-safety: the set of models is fixed once Create returns; all const
// methods are thread-safe. Shutdown may be called from any thread once.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/clock.h"
#include "models/model.h"
#include "models/model_config.h"
#include "models/model_repository.h"
#include "serving/metrics.h"
#include "serving/scheduler.h"

namespace dnoscope::serving {

struct ModelManagerOptions {
  // Requests queued per model version before new ones get Unavailable (503).
  size_t max_queue_size = 1024;
  // Server readiness requires every model version to be READY (Triton's
  // strict readiness); false: at least one.
  bool strict_readiness = true;
};

struct ServedVersion {
  int64_t version = 0;
  // OK when READY; otherwise why the version could not be loaded.
  absl::Status status;
  // Metadata of the loaded model (empty when it failed to load).
  models::ModelMetadata metadata;
  // Null when not READY.
  std::unique_ptr<ModelScheduler> scheduler;
};

struct ServedModel {
  std::string name;
  // Non-OK when the model's config.json is bad (then `versions` is empty).
  absl::Status status;
  models::ModelConfig config;
  // Ascending by version.
  std::vector<ServedVersion> versions;

  // READY versions exist.
  bool ready() const;
  // The version to serve for `version` (-1: the highest READY one). NotFound
  // for versions the repository does not have (message lists them),
  // Unavailable with the reason for a model or version that is not READY.
  absl::StatusOr<const ServedVersion*> Resolve(int64_t version) const;
};

class ModelManager {
 public:
  // Opens `repository_root` and loads every version of every model
  // (instance_count instances each). NotFound when the root is missing,
  // InvalidArgument when `metrics` or `clock` is null; bad models are
  // recorded, not returned as errors. `metrics` and `clock` are not owned
  // and must outlive the manager.
  static absl::StatusOr<std::unique_ptr<ModelManager>> Create(const std::string& repository_root,
                                                              const ModelManagerOptions& options,
                                                              MetricsRegistry* metrics,
                                                              Clock* clock = Clock::Real());
  ~ModelManager();

  // Sorted.
  const std::vector<std::unique_ptr<ServedModel>>& models() const { return models_; }
  // NotFound naming the available models.
  absl::StatusOr<const ServedModel*> Find(const std::string& name) const;
  // Live and (see ModelManagerOptions::strict_readiness) ready, not shutting down.
  bool ready() const;
  // Stops accepting requests, finishes what is queued, joins the threads.
  void Shutdown();

  // Where the schedulers count (given to Create; not owned).
  MetricsRegistry* metrics() const { return metrics_; }
  // The clock the schedulers wait on and stamp with (given to Create; not owned).
  Clock* clock() const { return clock_; }

 private:
  ModelManager() = default;

  ModelManagerOptions options_;
  MetricsRegistry* metrics_ = nullptr;
  Clock* clock_ = nullptr;
  // Model factories of the schedulers load from it.
  std::unique_ptr<models::ModelRepository> repository_;
  std::vector<std::unique_ptr<ServedModel>> models_;
  std::atomic<bool> shut_down_{false};
};

}  // namespace dnoscope::serving
