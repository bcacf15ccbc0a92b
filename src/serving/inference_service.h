// InferenceService: the transport-agnostic core of the model server. Every
// front end (KServe v2 REST, TF Serving REST, later KServe v2 gRPC) decodes
// its wire format into the native structs below, calls the service, and
// encodes what comes back; the service never sees JSON, protobuf or HTTP.
//
// The service owns the decisions a request goes through between decoding and
// the model: which model version serves it (NotFound or Unavailable when
// none can), whether its tensors fit the model's signature
// (serving/tensor_checks.h), which outputs it gets, its deadline, counting a
// request refused before it queued as a failure of that version, and handing
// it to the version's ModelScheduler. It also answers the health, readiness,
// metadata and config questions as native structs.
//
// A request goes through two calls, so that a front end that needs the
// model's signature to decode (TF Serving's row format) sees the version that
// will run it, and a request that fails to decode is still counted:
//
//   absl::StatusOr<ModelHandle> model = service.Resolve(name, version);
//   if (!model.ok()) return Answer(model.status());
//   absl::StatusOr<std::vector<Tensor>> inputs = Decode(body, model->metadata());
//   if (!inputs.ok()) return Answer(service.Reject(*model, inputs.status()));
//   service.Infer(*model, {.inputs = *inputs}, [](auto result) { Answer(result); });
//
// Model lookup lives behind this class (a ModelManager today); a repository
// that loads and unloads versions while serving changes the manager and
// ModelHandle, not the front ends.
//
// Thread-safety: all methods are thread-safe and non-blocking (no model runs
// on the caller's thread). `done` callbacks run on a scheduler thread or, for
// requests refused before they queue, on the caller of Infer.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/clock.h"
#include "common/tensor.h"
#include "models/model.h"
#include "models/model_config.h"
#include "serving/metrics.h"
#include "serving/model_manager.h"

namespace dnoscope::serving {

struct InferenceServiceOptions {
  // Deadline of a request that sets no timeout of its own; 0: none.
  std::chrono::microseconds default_timeout{0};
  // What the server calls itself in its metadata.
  std::string server_name = "dnoscope";
  std::string server_version = "0.1.0";
};

// The server's own metadata (front ends add the extensions they speak).
struct ServerInfo {
  std::string name;
  std::string version;
};

// The load state of one model version.
struct VersionState {
  int64_t version = 0;
  // OK when READY; otherwise why the version could not be loaded.
  absl::Status status;
};

// The load state of one model.
struct ModelState {
  std::string name;
  // Non-OK when the model's config.json is bad; `versions` is then empty.
  absl::Status status;
  models::ModelConfig config;
  // Ascending by version.
  std::vector<VersionState> versions;
};

// What a metadata request describes: one version of a model.
struct ModelDescription {
  ModelState model;
  // The version described: the one asked for, else the highest READY one,
  // else the highest; -1 when the model has no version (bad config).
  int64_t version = -1;
  // OK when `version` is READY; otherwise the reason it is not.
  absl::Status status;
  // The loaded model's metadata; empty unless `version` is READY.
  models::ModelMetadata metadata;
};

// A READY model version a request resolved to. Cheap to copy. Valid while the
// service that returned it lives (today versions are never unloaded while
// serving; a reloading repository will make the handle keep its version
// alive until the last copy is gone).
class ModelHandle {
 public:
  const std::string& model() const { return model_->name; }
  int64_t version() const { return version_->version; }
  const models::ModelMetadata& metadata() const { return version_->metadata; }

 private:
  friend class InferenceService;
  ModelHandle(const ServedModel* model, const ServedVersion* version)
      : model_(model), version_(version) {}

  const ServedModel* model_;
  const ServedVersion* version_;
};

struct InferenceRequest {
  // Named input tensors, checked against the model's inputs.
  std::vector<Tensor> inputs;
  // Outputs to return, in this order; empty: every output the model does
  // not mark on_request, in the model's order.
  std::vector<std::string> requested_outputs;
  // The request fails with DeadlineExceeded when still queued this long
  // after Infer; 0: InferenceServiceOptions::default_timeout.
  std::chrono::microseconds timeout{0};
};

struct InferenceResponse {
  std::string model;
  // The version that ran the request.
  int64_t version = 0;
  // The requested (or default) outputs, in that order.
  std::vector<Tensor> outputs;
};

// Receives the response or the error; called exactly once, never under a
// lock of the service or the scheduler.
using InferenceDone = std::function<void(absl::StatusOr<InferenceResponse>)>;

// One row of the repository index (KServe/Triton repository extension).
struct RepositoryModel {
  std::string name;
  // "" for a model with no loaded version (e.g. a bad config.json).
  std::string version;
  // "READY", "UNAVAILABLE", "LOADING" or "UNLOADING".
  std::string state;
  // Why the model or version is not READY; "" when it is.
  std::string reason;
};

// A count and the cumulative nanoseconds of what it counts (Triton's
// StatisticDuration).
struct Duration {
  int64_t count = 0;
  int64_t ns = 0;
};

// Statistics of one model version, as Triton's statistics extension has them.
struct VersionStatistics {
  std::string name;
  int64_t version = 0;
  // Milliseconds since the epoch of the last successful inference; 0: none.
  int64_t last_inference_ms = 0;
  // Batch items inferred by successful executions.
  int64_t inference_count = 0;
  // Successful model executions.
  int64_t execution_count = 0;
  // success/fail: requests and their submit-to-done time; queue: successful
  // requests and their time queued; compute_*: successful requests and the
  // time of the execution that ran them (input and output are part of infer
  // here, so their durations stay 0).
  Duration success, fail, queue, compute_input, compute_infer, compute_output;
};

class InferenceService {
 public:
  // Serves the models of `models`, counting in its metrics registry and
  // taking deadlines from its clock (the clock its schedulers wait on).
  // `models` is not owned and must outlive the service. InvalidArgument
  // when it is null or default_timeout is negative.
  static absl::StatusOr<std::unique_ptr<InferenceService>> Create(
      const InferenceServiceOptions& options, const ModelManager* models);

  InferenceService(const InferenceService&) = delete;
  InferenceService& operator=(const InferenceService&) = delete;

  // ---- health and metadata

  // The process serves requests at all (always true while the service exists).
  bool live() const { return true; }
  // Ready for inference (see ModelManagerOptions::strict_readiness).
  bool ready() const;
  ServerInfo server_info() const;
  // OK when `version` (-1: any) of `model` is READY; NotFound for an
  // unknown model or version (the message lists what exists), Unavailable
  // with the reason for a model or version that is not READY.
  absl::Status ModelReady(std::string_view model, int64_t version) const;
  // The state of `model` and its versions (only `version` when >= 0).
  // NotFound for an unknown model, or a version its (valid) config lacks.
  absl::StatusOr<ModelState> GetModelState(std::string_view model, int64_t version) const;
  // Describes `version` (-1: see ModelDescription::version) of `model`, READY
  // or not. NotFound for an unknown model or version.
  absl::StatusOr<ModelDescription> DescribeModel(std::string_view model, int64_t version) const;
  // The model's configuration. NotFound for an unknown model, Unavailable
  // with the reason when its config.json is bad.
  absl::StatusOr<models::ModelConfig> GetModelConfig(std::string_view model) const;
  // Counters of every model version (Prometheus exposition, statistics).
  const MetricsRegistry& metrics() const { return *metrics_; }

  // ---- repository and statistics extensions

  // Every model of the repository and the state of each of its versions,
  // sorted by name then version; only READY versions when `ready_only`.
  absl::StatusOr<std::vector<RepositoryModel>> RepositoryIndex(bool ready_only) const;
  // Loads (or reloads) `model` from the repository.
  absl::Status LoadModel(std::string_view model);
  // Unloads every version of `model`, letting queued requests finish.
  absl::Status UnloadModel(std::string_view model);
  // Statistics of `version` (-1: every version) of `model` ("": every
  // model). NotFound for an unknown model or version.
  absl::StatusOr<std::vector<VersionStatistics>> Statistics(std::string_view model,
                                                            int64_t version) const;

  // ---- inference

  // The version of `model` that serves a request naming `version` (-1: the
  // highest READY one). Errors as ModelReady.
  absl::StatusOr<ModelHandle> Resolve(std::string_view model, int64_t version) const;

  // Counts a request for `model` that failed before Infer (e.g. its body did
  // not decode) as a failed request of that version; returns `error`.
  absl::Status Reject(const ModelHandle& model, absl::Status error) const;

  // Checks `request` against `model`'s signature and queues it on the
  // version's scheduler. `done` gets the outputs, or: InvalidArgument for an
  // unknown, duplicated, missing or mis-typed/mis-shaped input, an unknown or
  // duplicated output, or a batch the model cannot take; Unavailable when
  // the queue is full or the server shuts down; DeadlineExceeded when the
  // deadline passes while queued; the model's own error. Every failure is
  // counted in the version's request_failure.
  void Infer(const ModelHandle& model, InferenceRequest request, InferenceDone done) const;

 private:
  InferenceService(const InferenceServiceOptions& options, const ModelManager* models);

  // Fails `done` with `error` after counting it.
  void Fail(const ModelHandle& model, absl::Status error, const InferenceDone& done) const;
  Clock::TimePoint Deadline(std::chrono::microseconds timeout) const;

  const InferenceServiceOptions options_;
  const ModelManager* const models_;
  MetricsRegistry* const metrics_;
  Clock* const clock_;
};

}  // namespace dnoscope::serving
