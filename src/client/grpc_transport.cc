#include "client/grpc_transport.h"

#include <algorithm>
#include <atomic>
#include <utility>

#include "absl/status/status.h"
#include "common/status_macros.h"
#include "fmt/format.h"
#include "grpcpp/grpcpp.h"
#include "protocol/grpc/inference.grpc.pb.h"
#include "protocol/grpc/kserve_grpc.h"

namespace dnoscope::client {
namespace {

using Stub = inference::GRPCInferenceService::Stub;

// An encoded inference: the request message, shared by every attempt.
class GrpcPreparedCall final : public PreparedCall {
 public:
  explicit GrpcPreparedCall(inference::ModelInferRequest request)
      : request_(std::move(request)), byte_size_(static_cast<int64_t>(request_.ByteSizeLong())) {}
  int64_t byte_size() const override { return byte_size_; }
  const inference::ModelInferRequest& request() const { return request_; }

 private:
  const inference::ModelInferRequest request_;
  const int64_t byte_size_;
};

// A reply the codecs reject is a broken server, not a bad request.
absl::Status BrokenReply(const absl::Status& s) {
  return absl::InternalError(fmt::format("malformed gRPC response: {}", std::string(s.message())));
}

absl::StatusOr<std::vector<models::TensorSpec>> ToSpecs(
    const google::protobuf::RepeatedPtrField<inference::ModelMetadataResponse::TensorMetadata>&
        list) {
  std::vector<models::TensorSpec> specs;
  for (const auto& t : list) {
    absl::StatusOr<DataType> dtype = DataTypeFromName(t.datatype());
    if (!dtype.ok()) return BrokenReply(dtype.status());
    specs.push_back({.name = t.name(), .dtype = *dtype, .shape = {t.shape().begin(), t.shape().end()}});
  }
  return specs;
}

}  // namespace

// One channel and stub per endpoint.
class GrpcTransport::Channels {
 public:
  Channels(const std::vector<Endpoint>& endpoints, const GrpcTransportOptions& options) {
    ::grpc::ChannelArguments args;
    const int max = static_cast<int>(std::min<size_t>(options.max_message_bytes, INT32_MAX));
    args.SetMaxReceiveMessageSize(max);
    args.SetMaxSendMessageSize(max);
    for (const Endpoint& e : endpoints) {
      stubs_.push_back(inference::GRPCInferenceService::NewStub(
          ::grpc::CreateCustomChannel(e.ToString(), ::grpc::InsecureChannelCredentials(), args)));
    }
  }
  Stub* stub(size_t endpoint) const { return stubs_[endpoint].get(); }

 private:
  std::vector<std::unique_ptr<Stub>> stubs_;
};

struct GrpcTransport::Call {
  ::grpc::ClientContext context;
  std::atomic<bool> timed_out{false};
  DeadlineTimer::Handle timer;
  std::function<void(absl::Status)> finish;
};

absl::StatusOr<std::unique_ptr<GrpcTransport>> GrpcTransport::Create(
    std::vector<Endpoint> endpoints, const GrpcTransportOptions& options, Clock* clock) {
  DNS_RETURN_IF_ERROR(CheckEndpoints(endpoints));
  if (clock == nullptr) return absl::InvalidArgumentError("GrpcTransport: the clock is null");
  auto channels = std::make_unique<Channels>(endpoints, options);
  return std::unique_ptr<GrpcTransport>(
      new GrpcTransport(std::move(endpoints), std::move(channels), clock));
}

GrpcTransport::GrpcTransport(std::vector<Endpoint> endpoints, std::unique_ptr<Channels> channels,
                             Clock* clock)
    : endpoints_(std::move(endpoints)),
      channels_(std::move(channels)),
      clock_(clock),
      timer_(clock) {}

GrpcTransport::~GrpcTransport() { Shutdown(); }

absl::StatusOr<std::shared_ptr<const PreparedCall>> GrpcTransport::Prepare(
    const InferSpec& spec) {
  inference::ModelInferRequest request;
  request.set_model_name(spec.model);
  if (spec.version >= 0) request.set_model_version(std::to_string(spec.version));
  DNS_RETURN_IF_ERROR(protocol::EncodeInferInputs(spec.inputs, &request));
  for (const std::string& o : spec.outputs) request.add_outputs()->set_name(o);
  return std::make_shared<const GrpcPreparedCall>(std::move(request));
}

void GrpcTransport::Launch(Clock::TimePoint deadline, const StartFn& start,
                           std::function<void(absl::Status)> finish) {
  auto call = std::make_shared<Call>();
  call->finish = std::move(finish);
  if (clock_ == Clock::Real()) {
    // Tells the server the deadline too (it shortens the request's queueing).
    call->context.set_deadline(std::chrono::system_clock::now() + (deadline - clock_->Now()));
  }
  bool accepted = false;
  {
    MutexLock lock(&mu_);
    if (!shut_down_) accepted = calls_.insert(call).second;
  }
  if (!accepted) {
    return call->finish(absl::CancelledError("the gRPC transport is shut down"));
  }
  call->timer = timer_.Schedule(deadline, [weak = std::weak_ptr<Call>(call)] {
    if (std::shared_ptr<Call> c = weak.lock()) {
      c->timed_out = true;
      c->context.TryCancel();
    }
  });
  start(&call->context, [this, call](::grpc::Status status) {
    timer_.Cancel(call->timer);
    absl::Status result = protocol::FromGrpcStatus(status);
    if (!result.ok() && call->timed_out) {
      result = absl::DeadlineExceededError("the gRPC call's deadline passed");
    } else if (status.error_code() == ::grpc::StatusCode::DEADLINE_EXCEEDED) {
      result = absl::DeadlineExceededError(fmt::format("gRPC: {}", status.error_message()));
    } else if (status.error_code() == ::grpc::StatusCode::CANCELLED && !IsShutDown()) {
      // Neither this call's deadline nor Shutdown cancelled it: the server
      // did (it is shutting down) or the connection went away. Retryable,
      // unlike a Cancelled the client asked for.
      result = absl::UnavailableError(
          fmt::format("gRPC call cancelled by the server: {}", status.error_message()));
    }
    call->finish(std::move(result));
    Forget(call);
  });
}

bool GrpcTransport::IsShutDown() const {
  MutexLock lock(&mu_);
  return shut_down_;
}

void GrpcTransport::Forget(const std::shared_ptr<Call>& call) {
  MutexLock lock(&mu_);
  calls_.erase(call);
  if (calls_.empty()) idle_.SignalAll();
}

void GrpcTransport::Infer(size_t endpoint, std::shared_ptr<const PreparedCall> call,
                          Clock::TimePoint deadline, InferDone done) {
  if (endpoint >= endpoints_.size()) return done(BadIndex(endpoint, endpoints_.size()));
  auto prepared = std::dynamic_pointer_cast<const GrpcPreparedCall>(call);
  if (prepared == nullptr) {
    return done(absl::InvalidArgumentError("the call was prepared by another transport"));
  }
  auto response = std::make_shared<inference::ModelInferResponse>();
  Stub* stub = channels_->stub(endpoint);
  Launch(
      deadline,
      [stub, prepared, response](::grpc::ClientContext* context,
                                 std::function<void(::grpc::Status)> on_done) {
        stub->async()->ModelInfer(context, &prepared->request(), response.get(),
                                  std::move(on_done));
      },
      [prepared, response, done = std::move(done)](absl::Status status) {
        if (!status.ok()) return done(status);
        absl::StatusOr<std::vector<Tensor>> outputs = protocol::DecodeInferOutputs(*response);
        if (!outputs.ok()) return done(BrokenReply(outputs.status()));
        done(*std::move(outputs));
      });
}

void GrpcTransport::Probe(size_t endpoint, const std::string& model, Clock::TimePoint deadline,
                          ProbeDone done) {
  if (endpoint >= endpoints_.size()) return done(BadIndex(endpoint, endpoints_.size()));
  auto request = std::make_shared<inference::ModelReadyRequest>();
  request->set_name(model);
  auto response = std::make_shared<inference::ModelReadyResponse>();
  Stub* stub = channels_->stub(endpoint);
  Launch(
      deadline,
      [stub, request, response](::grpc::ClientContext* context,
                                std::function<void(::grpc::Status)> on_done) {
        stub->async()->ModelReady(context, request.get(), response.get(), std::move(on_done));
      },
      [model, response, done = std::move(done)](absl::Status status) {
        if (!status.ok()) return done(status);
        done(response->ready()
                 ? absl::OkStatus()
                 : absl::UnavailableError(fmt::format("model '{}' is not ready", model)));
      });
}

absl::StatusOr<models::ModelMetadata> GrpcTransport::FetchMetadata(size_t endpoint,
                                                                   const std::string& model,
                                                                   int64_t version,
                                                                   Clock::TimePoint deadline) {
  if (endpoint >= endpoints_.size()) return BadIndex(endpoint, endpoints_.size());
  {
    MutexLock lock(&mu_);
    if (shut_down_) return absl::CancelledError("the gRPC transport is shut down");
  }
  inference::ModelMetadataRequest request;
  request.set_name(model);
  if (version >= 0) request.set_version(std::to_string(version));
  inference::ModelMetadataResponse response;
  ::grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() +
                       std::max(Clock::Duration(0), deadline - clock_->Now()));
  DNS_RETURN_IF_ERROR(protocol::FromGrpcStatus(
      channels_->stub(endpoint)->ModelMetadata(&context, request, &response)));
  models::ModelMetadata metadata;
  metadata.platform = response.platform();
  DNS_ASSIGN_OR_RETURN(metadata.inputs, ToSpecs(response.inputs()));
  DNS_ASSIGN_OR_RETURN(metadata.outputs, ToSpecs(response.outputs()));
  metadata.class_names.assign(response.class_names().begin(), response.class_names().end());
  return metadata;
}

void GrpcTransport::Shutdown() {
  std::set<std::shared_ptr<Call>> calls;
  {
    MutexLock lock(&mu_);
    shut_down_ = true;
    calls = calls_;
  }
  for (const std::shared_ptr<Call>& c : calls) c->context.TryCancel();
  calls.clear();
  {
    MutexLock lock(&mu_);
    while (!calls_.empty()) idle_.Wait(&mu_);
  }
  timer_.Stop();
}

}  // namespace dnoscope::client
