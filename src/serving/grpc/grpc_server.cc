#include "serving/grpc/grpc_server.h"

#include <arpa/inet.h>

#include <algorithm>
#include <mutex>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "common/mutex.h"
#include "common/status_macros.h"
#include "fmt/format.h"
#include "grpcpp/grpcpp.h"
#include "protocol/grpc/inference.grpc.pb.h"
#include "protocol/grpc/kserve_grpc.h"
#include "serving/grpc/grpc_messages.h"
#include "spdlog/spdlog.h"

namespace dnoscope::serving::grpc {
namespace {

using ::grpc::CallbackServerContext;
using ::grpc::ServerUnaryReactor;

// Finishes `context`'s RPC with `status` (OK: the filled response).
ServerUnaryReactor* Answer(CallbackServerContext* context, const absl::Status& status) {
  ServerUnaryReactor* reactor = context->DefaultReactor();
  reactor->Finish(protocol::ToGrpcStatus(status));
  return reactor;
}

// "ipv4:port"-style listening address for gRPC, or InvalidArgument.
absl::StatusOr<std::string> ListenAddress(const GrpcServerOptions& options) {
  if (options.port < 0 || options.port > 65535) {
    return absl::InvalidArgumentError(fmt::format("grpc: bad port {}", options.port));
  }
  std::string host = options.host == "localhost" ? "127.0.0.1" : options.host;
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  unsigned char buf[16];
  if (inet_pton(AF_INET, host.c_str(), buf) == 1) return fmt::format("{}:{}", host, options.port);
  if (inet_pton(AF_INET6, host.c_str(), buf) == 1) {
    return fmt::format("[{}]:{}", host, options.port);
  }
  return absl::InvalidArgumentError(fmt::format(
      "grpc: bad host '{}': expected an IP address or 'localhost'", options.host));
}

// The request's deadline for the service: its timeout parameter, shortened
// to what is left of the client's gRPC deadline.
absl::StatusOr<std::chrono::microseconds> Timeout(const CallbackServerContext& context,
                                                  const inference::ModelInferRequest& request) {
  DNS_ASSIGN_OR_RETURN(std::chrono::microseconds timeout, RequestTimeout(request));
  const auto deadline = context.deadline();
  if (deadline == std::chrono::system_clock::time_point::max()) return timeout;
  const auto left = std::max(std::chrono::microseconds(1),
                             std::chrono::duration_cast<std::chrono::microseconds>(
                                 deadline - std::chrono::system_clock::now()));
  return timeout.count() == 0 ? left : std::min(timeout, left);
}

class Service final : public inference::GRPCInferenceService::CallbackService {
 public:
  explicit Service(InferenceService* service) : service_(service) {}

  ServerUnaryReactor* ServerLive(CallbackServerContext* context,
                                 const inference::ServerLiveRequest*,
                                 inference::ServerLiveResponse* response) override {
    response->set_live(service_->live());
    return Answer(context, absl::OkStatus());
  }

  ServerUnaryReactor* ServerReady(CallbackServerContext* context,
                                  const inference::ServerReadyRequest*,
                                  inference::ServerReadyResponse* response) override {
    response->set_ready(service_->ready());
    return Answer(context, absl::OkStatus());
  }

  // Errors as REST's: NOT_FOUND for an unknown model; a known model that is
  // not READY answers ready=false.
  ServerUnaryReactor* ModelReady(CallbackServerContext* context,
                                 const inference::ModelReadyRequest* request,
                                 inference::ModelReadyResponse* response) override {
    absl::StatusOr<int64_t> version = ParseVersion(request->version());
    if (!version.ok()) return Answer(context, version.status());
    const absl::Status ready = service_->ModelReady(request->name(), *version);
    if (absl::IsNotFound(ready)) return Answer(context, ready);
    response->set_ready(ready.ok());
    return Answer(context, absl::OkStatus());
  }

  ServerUnaryReactor* ServerMetadata(CallbackServerContext* context,
                                     const inference::ServerMetadataRequest*,
                                     inference::ServerMetadataResponse* response) override {
    const ServerInfo info = service_->server_info();
    response->set_name(info.name);
    response->set_version(info.version);
    for (const char* e : {"model_configuration", "parameters", "statistics", "model_repository"}) {
      response->add_extensions(e);
    }
    return Answer(context, absl::OkStatus());
  }

  ServerUnaryReactor* ModelMetadata(CallbackServerContext* context,
                                    const inference::ModelMetadataRequest* request,
                                    inference::ModelMetadataResponse* response) override {
    absl::StatusOr<int64_t> version = ParseVersion(request->version());
    if (!version.ok()) return Answer(context, version.status());
    absl::StatusOr<ModelDescription> d = service_->DescribeModel(request->name(), *version);
    if (!d.ok()) return Answer(context, d.status());
    ToProto(*d, response);
    return Answer(context, absl::OkStatus());
  }

  ServerUnaryReactor* ModelConfig(CallbackServerContext* context,
                                  const inference::ModelConfigRequest* request,
                                  inference::ModelConfigResponse* response) override {
    absl::StatusOr<int64_t> version = ParseVersion(request->version());
    if (!version.ok()) return Answer(context, version.status());
    absl::StatusOr<models::ModelConfig> config = service_->GetModelConfig(request->name());
    if (!config.ok()) return Answer(context, config.status());
    absl::StatusOr<ModelDescription> d = service_->DescribeModel(request->name(), *version);
    if (!d.ok()) return Answer(context, d.status());
    ToProto(*config, *d, response->mutable_config());
    return Answer(context, absl::OkStatus());
  }

  ServerUnaryReactor* ModelInfer(CallbackServerContext* context,
                                 const inference::ModelInferRequest* request,
                                 inference::ModelInferResponse* response) override;

  ServerUnaryReactor* ModelStatistics(CallbackServerContext* context,
                                      const inference::ModelStatisticsRequest* request,
                                      inference::ModelStatisticsResponse* response) override {
    absl::StatusOr<int64_t> version = ParseVersion(request->version());
    if (!version.ok()) return Answer(context, version.status());
    absl::StatusOr<std::vector<VersionStatistics>> stats =
        service_->Statistics(request->name(), *version);
    if (!stats.ok()) return Answer(context, stats.status());
    for (const VersionStatistics& s : *stats) ToProto(s, response->add_model_stats());
    return Answer(context, absl::OkStatus());
  }

  ServerUnaryReactor* RepositoryIndex(CallbackServerContext* context,
                                      const inference::RepositoryIndexRequest* request,
                                      inference::RepositoryIndexResponse* response) override {
    if (absl::Status s = CheckRepository(request->repository_name()); !s.ok()) {
      return Answer(context, s);
    }
    absl::StatusOr<std::vector<RepositoryModel>> index =
        service_->RepositoryIndex(request->ready());
    if (!index.ok()) return Answer(context, index.status());
    for (const RepositoryModel& m : *index) {
      inference::RepositoryIndexResponse::ModelIndex* row = response->add_models();
      row->set_name(m.name);
      row->set_version(m.version);
      row->set_state(m.state);
      row->set_reason(m.reason);
    }
    return Answer(context, absl::OkStatus());
  }

  ServerUnaryReactor* RepositoryModelLoad(CallbackServerContext* context,
                                          const inference::RepositoryModelLoadRequest* request,
                                          inference::RepositoryModelLoadResponse*) override {
    absl::Status s = CheckRepository(request->repository_name());
    if (s.ok()) s = service_->LoadModel(request->model_name());
    return Answer(context, s);
  }

  ServerUnaryReactor* RepositoryModelUnload(CallbackServerContext* context,
                                            const inference::RepositoryModelUnloadRequest* request,
                                            inference::RepositoryModelUnloadResponse*) override {
    absl::Status s = CheckRepository(request->repository_name());
    if (s.ok()) s = service_->UnloadModel(request->model_name());
    return Answer(context, s);
  }

 private:
  // The server has one repository: "" names it; anything else is unknown.
  static absl::Status CheckRepository(const std::string& name) {
    if (name.empty()) return absl::OkStatus();
    return absl::NotFoundError(fmt::format(
        "unknown repository '{}': this server has one repository, named by ''", name));
  }

  InferenceService* const service_;
};

// The reactor of one ModelInfer. It finishes once: with the service's answer,
// or with CANCELLED as soon as the client cancels, its deadline passes or
// Shutdown's drain time is over, so that a request still queued in the
// service does not hold gRPC (or the server's shutdown) until it runs. The
// service's later answer is then dropped: it holds only the shared Outcome.
class InferReactor final : public ServerUnaryReactor {
 public:
  // What the service's done callback shares with the reactor.
  struct Outcome {
    Mutex mu;
    // Set by whichever of the answer and the cancellation comes first.
    bool finished ABSL_GUARDED_BY(mu) = false;
  };

  InferReactor(const inference::ModelInferRequest* request,
               inference::ModelInferResponse* response)
      : request_(request), response_(response), outcome_(std::make_shared<Outcome>()) {}

  // Finishes with `status` unless already finished.
  void FinishWith(const absl::Status& status) {
    if (Claim(*outcome_)) Finish(protocol::ToGrpcStatus(status));
  }

  // The service's done callback; valid after the reactor is gone.
  InferenceDone Done() {
    return [this, outcome = outcome_](absl::StatusOr<InferenceResponse> result) {
      // Once claimed, the reactor (and request/response) live until Finish.
      if (!Claim(*outcome)) return;
      if (!result.ok()) return Finish(protocol::ToGrpcStatus(result.status()));
      response_->set_model_name(result->model);
      response_->set_model_version(std::to_string(result->version));
      response_->set_id(request_->id());
      const absl::Status encoded = protocol::EncodeInferOutputs(result->outputs, response_);
      Finish(protocol::ToGrpcStatus(encoded.ok() ? encoded
                                                 : absl::InternalError(encoded.message())));
    };
  }

  void OnCancel() override {
    FinishWith(absl::CancelledError("the call was cancelled or its deadline passed"));
  }
  void OnDone() override { delete this; }

 private:
  static bool Claim(Outcome& outcome) {
    MutexLock lock(&outcome.mu);
    if (outcome.finished) return false;
    outcome.finished = true;
    return true;
  }

  const inference::ModelInferRequest* const request_;
  inference::ModelInferResponse* const response_;
  const std::shared_ptr<Outcome> outcome_;
};

ServerUnaryReactor* Service::ModelInfer(CallbackServerContext* context,
                                        const inference::ModelInferRequest* request,
                                        inference::ModelInferResponse* response) {
  auto* reactor = new InferReactor(request, response);
  absl::StatusOr<int64_t> version = ParseVersion(request->model_version());
  if (!version.ok()) {
    reactor->FinishWith(version.status());
    return reactor;
  }
  absl::StatusOr<ModelHandle> model = service_->Resolve(request->model_name(), *version);
  if (!model.ok()) {
    reactor->FinishWith(model.status());
    return reactor;
  }
  absl::StatusOr<std::chrono::microseconds> timeout = Timeout(*context, *request);
  absl::StatusOr<std::vector<Tensor>> inputs =
      timeout.ok() ? protocol::DecodeInferInputs(*request) : timeout.status();
  if (!inputs.ok()) {
    reactor->FinishWith(service_->Reject(*model, inputs.status()));
    return reactor;
  }
  InferenceRequest native{.inputs = *std::move(inputs), .timeout = *timeout};
  for (const auto& o : request->outputs()) native.requested_outputs.push_back(o.name());
  service_->Infer(*model, std::move(native), reactor->Done());
  return reactor;
}

}  // namespace

class GrpcServer::Impl {
 public:
  Impl(const GrpcServerOptions& options, InferenceService* service)
      : options_(options), service_(service) {}

  absl::Status Start() {
    DNS_ASSIGN_OR_RETURN(const std::string address, ListenAddress(options_));
    ::grpc::ServerBuilder builder;
    builder.AddListeningPort(address, ::grpc::InsecureServerCredentials(), &port_);
    builder.RegisterService(&service_);
    const int max = static_cast<int>(std::min<size_t>(options_.max_message_bytes, INT32_MAX));
    builder.SetMaxReceiveMessageSize(max);
    builder.SetMaxSendMessageSize(max);
    // gRPC shares ports by default (SO_REUSEPORT): a second server on a busy
    // port would silently split the traffic instead of failing to start.
    builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
    server_ = builder.BuildAndStart();
    if (server_ == nullptr || port_ == 0) {
      server_.reset();
      return absl::UnavailableError(
          fmt::format("grpc: cannot listen on {}:{} (address in use or not local?)", options_.host,
                      options_.port));
    }
    return absl::OkStatus();
  }

  int port() const { return port_; }

  void Shutdown() {
    std::call_once(shutdown_once_, [this] {
      if (server_ == nullptr) return;
      server_->Shutdown(std::chrono::system_clock::now() + options_.drain_timeout);
      server_->Wait();
    });
  }

 private:
  const GrpcServerOptions options_;
  Service service_;
  int port_ = 0;
  std::unique_ptr<::grpc::Server> server_;
  std::once_flag shutdown_once_;
};

absl::StatusOr<std::unique_ptr<GrpcServer>> GrpcServer::Start(const GrpcServerOptions& options,
                                                              InferenceService* service) {
  if (service == nullptr) return absl::InvalidArgumentError("grpc: the service is null");
  auto impl = std::make_unique<Impl>(options, service);
  DNS_RETURN_IF_ERROR(impl->Start());
  return std::unique_ptr<GrpcServer>(new GrpcServer(std::move(impl)));
}

GrpcServer::GrpcServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

GrpcServer::~GrpcServer() { Shutdown(); }

int GrpcServer::port() const { return impl_->port(); }

void GrpcServer::Shutdown() { impl_->Shutdown(); }

}  // namespace dnoscope::serving::grpc
