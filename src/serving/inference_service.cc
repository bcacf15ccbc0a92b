#include "serving/inference_service.h"

#include <utility>

#include "common/status_macros.h"
#include "fmt/format.h"
#include "serving/scheduler.h"
#include "serving/tensor_checks.h"

namespace dnoscope::serving {
namespace {

ModelState StateOf(const ServedModel& model, int64_t only_version) {
  ModelState state{.name = model.name, .status = model.status, .config = model.config};
  for (const ServedVersion& v : model.versions) {
    if (only_version < 0 || v.version == only_version) {
      state.versions.push_back({.version = v.version, .status = v.status});
    }
  }
  return state;
}

// The version a metadata request describes: the one inference would use,
// else (not READY) the one named, else the highest; null when the model has
// no version at all.
absl::StatusOr<const ServedVersion*> DescribedVersion(const ServedModel& model, int64_t version) {
  absl::StatusOr<const ServedVersion*> resolved = model.Resolve(version);
  if (resolved.ok() || resolved.status().code() == absl::StatusCode::kNotFound) return resolved;
  if (version < 0) return model.versions.empty() ? nullptr : &model.versions.back();
  for (const ServedVersion& v : model.versions) {
    if (v.version == version) return &v;
  }
  return resolved;
}

}  // namespace

absl::StatusOr<std::unique_ptr<InferenceService>> InferenceService::Create(
    const InferenceServiceOptions& options, const ModelManager* models) {
  if (models == nullptr) return absl::InvalidArgumentError("inference service needs models");
  if (options.default_timeout.count() < 0) {
    return absl::InvalidArgumentError("default_timeout must be >= 0");
  }
  return std::unique_ptr<InferenceService>(new InferenceService(options, models));
}

InferenceService::InferenceService(const InferenceServiceOptions& options,
                                   const ModelManager* models)
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
  DNS_ASSIGN_OR_RETURN(const ServedModel* served, models_->Find(std::string(model)));
  ModelState state = StateOf(*served, version);
  if (version >= 0 && served->status.ok() && state.versions.empty()) {
    return served->Resolve(version).status();  // NotFound listing the versions
  }
  return state;
}

absl::StatusOr<ModelDescription> InferenceService::DescribeModel(std::string_view model,
                                                                 int64_t version) const {
  DNS_ASSIGN_OR_RETURN(const ServedModel* served, models_->Find(std::string(model)));
  DNS_ASSIGN_OR_RETURN(const ServedVersion* described, DescribedVersion(*served, version));
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
  DNS_ASSIGN_OR_RETURN(const ServedModel* served, models_->Find(std::string(model)));
  if (!served->status.ok()) return served->Resolve(-1).status();  // Unavailable with the reason
  return served->config;
}

// ---------------------------------------------------------------- Repository and statistics

absl::StatusOr<std::vector<RepositoryModel>> InferenceService::RepositoryIndex(
    bool ready_only) const {
  std::vector<RepositoryModel> index;
  for (const auto& model : models_->models()) {
    if (!model->status.ok()) {
      if (!ready_only) {
        index.push_back({.name = model->name,
                         .state = "UNAVAILABLE",
                         .reason = std::string(model->status.message())});
      }
      continue;
    }
    for (const ServedVersion& v : model->versions) {
      if (ready_only && !v.status.ok()) continue;
      index.push_back({.name = model->name,
                       .version = std::to_string(v.version),
                       .state = v.status.ok() ? "READY" : "UNAVAILABLE",
                       .reason = std::string(v.status.message())});
    }
  }
  return index;
}

absl::Status InferenceService::LoadModel(std::string_view model) {
  return absl::UnimplementedError(
      fmt::format("cannot load model '{}': the repository is loaded once", model));
}

absl::Status InferenceService::UnloadModel(std::string_view model) {
  return absl::UnimplementedError(
      fmt::format("cannot unload model '{}': the repository is loaded once", model));
}

absl::StatusOr<std::vector<VersionStatistics>> InferenceService::Statistics(
    std::string_view model, int64_t version) const {
  std::vector<const ServedModel*> served;
  if (model.empty()) {
    for (const auto& m : models_->models()) served.push_back(m.get());
  } else {
    DNS_ASSIGN_OR_RETURN(const ServedModel* one, models_->Find(std::string(model)));
    served.push_back(one);
  }
  std::vector<VersionStatistics> statistics;
  for (const ServedModel* m : served) {
    bool found = false;
    for (const ServedVersion& v : m->versions) {
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
  DNS_ASSIGN_OR_RETURN(const ServedModel* served, models_->Find(std::string(model)));
  DNS_ASSIGN_OR_RETURN(const ServedVersion* resolved, served->Resolve(version));
  return ModelHandle(served, resolved);
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
  if (absl::Status s = CheckInputs(model.metadata(), request.inputs); !s.ok()) {
    return Fail(model, std::move(s), done);
  }
  absl::StatusOr<std::vector<std::string>> outputs =
      ResolveOutputs(model.metadata(), request.requested_outputs);
  if (!outputs.ok()) return Fail(model, outputs.status(), done);

  InferenceJob job;
  job.inputs = std::move(request.inputs);
  job.requested_outputs = std::move(*outputs);
  job.deadline = Deadline(request.timeout);
  // The scheduler counts what fails from here on (full queue, deadline, model).
  job.done = [done = std::move(done), name = model.model(),
              version = model.version()](absl::StatusOr<std::vector<Tensor>> result) {
    if (!result.ok()) return done(std::move(result).status());
    done(InferenceResponse{.model = name, .version = version, .outputs = std::move(*result)});
  };
  model.version_->scheduler->Submit(std::move(job));
}

}  // namespace dnoscope::serving
