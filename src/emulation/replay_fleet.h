// Replay fleets: the emulated replicas of a model stage. Each is a
// ModelServer serving a label-replay model (models/backends/replay.h), which
// answers from a NoScope label CSV after an emulated service time, so that
// experiments at the seed's scale run on one machine.
//
// Thread-safety: ReplayFleet is safe to use from any thread once started;
// WriteReplayRepository is a blocking function (one call per directory).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "client/endpoint.h"
#include "emulation/model_server.h"

namespace dnoscope::emulation {

// One replay model of a repository.
struct ReplayModelSpec {
  // Repository name, e.g. "ref".
  std::string name;
  // "detector" (detections FP32 [N,6]) or "classifier" (confidence FP32 [N,1]).
  std::string kind = "detector";
  // Absolute path of the NoScope label CSV it replays.
  std::string labels_file;
  // Emulated service time per request (per batch for a batched classifier), ms.
  double service_time_ms = 0;
  // Only rows of this object are replayed.
  std::string object_name = "person";
  // Model instances, i.e. requests served at once (1: one at a time).
  int instance_count = 1;
  // Server-side dynamic batching (0: none).
  int max_batch_size = 0;
};

// Writes <root>/<name>/config.json and an empty version folder per model.
// Internal for I/O failures.
absl::Status WriteReplayRepository(const std::string& root,
                                   const std::vector<ReplayModelSpec>& models);

class ReplayFleet {
 public:
  // One server per entry of `service_ms`, each serving `model` with that
  // service time (the other fields of `model` are kept) from the repository
  // <dir>/server<i>. Errors as WriteReplayRepository and ModelServer::Start.
  static absl::StatusOr<std::unique_ptr<ReplayFleet>> Start(
      const std::string& dir, const ReplayModelSpec& model, const std::vector<double>& service_ms,
      const ModelServerOptions& options = {});

  // Server i's endpoint, in server order.
  std::vector<client::Endpoint> endpoints() const;
  size_t size() const { return servers_.size(); }
  // 0 <= i < size().
  ModelServer& server(size_t i) const { return *servers_[i]; }

 private:
  ReplayFleet() = default;
  std::vector<std::unique_ptr<ModelServer>> servers_;
};

}  // namespace dnoscope::emulation
