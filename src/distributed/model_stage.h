// ModelStage: one model stage of the distributed cascade (specialized or
// reference) seen from the edge client, used asynchronously. Two
// implementations: a local model on a worker thread of its own
// (MakeLocalStage) and replicated model servers (remote_stage.h). The
// cascade never knows which one it talks to, so a local and a remote run
// execute the same code and give the same labels.
//
// Thread-safety: every method is thread-safe. `done` runs exactly once, on a
// thread owned by the stage; it must not block nor call Shutdown.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/tensor.h"
#include "models/model.h"

namespace dnoscope::distributed {

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

  virtual const models::ModelMetadata& metadata() const = 0;
  // "local 'hog'" or "remote 'ref' at a:1,b:2 (kserve)", for logs.
  virtual std::string Describe() const = 0;
  // Runs the model on `inputs`; never blocks on the model.
  virtual void InferAsync(std::vector<Tensor> inputs, Done done) = 0;
  virtual StageStats stats() const = 0;
  // Fails what has not completed with Cancelled (each `done` still runs
  // exactly once) and joins the stage's threads. Idempotent.
  virtual void Shutdown() = 0;
};

// Runs `model` on one worker thread, requests in submission order.
std::unique_ptr<ModelStage> MakeLocalStage(std::unique_ptr<models::Model> model);

}  // namespace dnoscope::distributed
