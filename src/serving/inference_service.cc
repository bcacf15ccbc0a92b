#include "serving/inference_service.h"

#include <algorithm>
#include <map>
#include <tuple>
#include <utility>

#include "common/status_macros.h"
#include "fmt/format.h"
#include "serving/scheduler.h"
#include "serving/tensor_checks.h"

namespace dnoscope::serving {
namespace {

ModelState StateOf(const ServedModel& model, int64_t only_version) {
  ModelState state{.name = model.name, .status = model.status, .config = model.config};
  for (const auto& v : model.versions) {
    if (only_version < 0 || v->version == only_version) {
      state.versions.push_back({.version = v->version, .status = v->status});
    }
  }
  return state;
}

// The version a metadata request describes: the one inference would use,
// else (not READY) the one named, else the highest; null when the model has
// no version at all.
absl::StatusOr<std::shared_ptr<const ServedVersion>> DescribedVersion(const ServedModel& model,
                                                                      int64_t version) {
  absl::StatusOr<std::shared_ptr<const ServedVersion>> resolved = model.Resolve(version);
  if (resolved.ok() || resolved.status().code() == absl::StatusCode::kNotFound) return resolved;
  if (version < 0) {
    return model.versions.empty() ? nullptr : model.versions.back();
  }
  for (const auto& v : model.versions) {
    if (v->version == version) return v;
  }
  return resolved;
}

// Versions an unloaded request may move on through before it fails (each
// hop means another swap happened between resolving and queueing).
constexpr int kMaxReroutes = 8;

}  // namespace

absl::StatusOr<std::unique_ptr<InferenceService>> InferenceService::Create(
    const InferenceServiceOptions& options, ModelManager* models) {
  if (models == nullptr) return absl::InvalidArgumentError("inference service needs models");
  if (options.default_timeout.count() < 0) {
    return absl::InvalidArgumentError("default_timeout must be >= 0");
  }
  return std::unique_ptr<InferenceService>(new InferenceService(options, models));
}

InferenceService::InferenceService(const InferenceServiceOptions& options, ModelManager* models)
    : options_(options), models_(models), metrics_(models->metrics()), clock_(models->clock()) {}

// ---------------------------------------------------------------- Metadata

bool InferenceService::ready() const { return models_->ready(); }

ServerInfo InferenceService::server_info() const {
  return {.name = options_.server_name, .version = options_.server_version};
}

absl::Status InferenceService::ModelReady(std::string_view model, int64_t version) const {
  return Resolve(model, version).status();
}

absl::StatusOr<ModelState> InferenceService::GetModelState(std::string_view model,
                                                           int64_t version) const {
  DNS_ASSIGN_OR_RETURN(std::shared_ptr<const ServedModel> served,
                       models_->Find(std::string(model)));
  ModelState state = StateOf(*served, version);
  if (version >= 0 && served->status.ok() && state.versions.empty()) {
    return served->Resolve(version).status();  // NotFound listing the versions
  }
  return state;
}

absl::StatusOr<ModelDescription> InferenceService::DescribeModel(std::string_view model,
                                                                 int64_t version) const {
  DNS_ASSIGN_OR_RETURN(std::shared_ptr<const ServedModel> served,
                       models_->Find(std::string(model)));
  DNS_ASSIGN_OR_RETURN(std::shared_ptr<const ServedVersion> described,
                       DescribedVersion(*served, version));
  ModelDescription description{.model = StateOf(*served, -1)};
  if (described == nullptr) {
    description.status = served->status;
    return description;
  }
  description.version = described->version;
  description.status = described->status;
  if (described->status.ok()) description.metadata = described->metadata;
  return description;
}

absl::StatusOr<models::ModelConfig> InferenceService::GetModelConfig(
    std::string_view model) const {
  DNS_ASSIGN_OR_RETURN(std::shared_ptr<const ServedModel> served,
                       models_->Find(std::string(model)));
  if (!served->status.ok()) return served->Resolve(-1).status();  // Unavailable with the reason
  return served->config;
}

// ---------------------------------------------------------------- Repository and statistics

absl::StatusOr<std::vector<RepositoryModel>> InferenceService::RepositoryIndex(
    bool ready_only) const {
  std::map<std::pair<std::string, int64_t>, std::string> transitions;
  for (const VersionTransition& t : models_->transitions()) {
    transitions[{t.model, t.version}] = t.state;
  }
  std::vector<RepositoryModel> index;
  auto add = [&](const std::string& name, int64_t version, const absl::Status& status) {
    auto transition = transitions.find({name, version});
    std::string state = status.ok() ? "READY" : "UNAVAILABLE";
    if (transition != transitions.end()) {
      state = transition->second;
      transitions.erase(transition);
    }
    if (ready_only && state != "READY") return;
    index.push_back({.name = name,
                     .version = version < 0 ? "" : std::to_string(version),
                     .state = std::move(state),
                     .reason = status.ok() ? "" : std::string(status.message())});
  };
  for (const auto& model : models_->models()) {
    if (!model->status.ok()) add(model->name, -1, model->status);
    for (const auto& v : model->versions) add(model->name, v->version, v->status);
  }
  // Versions loading for the first time or being unloaded are not (or no
  // longer) published.
  for (const auto& [key, state] : transitions) {
    if (ready_only) break;
    index.push_back({.name = key.first, .version = std::to_string(key.second), .state = state});
  }
  std::sort(index.begin(), index.end(), [](const RepositoryModel& a, const RepositoryModel& b) {
    return std::make_tuple(a.name, a.version.size(), a.version) <
           std::make_tuple(b.name, b.version.size(), b.version);
  });
  return index;
}

absl::Status InferenceService::LoadModel(std::string_view model) {
  return models_->Load(std::string(model));
}

absl::Status InferenceService::UnloadModel(std::string_view model) {
  return models_->Unload(std::string(model));
}

absl::StatusOr<std::vector<VersionStatistics>> InferenceService::Statistics(
    std::string_view model, int64_t version) const {
  std::vector<std::shared_ptr<const ServedModel>> served;
  if (model.empty()) {
    served = models_->models();
  } else {
    DNS_ASSIGN_OR_RETURN(std::shared_ptr<const ServedModel> one,
                         models_->Find(std::string(model)));
    served.push_back(std::move(one));
  }
  std::vector<VersionStatistics> statistics;
  for (const auto& m : served) {
    bool found = false;
    for (const auto& served_version : m->versions) {
      const ServedVersion& v = *served_version;
      if (version >= 0 && v.version != version) continue;
      found = true;
      const ModelStats::Snapshot s = metrics_->GetOrCreate(m->name, v.version)->snapshot();
      const auto successes = static_cast<int64_t>(s.request_success);
      statistics.push_back(VersionStatistics{
          .name = m->name,
          .version = v.version,
          .last_inference_ms = s.last_inference_ms,
          .inference_count = static_cast<int64_t>(s.inference_count),
          .execution_count = static_cast<int64_t>(s.exec_count),
          .success = {successes, static_cast<int64_t>(s.request_duration_ns)},
          .fail = {static_cast<int64_t>(s.request_failure),
                   static_cast<int64_t>(s.failure_duration_ns)},
          .queue = {successes, static_cast<int64_t>(s.queue_duration_ns)},
          .compute_input = {successes, 0},
          .compute_infer = {successes, static_cast<int64_t>(s.request_compute_ns)},
          .compute_output = {successes, 0},
      });
    }
    if (version >= 0 && !found && !model.empty()) {
      return absl::NotFoundError(
          fmt::format("model '{}' has no version {}", m->name, version));
    }
  }
  return statistics;
}

// ---------------------------------------------------------------- Inference

absl::StatusOr<ModelHandle> InferenceService::Resolve(std::string_view model,
                                                      int64_t version) const {
  DNS_ASSIGN_OR_RETURN(std::shared_ptr<const ServedModel> served,
                       models_->Find(std::string(model)));
  DNS_ASSIGN_OR_RETURN(std::shared_ptr<const ServedVersion> resolved, served->Resolve(version));
  return ModelHandle(std::move(served), std::move(resolved), version);
}

absl::Status InferenceService::Reject(const ModelHandle& model, absl::Status error) const {
  metrics_->GetOrCreate(model.model(), model.version())->RecordFailure();
  return error;
}

void InferenceService::Fail(const ModelHandle& model, absl::Status error,
                            const InferenceDone& done) const {
  done(Reject(model, std::move(error)));
}

Clock::TimePoint InferenceService::Deadline(std::chrono::microseconds timeout) const {
  if (timeout.count() <= 0) timeout = options_.default_timeout;
  if (timeout.count() <= 0) return Clock::TimePoint::max();
  return clock_->Now() + timeout;
}

void InferenceService::Infer(const ModelHandle& model, InferenceRequest request,
                             InferenceDone done) const {
  if (request.timeout.count() < 0) {
    return Fail(model, absl::InvalidArgumentError("timeout must be >= 0"), done);
  }
  const Clock::TimePoint deadline = Deadline(request.timeout);
  Submit(model, std::move(request), deadline, std::make_shared<InferenceDone>(std::move(done)), 0);
}

void InferenceService::Submit(const ModelHandle& model, InferenceRequest request,
                              Clock::TimePoint deadline, std::shared_ptr<InferenceDone> done,
                              int rerouted) const {
  if (absl::Status s = CheckInputs(model.metadata(), request.inputs); !s.ok()) {
    return Fail(model, std::move(s), *done);
  }
  absl::StatusOr<std::vector<std::string>> outputs =
      ResolveOutputs(model.metadata(), request.requested_outputs);
  if (!outputs.ok()) return Fail(model, outputs.status(), *done);

  InferenceJob job;
  job.inputs = std::move(request.inputs);
  job.requested_outputs = std::move(*outputs);
  job.deadline = deadline;
  // The scheduler counts what fails from here on (full queue, deadline, model).
  job.done = [done, name = model.model(),
              version = model.version()](absl::StatusOr<std::vector<Tensor>> result) {
    if (!result.ok()) return (*done)(std::move(result).status());
    (*done)(InferenceResponse{.model = name, .version = version, .outputs = std::move(*result)});
  };
  if (model.version_->scheduler->TrySubmit(job)) return;

  // The version was unloaded after the request resolved it: the request
  // goes to whatever serves what it asked for now.
  absl::StatusOr<ModelHandle> now = Resolve(model.model(), model.requested_);
  if (!now.ok()) return Fail(model, now.status(), *done);
  if (now->version_ == model.version_ || rerouted >= kMaxReroutes) {
    return Fail(model,
                absl::UnavailableError(fmt::format("model '{}' version {} is shutting down",
                                                   model.model(), model.version())),
                *done);
  }
  request.inputs = std::move(job.inputs);
  Submit(*now, std::move(request), deadline, std::move(done), rerouted + 1);
}

}  // namespace dnoscope::serving
