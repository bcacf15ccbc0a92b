// The models a server serves: the models of a model repository, the version
// folders each one's version policy selects (models/model_config.h), each
// version behind its own ModelScheduler. The set changes while serving:
// PollOnce (every --repository-poll-s seconds with StartPolling) rescans the
// repository and picks up new, changed and removed models and versions, and
// Load / Unload do it for one model on request (the repository extension).
//
// A model whose config.json is unreadable or invalid, or a version whose
// files fail to load, is kept as UNAVAILABLE with the reason (shown in its
// metadata and logged) while the others serve.
//
// Swapping without failed requests. A ServedModel is immutable once
// published: a change builds a new one and swaps the pointer. A new or
// changed version is loaded first, then published, and only then is the
// version it replaces (or that left the policy or the disk) retired: its
// scheduler is shut down, which runs what it already queued (a request in
// flight completes on the old version) and refuses what comes later with
// ModelScheduler::TrySubmit returning false, so that a caller holding the
// old version can resolve the model again (InferenceService does). Versions
// are shared_ptrs, so a holder of an old one never sees it freed. A version
// that changed on disk but fails to load keeps the loaded one serving (as
// Triton does), and so does a model whose config.json turns invalid.
//
// Every load and unload is logged (spdlog info, errors as errors).
//
// Thread-safety: all methods are thread-safe. Lifecycle changes (PollOnce,
// Load, Unload, Shutdown) are serialized; readers (Find, models, ready) never
// wait for a model to load.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "common/clock.h"
#include "common/mutex.h"
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
  // strict readiness); false: at least one. Models unloaded on request do
  // not count.
  bool strict_readiness = true;
};

struct ServedVersion {
  // Shuts the scheduler down (a retired version already is).
  ~ServedVersion();

  int64_t version = 0;
  // OK when READY; otherwise why the version could not be loaded.
  absl::Status status;
  // Metadata of the loaded model (empty when it failed to load).
  models::ModelMetadata metadata;
  // Null when not READY.
  std::unique_ptr<ModelScheduler> scheduler;
  // RepositoryEntry::version_fingerprints of what was loaded.
  std::string fingerprint;
};

struct ServedModel {
  std::string name;
  // Non-OK when the model's config.json is bad, it has no version folder, or
  // it was unloaded on request (then `versions` is empty).
  absl::Status status;
  // True when unloaded on request (status says so).
  bool unloaded = false;
  models::ModelConfig config;
  // RepositoryEntry::config_fingerprint of the config in use.
  std::string config_fingerprint;
  // Ascending by version; never null.
  std::vector<std::shared_ptr<const ServedVersion>> versions;

  // READY versions exist.
  bool ready() const;
  // The version to serve for `version` (-1: the highest READY one). NotFound
  // for versions the model does not serve (message lists them), Unavailable
  // with the reason for a model or version that is not READY.
  absl::StatusOr<std::shared_ptr<const ServedVersion>> Resolve(int64_t version) const;
};

// A version being loaded or unloaded right now (RepositoryIndex shows it).
struct VersionTransition {
  std::string model;
  int64_t version = 0;
  // "LOADING" or "UNLOADING".
  std::string state;
};

class ModelManager {
 public:
  // Opens `repository_root` and loads the versions of every model its policy
  // selects (instance_count instances each). NotFound when the root is
  // missing, InvalidArgument when `metrics` or `clock` is null; bad models
  // are recorded, not returned as errors. `metrics` and `clock` are not
  // owned and must outlive the manager; `clock` also times the polling.
  static absl::StatusOr<std::unique_ptr<ModelManager>> Create(const std::string& repository_root,
                                                              const ModelManagerOptions& options,
                                                              MetricsRegistry* metrics,
                                                              Clock* clock = Clock::Real());
  // Shutdown().
  ~ModelManager();

  // Every model now, sorted by name.
  std::vector<std::shared_ptr<const ServedModel>> models() const;
  // NotFound naming the available models.
  absl::StatusOr<std::shared_ptr<const ServedModel>> Find(const std::string& name) const;
  // Versions being loaded or unloaded now, by model then version.
  std::vector<VersionTransition> transitions() const;
  // Live and (see ModelManagerOptions::strict_readiness) ready, not shutting down.
  bool ready() const;

  // Rescans the repository and applies what changed: loads new models and
  // versions (as their policy selects), reloads versions whose files or
  // config.json changed, unloads removed ones. Models unloaded on request
  // are left alone until Load. The error of a repository that cannot be
  // scanned (nothing changes then); bad models are recorded, not returned.
  absl::Status PollOnce();
  // Starts a thread that calls PollOnce every `interval` of the clock until
  // Shutdown. InvalidArgument for a non-positive interval,
  // FailedPrecondition when already polling or shut down.
  absl::Status StartPolling(Clock::Duration interval);
  // Loads `model` from the repository as it is on disk now (again, when
  // loaded), also one unloaded on request. NotFound when the repository has
  // no such model; FailedPrecondition with the reason when no version of it
  // is READY afterwards.
  absl::Status Load(const std::string& model);
  // Unloads every version of `model` (requests already queued finish); it
  // stays listed as UNAVAILABLE until Load. NotFound for an unknown model.
  absl::Status Unload(const std::string& model);

  // Stops polling, stops accepting requests, finishes what is queued, joins
  // the threads. Idempotent.
  void Shutdown();

  // Where the schedulers count (given to Create; not owned).
  MetricsRegistry* metrics() const { return metrics_; }
  // The clock the schedulers wait on and stamp with (given to Create; not owned).
  Clock* clock() const { return clock_; }

 private:
  using VersionList = std::vector<std::shared_ptr<const ServedVersion>>;

  ModelManager(std::string root, const ModelManagerOptions& options, MetricsRegistry* metrics,
               Clock* clock);

  // Brings model `name` to what `entry` (scanned just now; null: the folder
  // is gone) says; `force` reloads even unchanged versions.
  void Apply(const std::string& name, const models::RepositoryEntry* entry,
             const models::ModelRepository& repository, bool force)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(lifecycle_mu_);
  std::shared_ptr<const ServedVersion> LoadVersion(const models::ModelRepository& repository,
                                                   const ServedModel& model, int64_t version,
                                                   const std::string& fingerprint)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(lifecycle_mu_);
  // Makes `model` what readers see (null with `name`: removes it).
  void Publish(const std::string& name, std::shared_ptr<const ServedModel> model)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(lifecycle_mu_);
  // Shuts down the schedulers of versions no longer published (draining
  // their queues) and logs each unload.
  void Retire(const std::string& name, const VersionList& versions, const char* why)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(lifecycle_mu_);
  void SetTransition(const std::string& name, int64_t version, const char* state);
  void PollLoop(Clock::Duration interval);

  const std::string root_;
  const ModelManagerOptions options_;
  MetricsRegistry* const metrics_;
  Clock* const clock_;
  std::atomic<bool> shut_down_{false};

  // Serializes lifecycle changes (held while models load).
  Mutex lifecycle_mu_;
  // Models unloaded on request: polling leaves them alone.
  std::set<std::string> unloaded_ ABSL_GUARDED_BY(lifecycle_mu_);

  // Guards what readers see; held only to copy or swap pointers.
  mutable Mutex mu_;
  std::map<std::string, std::shared_ptr<const ServedModel>> models_ ABSL_GUARDED_BY(mu_);
  std::map<std::pair<std::string, int64_t>, std::string> transitions_ ABSL_GUARDED_BY(mu_);

  // The polling thread and how it is told to stop.
  Mutex poll_mu_;
  CondVar poll_cv_;
  bool stop_polling_ ABSL_GUARDED_BY(poll_mu_) = false;
  bool polling_ ABSL_GUARDED_BY(poll_mu_) = false;
  std::thread poller_ ABSL_GUARDED_BY(poll_mu_);
};

}  // namespace dnoscope::serving
