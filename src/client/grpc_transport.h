// GrpcTransport: the Transport for KServe v2 over gRPC
// (inference.GRPCInferenceService, src/protocol/grpc/inference.proto), the
// protocol Triton serves on port 8001. Tensors travel as raw_input_contents /
// raw_output_contents. One HTTP/2 channel per endpoint multiplexes every call
// to it; calls use gRPC's callback API, so no thread waits on a reply.
// Readiness probes ask ModelReady for the model; gRPC statuses become Status
// codes unchanged (protocol::FromGrpcStatus), so RemoteModel's retry rules
// read them as it reads HTTP errors (UNAVAILABLE retries, NOT_FOUND does not).
//
// Deadlines are times of the injected Clock: a DeadlineTimer cancels a call
// whose deadline passes (DeadlineExceeded), so a FakeClock drives them. With
// the real clock the deadline is also sent to the server as the gRPC deadline.
//
// Thread-safety: as Transport. Callbacks run on gRPC's threads or the
// deadline timer's.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "client/deadline_timer.h"
#include "client/endpoint.h"
#include "client/transport.h"
#include "common/clock.h"
#include "common/mutex.h"

namespace grpc {
class ClientContext;
class Status;
}  // namespace grpc

namespace dnoscope::client {

struct GrpcTransportOptions {
  // Largest reply message accepted (and request sent); gRPC's default is 4 MiB.
  size_t max_message_bytes = 64 << 20;
};

class GrpcTransport final : public Transport {
 public:
  // Creates one channel per endpoint (connected lazily). `clock` is not owned
  // and must outlive the transport. InvalidArgument for an empty, invalid or
  // duplicated endpoint list.
  static absl::StatusOr<std::unique_ptr<GrpcTransport>> Create(
      std::vector<Endpoint> endpoints, const GrpcTransportOptions& options = {},
      Clock* clock = Clock::Real());
  ~GrpcTransport() override;

  const std::vector<Endpoint>& endpoints() const override { return endpoints_; }
  std::string_view name() const override { return "kserve-grpc"; }
  absl::StatusOr<std::shared_ptr<const PreparedCall>> Prepare(const InferSpec& spec) override;
  void Infer(size_t endpoint, std::shared_ptr<const PreparedCall> call,
             Clock::TimePoint deadline, InferDone done) override;
  void Probe(size_t endpoint, const std::string& model, Clock::TimePoint deadline,
             ProbeDone done) override;
  absl::StatusOr<models::ModelMetadata> FetchMetadata(size_t endpoint, const std::string& model,
                                                      int64_t version,
                                                      Clock::TimePoint deadline) override;
  void Shutdown() override;

 private:
  class Channels;
  struct Call;
  // Issues the RPC on `context` and calls `on_done` with gRPC's status.
  using StartFn =
      std::function<void(::grpc::ClientContext* context, std::function<void(::grpc::Status)> on_done)>;

  GrpcTransport(std::vector<Endpoint> endpoints, std::unique_ptr<Channels> channels,
                Clock* clock);

  // Runs one asynchronous RPC under `deadline`: `finish` gets its status
  // (DeadlineExceeded when the clock reached the deadline first, Cancelled
  // after Shutdown) exactly once, before Shutdown can return.
  void Launch(Clock::TimePoint deadline, const StartFn& start,
              std::function<void(absl::Status)> finish);
  // Shutdown has begun.
  bool IsShutDown() const;
  // Unregisters a call whose `finish` returned.
  void Forget(const std::shared_ptr<Call>& call);

  const std::vector<Endpoint> endpoints_;
  std::unique_ptr<Channels> channels_;
  Clock* const clock_;
  DeadlineTimer timer_;

  mutable Mutex mu_;
  CondVar idle_;
  bool shut_down_ ABSL_GUARDED_BY(mu_) = false;
  std::set<std::shared_ptr<Call>> calls_ ABSL_GUARDED_BY(mu_);
};

}  // namespace dnoscope::client
