// ModelStage: a model used asynchronously, wherever it runs. The cascade
// talks only to this interface, so a run does not know (nor behave
// differently) whether a stage is in this process or on model servers:
//  - in-process: MakeLocalStage (local_stage.h), a Model per worker thread;
//  - remote: client::RemoteModel (client/remote_model.h), replicated servers
//    behind a load balancer, with retries, probes and patience, over any
//    client::Transport (KServe v2 REST, TF Serving REST, ...).
// A stage is shared: several cascade runs (streams) may submit to one stage
// at once, and share its workers, balancer and in-flight limits.
//
// Thread-safety: every method is thread-safe. `done` runs exactly once, on a
// thread owned by the stage (or inline when the request is refused at once);
// it must not block nor call Shutdown.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/tensor.h"
#include "models/model.h"

namespace dnoscope::models {

// Requests of a higher priority are started first; within one priority,
// in submission order.
enum class Priority : uint8_t {
  kNormal = 0,
  // Work nobody waits for, e.g. audit requests: runs when a stage would
  // otherwise idle.
  kLow = 1,
};

// Set by the submitter to withdraw requests it no longer needs (e.g. a run
// that stopped); a stage checks it before starting a request (and before
// each retry) and completes a withdrawn one with Cancelled. Work already
// under way finishes normally.
using CancelFlag = std::shared_ptr<const std::atomic<bool>>;

struct StageRequest {
  std::vector<Tensor> inputs;
  // Outputs to return by name; empty: the model's default outputs.
  std::vector<std::string> outputs;
  Priority priority = Priority::kNormal;
  // Optional; see CancelFlag.
  CancelFlag cancelled;
};

struct StageEndpointStats {
  // "host:port", or "local".
  std::string name;
  int in_flight = 0;
  int64_t requests = 0;
  int64_t failures = 0;
  int64_t ejections = 0;
  bool ejected = false;
  int64_t bytes_sent = 0;
};

struct StageStats {
  std::vector<StageEndpointStats> endpoints;
  // Attempts after the first, over all requests.
  int64_t retries = 0;
};

class ModelStage {
 public:
  using Done = std::function<void(absl::StatusOr<std::vector<Tensor>>)>;
  virtual ~ModelStage() = default;

  // Fixed for the stage's life.
  virtual const ModelMetadata& metadata() const = 0;
  // "local 'hog' (hog)" or "remote 'ref' at a:1,b:2 (kserve, p2c)", for logs.
  virtual std::string Describe() const = 0;
  // Runs the model on `request`; never blocks on the model. `done` gets the
  // outputs or the error: the model's, Cancelled after Shutdown or for a
  // withdrawn request, and for remote stages what client::RemoteModel says.
  virtual void InferAsync(StageRequest request, Done done) = 0;
  virtual StageStats stats() const = 0;
  // Fails what has not completed with Cancelled (each `done` still runs
  // exactly once) and joins the stage's threads. Idempotent.
  virtual void Shutdown() = 0;
};

}  // namespace dnoscope::models
