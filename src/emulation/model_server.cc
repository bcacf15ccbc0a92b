#include "emulation/model_server.h"

#include <utility>

#include "common/status_macros.h"

namespace dnoscope::emulation {
namespace {

// OK when every version of every model loaded.
absl::Status CheckReady(const serving::ModelManager& manager) {
  for (const auto& model : manager.models()) {
    if (!model->status.ok()) return model->status;
    for (const auto& v : model->versions) {
      if (!v->status.ok()) return v->status;
    }
    DNS_RETURN_IF_ERROR(model->Resolve(-1).status());
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::unique_ptr<ModelServer>> ModelServer::Start(const std::string& repository,
                                                                const ModelServerOptions& options) {
  std::unique_ptr<ModelServer> s(new ModelServer());
  DNS_ASSIGN_OR_RETURN(
      s->manager_,
      serving::ModelManager::Create(repository, {}, &s->metrics_,
                                    options.clock != nullptr ? options.clock : Clock::Real()));
  DNS_RETURN_IF_ERROR(CheckReady(*s->manager_));
  if (options.repository_poll > Clock::Duration::zero()) {
    DNS_RETURN_IF_ERROR(s->manager_->StartPolling(options.repository_poll));
  }
  DNS_ASSIGN_OR_RETURN(s->service_, serving::InferenceService::Create({}, s->manager_.get()));
  s->handler_ = std::make_unique<serving::rest::RestHandler>(s->service_.get());
  serving::http::HttpServerOptions http;
  http.host = "127.0.0.1";
  http.port = 0;
  http.io_threads = options.io_threads;
  http.drain_timeout = options.drain_timeout;
  const serving::rest::RestHandler* handler = s->handler_.get();
  DNS_ASSIGN_OR_RETURN(
      s->http_, serving::http::HttpServer::Start(
                    http, [handler](serving::http::HttpRequest request,
                                    serving::http::Responder respond) {
                      handler->Handle(std::move(request), std::move(respond));
                    }));
  s->port_ = s->http_->port();
  if (options.grpc) {
    serving::grpc::GrpcServerOptions grpc;
    grpc.host = "127.0.0.1";
    grpc.port = 0;
    grpc.drain_timeout = options.drain_timeout;
    DNS_ASSIGN_OR_RETURN(s->grpc_, serving::grpc::GrpcServer::Start(grpc, s->service_.get()));
    s->grpc_port_ = s->grpc_->port();
  }
  return s;
}

ModelServer::~ModelServer() { Stop(); }

void ModelServer::Stop() {
  std::call_once(stop_once_, [this] {
    if (http_) http_->Shutdown();
    if (grpc_) grpc_->Shutdown();
    if (manager_) manager_->Shutdown();
  });
}

serving::ModelStats::Snapshot ModelServer::Counters(const std::string& model) const {
  serving::ModelStats::Snapshot sum;
  absl::StatusOr<std::shared_ptr<const serving::ServedModel>> served = manager_->Find(model);
  if (!served.ok()) return sum;
  for (const auto& v : (*served)->versions) {
    const serving::ModelStats::Snapshot s =
        metrics_.GetOrCreate(model, v->version)->snapshot();
    sum.request_success += s.request_success;
    sum.request_failure += s.request_failure;
    sum.inference_count += s.inference_count;
    sum.exec_count += s.exec_count;
    sum.pending_request_count += s.pending_request_count;
    sum.request_duration_us += s.request_duration_us;
    sum.queue_duration_us += s.queue_duration_us;
    sum.compute_infer_duration_us += s.compute_infer_duration_us;
  }
  return sum;
}

}  // namespace dnoscope::emulation
