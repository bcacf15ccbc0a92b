// ModelServer: a dnoscope model server in this process, for experiments and
// tests that need a real server without a process. It is what `dnoscope
// serve` runs, minus flags and signals: every model of a repository behind
// the model manager, the inference service, the REST handler (KServe v2,
// TF Serving, /metrics, the repository and statistics extensions) and an
// HTTP server on 127.0.0.1 with a port the kernel picks, and optionally the
// KServe v2 gRPC front end. With repository_poll set it follows the
// repository while serving, as `dnoscope serve --repository-poll-s` does.
//
// Thread-safety: every method is thread-safe. Stop may be called from any
// thread but a request handler's, any number of times (e.g. by a test that
// "kills" the server mid-run while the destructor stops it again).
#pragma once

#include <chrono>
#include <memory>
#include <mutex>
#include <string>

#include "absl/status/statusor.h"
#include "client/endpoint.h"
#include "common/clock.h"
#include "serving/grpc/grpc_server.h"
#include "serving/http/server.h"
#include "serving/inference_service.h"
#include "serving/metrics.h"
#include "serving/model_manager.h"
#include "serving/rest/rest_handler.h"

namespace dnoscope::emulation {

struct ModelServerOptions {
  // HTTP I/O threads (models run on their own instance threads).
  int io_threads = 1;
  // How long Stop waits for requests already received; 0 drops them at
  // once, as a killed server would.
  std::chrono::seconds drain_timeout{5};
  // Rescan the repository this often while serving (0: never; tests call
  // PollOnce instead). Times the manager's polling thread on `clock`.
  Clock::Duration repository_poll{0};
  // The clock of the schedulers and the polling; not owned; null: the real one.
  Clock* clock = nullptr;
  // Also serve KServe v2 gRPC on another port of 127.0.0.1 (grpc_endpoint()).
  bool grpc = false;
};

class ModelServer {
 public:
  // Loads every model of `repository` and starts serving. Errors: the
  // manager's (NotFound for a missing repository), the load error of the
  // first model or version that is not READY, the HTTP server's start error.
  static absl::StatusOr<std::unique_ptr<ModelServer>> Start(const std::string& repository,
                                                            const ModelServerOptions& options = {});
  // Stop().
  ~ModelServer();
  ModelServer(const ModelServer&) = delete;
  ModelServer& operator=(const ModelServer&) = delete;

  // 127.0.0.1 and the bound port; still the same after Stop (then nothing
  // listens there).
  client::Endpoint endpoint() const { return {"127.0.0.1", port_}; }
  // The gRPC front end's 127.0.0.1 and port; port 0 unless options.grpc.
  client::Endpoint grpc_endpoint() const { return {"127.0.0.1", grpc_port_}; }
  // The served models, e.g. for their metadata. Valid for the server's life.
  const serving::ModelManager& models() const { return *manager_; }
  // The counters of `model` summed over its versions (what GET /metrics
  // shows); all zero for a model this server does not have.
  serving::ModelStats::Snapshot Counters(const std::string& model) const;
  // The inference service every front end calls (repository and statistics
  // extensions included).
  serving::InferenceService& service() const { return *service_; }
  // Rescans the repository now (see ModelManager::PollOnce).
  absl::Status PollOnce() { return manager_->PollOnce(); }
  // Stops the HTTP and gRPC servers (draining as the options say), then the models.
  // Idempotent; concurrent callers wait for the first.
  void Stop();

 private:
  ModelServer() = default;

  // Mutable: Counters looks stats up, which creates them on first use.
  mutable serving::MetricsRegistry metrics_;
  std::unique_ptr<serving::ModelManager> manager_;
  std::unique_ptr<serving::InferenceService> service_;
  std::unique_ptr<serving::rest::RestHandler> handler_;
  std::unique_ptr<serving::http::HttpServer> http_;
  std::unique_ptr<serving::grpc::GrpcServer> grpc_;
  int port_ = 0;
  int grpc_port_ = 0;
  std::once_flag stop_once_;
};

}  // namespace dnoscope::emulation
