#include "serving/model_manager.h"

#include <algorithm>

#include "absl/status/status.h"
#include "common/status_macros.h"
#include "fmt/format.h"
#include "fmt/ranges.h"
#include "spdlog/spdlog.h"

namespace dnoscope::serving {
namespace {

SchedulerOptions SchedulerOptionsFor(const models::ModelConfig& config,
                                     const models::ModelMetadata& metadata,
                                     const ModelManagerOptions& options) {
  SchedulerOptions s;
  s.max_batch_size = metadata.max_batch_size;
  s.max_queue_delay = std::chrono::microseconds(config.max_queue_delay_us);
  s.preferred_batch_sizes = config.preferred_batch_sizes;
  s.instance_count = config.instance_count;
  s.max_queue_size = options.max_queue_size;
  return s;
}

void LogVersion(const ServedModel& model, const ServedVersion& v) {
  if (v.status.ok()) {
    spdlog::info("model '{}' version {} READY ({} backend, {} instance(s), max batch {})",
                 model.name, v.version, v.metadata.backend, model.config.instance_count,
                 v.metadata.max_batch_size);
  } else {
    spdlog::error("model '{}' version {} UNAVAILABLE: {}", model.name, v.version,
                  std::string(v.status.message()));
  }
}

// The served version numbered `version`, or null.
std::shared_ptr<const ServedVersion> FindVersion(const ServedModel* model, int64_t version) {
  if (model == nullptr) return nullptr;
  for (const auto& v : model->versions) {
    if (v->version == version) return v;
  }
  return nullptr;
}

}  // namespace

ServedVersion::~ServedVersion() {
  if (scheduler) scheduler->Shutdown();
}

bool ServedModel::ready() const {
  return std::any_of(versions.begin(), versions.end(),
                     [](const auto& v) { return v->status.ok(); });
}

absl::StatusOr<std::shared_ptr<const ServedVersion>> ServedModel::Resolve(int64_t version) const {
  if (!status.ok()) {
    return absl::UnavailableError(
        fmt::format("model '{}' is unavailable: {}", name, std::string(status.message())));
  }
  if (version < 0) {
    for (auto it = versions.rbegin(); it != versions.rend(); ++it) {
      if ((*it)->status.ok()) return *it;
    }
    if (versions.empty()) {
      return absl::UnavailableError(fmt::format("model '{}' has no ready version", name));
    }
    return absl::UnavailableError(
        fmt::format("model '{}' has no ready version (version {}: {})", name,
                    versions.back()->version, std::string(versions.back()->status.message())));
  }
  if (std::shared_ptr<const ServedVersion> v = FindVersion(this, version)) {
    if (!v->status.ok()) {
      return absl::UnavailableError(fmt::format("model '{}' version {} is unavailable: {}", name,
                                                version, std::string(v->status.message())));
    }
    return v;
  }
  std::vector<int64_t> numbers;
  for (const auto& v : versions) numbers.push_back(v->version);
  return absl::NotFoundError(fmt::format("model '{}' has no version {} (versions: {})", name,
                                         version, fmt::join(numbers, ", ")));
}

// ---------------------------------------------------------------- Creation

absl::StatusOr<std::unique_ptr<ModelManager>> ModelManager::Create(
    const std::string& repository_root, const ModelManagerOptions& options,
    MetricsRegistry* metrics, Clock* clock) {
  if (metrics == nullptr || clock == nullptr) {
    return absl::InvalidArgumentError("model manager needs a metrics registry and a clock");
  }
  DNS_ASSIGN_OR_RETURN(std::unique_ptr<models::ModelRepository> repository,
                       models::ModelRepository::Open(repository_root));
  std::unique_ptr<ModelManager> manager(
      new ModelManager(repository_root, options, metrics, clock));
  MutexLock lock(&manager->lifecycle_mu_);
  for (const std::string& name : repository->ModelNames()) {
    manager->Apply(name, *repository->Find(name), *repository, /*force=*/false);
  }
  return manager;
}

ModelManager::ModelManager(std::string root, const ModelManagerOptions& options,
                           MetricsRegistry* metrics, Clock* clock)
    : root_(std::move(root)), options_(options), metrics_(metrics), clock_(clock) {}

ModelManager::~ModelManager() { Shutdown(); }

// ---------------------------------------------------------------- Readers

std::vector<std::shared_ptr<const ServedModel>> ModelManager::models() const {
  std::vector<std::shared_ptr<const ServedModel>> out;
  MutexLock lock(&mu_);
  out.reserve(models_.size());
  for (const auto& [name, model] : models_) out.push_back(model);
  return out;
}

absl::StatusOr<std::shared_ptr<const ServedModel>> ModelManager::Find(
    const std::string& name) const {
  std::vector<std::string> names;
  {
    MutexLock lock(&mu_);
    auto it = models_.find(name);
    if (it != models_.end()) return it->second;
    for (const auto& [n, model] : models_) names.push_back(n);
  }
  return absl::NotFoundError(
      fmt::format("unknown model '{}' (models: {})", name,
                  names.empty() ? "none" : fmt::format("{}", fmt::join(names, ", "))));
}

std::vector<VersionTransition> ModelManager::transitions() const {
  std::vector<VersionTransition> out;
  MutexLock lock(&mu_);
  for (const auto& [key, state] : transitions_) out.push_back({key.first, key.second, state});
  return out;
}

bool ModelManager::ready() const {
  if (shut_down_.load()) return false;
  size_t ready_versions = 0, versions = 0;
  for (const auto& m : models()) {
    if (m->unloaded) continue;
    if (!m->status.ok()) ++versions;
    for (const auto& v : m->versions) {
      ++versions;
      ready_versions += v->status.ok();
    }
  }
  return options_.strict_readiness ? ready_versions == versions : ready_versions > 0;
}

// ---------------------------------------------------------------- Lifecycle

void ModelManager::SetTransition(const std::string& name, int64_t version, const char* state) {
  MutexLock lock(&mu_);
  if (state == nullptr) {
    transitions_.erase({name, version});
  } else {
    transitions_[{name, version}] = state;
  }
}

std::shared_ptr<const ServedVersion> ModelManager::LoadVersion(
    const models::ModelRepository& repository, const ServedModel& model, int64_t version,
    const std::string& fingerprint) {
  SetTransition(model.name, version, "LOADING");
  auto served = std::make_shared<ServedVersion>();
  served->version = version;
  served->fingerprint = fingerprint;
  absl::StatusOr<std::unique_ptr<models::Model>> probe = repository.Load(model.name, version);
  if (probe.ok()) {
    served->metadata = (*probe)->metadata();
    // The probe becomes the first instance rather than being loaded twice.
    // The factory is only called while the scheduler is created.
    auto first = std::make_shared<std::unique_ptr<models::Model>>(std::move(*probe));
    ModelScheduler::ModelFactory factory =
        [&repository, name = model.name, version,
         first]() -> absl::StatusOr<std::unique_ptr<models::Model>> {
      if (*first) return std::move(*first);
      return repository.Load(name, version);
    };
    absl::StatusOr<std::unique_ptr<ModelScheduler>> scheduler = ModelScheduler::Create(
        SchedulerOptionsFor(model.config, served->metadata, options_), std::move(factory),
        metrics_->GetOrCreate(model.name, version), clock_);
    if (scheduler.ok()) {
      served->scheduler = std::move(*scheduler);
    } else {
      served->status = scheduler.status();
    }
  } else {
    served->status = probe.status();
  }
  SetTransition(model.name, version, nullptr);
  return served;
}

void ModelManager::Publish(const std::string& name, std::shared_ptr<const ServedModel> model) {
  MutexLock lock(&mu_);
  if (model == nullptr) {
    models_.erase(name);
  } else {
    models_[name] = std::move(model);
  }
}

void ModelManager::Retire(const std::string& name, const VersionList& versions, const char* why) {
  for (const auto& v : versions) {
    if (v->scheduler == nullptr) continue;
    SetTransition(name, v->version, "UNLOADING");
    const size_t pending = v->scheduler->pending();
    v->scheduler->Shutdown();
    SetTransition(name, v->version, nullptr);
    spdlog::info("model '{}' version {} unloaded ({}; {} queued request(s) finished on it)", name,
                 v->version, why, pending);
  }
}

void ModelManager::Apply(const std::string& name, const models::RepositoryEntry* entry,
                         const models::ModelRepository& repository, bool force) {
  absl::StatusOr<std::shared_ptr<const ServedModel>> found = Find(name);
  const std::shared_ptr<const ServedModel> old = found.ok() ? *found : nullptr;
  if (entry == nullptr) {
    if (old == nullptr) return;
    spdlog::info("model '{}' left the repository: unloading it", name);
    Publish(name, nullptr);
    Retire(name, old->versions, "removed from the repository");
    return;
  }

  auto next = std::make_shared<ServedModel>();
  next->name = name;
  next->config = entry->config;
  next->config_fingerprint = entry->config_fingerprint;
  const bool config_changed = old == nullptr || old->unloaded ||
                              old->config_fingerprint != entry->config_fingerprint;
  if (!entry->status.ok()) {
    // A config that turned bad keeps the loaded versions serving.
    if (old != nullptr && old->ready() && entry->versions.size() > 0 && !force) {
      if (config_changed) {
        spdlog::error("model '{}': new config.json is invalid, keeping the loaded versions: {}",
                      name, std::string(entry->status.message()));
        auto kept = std::make_shared<ServedModel>(*old);
        kept->config_fingerprint = entry->config_fingerprint;
        Publish(name, std::move(kept));
      }
      return;
    }
    if (!config_changed && old != nullptr && !old->status.ok() && !force) return;
    spdlog::error("model '{}' UNAVAILABLE: {}", name, std::string(entry->status.message()));
    next->status = entry->status;
    Publish(name, next);
    if (old != nullptr) Retire(name, old->versions, "model is unavailable");
    return;
  }

  const std::vector<int64_t> wanted =
      models::SelectVersions(entry->config.version_policy, entry->versions);
  VersionList replaced;
  bool changed = config_changed || force || old == nullptr || !old->status.ok();
  for (int64_t version : wanted) {
    const std::string& fingerprint = entry->version_fingerprints.at(version);
    std::shared_ptr<const ServedVersion> current = FindVersion(old.get(), version);
    if (current != nullptr && !force && !config_changed && current->fingerprint == fingerprint) {
      next->versions.push_back(current);
      continue;
    }
    changed = true;
    std::shared_ptr<const ServedVersion> loaded = LoadVersion(repository, *next, version, fingerprint);
    if (!loaded->status.ok() && current != nullptr && current->status.ok()) {
      spdlog::error("model '{}' version {} failed to reload, keeping the loaded one: {}", name,
                    version, std::string(loaded->status.message()));
      next->versions.push_back(current);
      continue;
    }
    LogVersion(*next, *loaded);
    next->versions.push_back(std::move(loaded));
    if (current != nullptr) replaced.push_back(current);
  }
  VersionList removed;
  if (old != nullptr) {
    for (const auto& v : old->versions) {
      if (!std::binary_search(wanted.begin(), wanted.end(), v->version)) removed.push_back(v);
    }
  }
  if (!changed && removed.empty()) return;
  if (next->versions.empty()) {
    next->status = absl::FailedPreconditionError(fmt::format(
        "version policy selects none of the versions ({})", fmt::join(entry->versions, ", ")));
    spdlog::error("model '{}' UNAVAILABLE: {}", name, std::string(next->status.message()));
  }
  Publish(name, next);
  Retire(name, replaced, "replaced by a new load");
  Retire(name, removed, "no longer in the repository or its version policy");
}

absl::Status ModelManager::PollOnce() {
  MutexLock lock(&lifecycle_mu_);
  if (shut_down_.load()) return absl::FailedPreconditionError("model manager is shut down");
  absl::StatusOr<std::unique_ptr<models::ModelRepository>> repository =
      models::ModelRepository::Open(root_);
  if (!repository.ok()) {
    spdlog::error("cannot rescan the model repository: {}",
                  std::string(repository.status().message()));
    return repository.status();
  }
  std::set<std::string> names;
  for (const auto& m : models()) names.insert(m->name);
  for (const std::string& name : (*repository)->ModelNames()) names.insert(name);
  for (const std::string& name : names) {
    absl::StatusOr<const models::RepositoryEntry*> entry = (*repository)->Find(name);
    if (entry.ok() && unloaded_.count(name) > 0) continue;
    if (!entry.ok()) unloaded_.erase(name);
    Apply(name, entry.ok() ? *entry : nullptr, **repository, /*force=*/false);
  }
  return absl::OkStatus();
}

absl::Status ModelManager::Load(const std::string& model) {
  MutexLock lock(&lifecycle_mu_);
  if (shut_down_.load()) return absl::FailedPreconditionError("model manager is shut down");
  DNS_ASSIGN_OR_RETURN(std::unique_ptr<models::ModelRepository> repository,
                       models::ModelRepository::Open(root_));
  absl::StatusOr<const models::RepositoryEntry*> entry = repository->Find(model);
  if (!entry.ok()) {
    unloaded_.erase(model);
    Apply(model, nullptr, *repository, /*force=*/false);
    return entry.status();
  }
  spdlog::info("model '{}': load requested", model);
  unloaded_.erase(model);
  Apply(model, *entry, *repository, /*force=*/true);
  DNS_ASSIGN_OR_RETURN(std::shared_ptr<const ServedModel> served, Find(model));
  absl::Status ready = served->Resolve(-1).status();
  if (!ready.ok()) {
    return absl::FailedPreconditionError(
        fmt::format("failed to load '{}': {}", model, std::string(ready.message())));
  }
  return absl::OkStatus();
}

absl::Status ModelManager::Unload(const std::string& model) {
  MutexLock lock(&lifecycle_mu_);
  if (shut_down_.load()) return absl::FailedPreconditionError("model manager is shut down");
  DNS_ASSIGN_OR_RETURN(std::shared_ptr<const ServedModel> old, Find(model));
  spdlog::info("model '{}': unload requested", model);
  unloaded_.insert(model);
  auto next = std::make_shared<ServedModel>();
  next->name = old->name;
  next->config = old->config;
  next->config_fingerprint = old->config_fingerprint;
  next->unloaded = true;
  next->status = absl::UnavailableError("unloaded");
  Publish(model, next);
  Retire(model, old->versions, "unload requested");
  return absl::OkStatus();
}

absl::Status ModelManager::StartPolling(Clock::Duration interval) {
  if (interval <= Clock::Duration::zero()) {
    return absl::InvalidArgumentError("the repository poll interval must be positive");
  }
  MutexLock lock(&poll_mu_);
  if (polling_ || stop_polling_) {
    return absl::FailedPreconditionError("the repository is already polled or shut down");
  }
  polling_ = true;
  poller_ = std::thread([this, interval] { PollLoop(interval); });
  return absl::OkStatus();
}

void ModelManager::PollLoop(Clock::Duration interval) {
  Clock::TimePoint next = clock_->Now() + interval;
  while (true) {
    {
      MutexLock lock(&poll_mu_);
      while (!stop_polling_ && !clock_->WaitUntil(&poll_mu_, &poll_cv_, next)) {
      }
      if (stop_polling_) return;
    }
    PollOnce().IgnoreError();  // logged; the next poll tries again
    next += interval;
    const Clock::TimePoint now = clock_->Now();
    if (next <= now) next = now + interval;
  }
}

void ModelManager::Shutdown() {
  std::thread poller;
  {
    MutexLock lock(&poll_mu_);
    stop_polling_ = true;
    poller = std::move(poller_);
  }
  poll_cv_.SignalAll();
  if (poller.joinable()) poller.join();
  if (shut_down_.exchange(true)) return;
  MutexLock lock(&lifecycle_mu_);
  for (const auto& m : models()) {
    for (const auto& v : m->versions) {
      if (v->scheduler) v->scheduler->Shutdown();
    }
  }
}

}  // namespace dnoscope::serving
