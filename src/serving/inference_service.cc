#include "serving/inference_service.h"

#include <utility>

#include "common/status_macros.h"
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
