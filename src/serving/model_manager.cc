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

// Loads one version: a probe instance for the metadata, then the scheduler
// with instance_count instances of its own.
ServedVersion LoadVersion(const models::ModelRepository& repository, const ServedModel& model,
                          int64_t version, const ModelManagerOptions& options,
                          MetricsRegistry* metrics, Clock* clock) {
  ServedVersion served;
  served.version = version;
  absl::StatusOr<std::unique_ptr<models::Model>> probe = repository.Load(model.name, version);
  if (!probe.ok()) {
    served.status = probe.status();
    return served;
  }
  served.metadata = (*probe)->metadata();
  // The probe becomes the first instance rather than being loaded twice.
  auto first = std::make_shared<std::unique_ptr<models::Model>>(std::move(*probe));
  ModelScheduler::ModelFactory factory =
      [repository = &repository, name = model.name, version,
       first]() -> absl::StatusOr<std::unique_ptr<models::Model>> {
    if (*first) return std::move(*first);
    return repository->Load(name, version);
  };
  absl::StatusOr<std::unique_ptr<ModelScheduler>> scheduler =
      ModelScheduler::Create(SchedulerOptionsFor(model.config, served.metadata, options),
                             std::move(factory), metrics->GetOrCreate(model.name, version), clock);
  if (!scheduler.ok()) {
    served.status = scheduler.status();
    return served;
  }
  served.scheduler = std::move(*scheduler);
  return served;
}

void LogModel(const ServedModel& model) {
  if (!model.status.ok()) {
    spdlog::error("model '{}' UNAVAILABLE: {}", model.name, std::string(model.status.message()));
    return;
  }
  for (const ServedVersion& v : model.versions) {
    if (v.status.ok()) {
      spdlog::info("model '{}' version {} READY ({} backend, {} instance(s), max batch {})",
                   model.name, v.version, v.metadata.backend, model.config.instance_count,
                   v.metadata.max_batch_size);
    } else {
      spdlog::error("model '{}' version {} UNAVAILABLE: {}", model.name, v.version,
                    std::string(v.status.message()));
    }
  }
}

}  // namespace

bool ServedModel::ready() const {
  return std::any_of(versions.begin(), versions.end(),
                     [](const ServedVersion& v) { return v.status.ok(); });
}

absl::StatusOr<const ServedVersion*> ServedModel::Resolve(int64_t version) const {
  if (!status.ok()) {
    return absl::UnavailableError(
        fmt::format("model '{}' is unavailable: {}", name, std::string(status.message())));
  }
  if (version < 0) {
    for (auto it = versions.rbegin(); it != versions.rend(); ++it) {
      if (it->status.ok()) return &*it;
    }
    return absl::UnavailableError(fmt::format("model '{}' has no ready version", name));
  }
  for (const ServedVersion& v : versions) {
    if (v.version != version) continue;
    if (!v.status.ok()) {
      return absl::UnavailableError(fmt::format("model '{}' version {} is unavailable: {}", name,
                                                version, std::string(v.status.message())));
    }
    return &v;
  }
  std::vector<int64_t> numbers;
  for (const ServedVersion& v : versions) numbers.push_back(v.version);
  return absl::NotFoundError(fmt::format("model '{}' has no version {} (versions: {})", name,
                                         version, fmt::join(numbers, ", ")));
}

absl::StatusOr<std::unique_ptr<ModelManager>> ModelManager::Create(
    const std::string& repository_root, const ModelManagerOptions& options,
    MetricsRegistry* metrics, Clock* clock) {
  if (metrics == nullptr || clock == nullptr) {
    return absl::InvalidArgumentError("model manager needs a metrics registry and a clock");
  }
  DNS_ASSIGN_OR_RETURN(std::unique_ptr<models::ModelRepository> repository,
                       models::ModelRepository::Open(repository_root));
  std::unique_ptr<ModelManager> manager(new ModelManager());
  manager->options_ = options;
  manager->metrics_ = metrics;
  manager->clock_ = clock;
  manager->repository_ = std::move(repository);
  const models::ModelRepository& repo = *manager->repository_;
  for (const std::string& name : repo.ModelNames()) {
    auto model = std::make_unique<ServedModel>();
    model->name = name;
    const models::RepositoryEntry* entry = *repo.Find(name);
    model->status = entry->status;
    model->config = entry->config;
    if (model->status.ok() && entry->versions.empty()) {
      model->status = absl::FailedPreconditionError("no version folder (e.g. '1/')");
    }
    if (model->status.ok()) {
      for (int64_t version : entry->versions) {
        model->versions.push_back(LoadVersion(repo, *model, version, options, metrics, clock));
      }
    }
    LogModel(*model);
    manager->models_.push_back(std::move(model));
  }
  return manager;
}

ModelManager::~ModelManager() { Shutdown(); }

absl::StatusOr<const ServedModel*> ModelManager::Find(const std::string& name) const {
  auto it = std::lower_bound(models_.begin(), models_.end(), name,
                             [](const auto& m, const std::string& n) { return m->name < n; });
  if (it != models_.end() && (*it)->name == name) return it->get();
  std::vector<std::string> names;
  for (const auto& m : models_) names.push_back(m->name);
  return absl::NotFoundError(
      fmt::format("unknown model '{}' (models: {})", name,
                  names.empty() ? "none" : fmt::format("{}", fmt::join(names, ", "))));
}

bool ModelManager::ready() const {
  if (shut_down_.load()) return false;
  size_t ready_versions = 0, versions = 0;
  for (const auto& m : models_) {
    if (!m->status.ok()) ++versions;
    for (const ServedVersion& v : m->versions) {
      ++versions;
      ready_versions += v.status.ok();
    }
  }
  return options_.strict_readiness ? ready_versions == versions : ready_versions > 0;
}

void ModelManager::Shutdown() {
  if (shut_down_.exchange(true)) return;
  for (const auto& m : models_) {
    for (ServedVersion& v : m->versions) {
      if (v.scheduler) v.scheduler->Shutdown();
    }
  }
}

}  // namespace dnoscope::serving
