// GrpcServer: the KServe v2 gRPC front end (inference.GRPCInferenceService,
// src/protocol/grpc/inference.proto) of the model server, the gRPC twin of
// the REST handler: every RPC decodes its message, calls the same
// InferenceService (model resolution, tensor checks, deadlines, batching,
// metrics live there) and encodes the answer. Service errors become gRPC
// statuses with the same canonical code (protocol::ToGrpcStatus), as Triton
// maps them: unknown model -> NOT_FOUND, bad tensors -> INVALID_ARGUMENT,
// queue full or shutting down -> UNAVAILABLE, deadline -> DEADLINE_EXCEEDED.
//
// RPCs use gRPC's callback API: ModelInfer hands its request to the service
// and returns; the response is finished from the service's done callback, so
// no gRPC thread waits while a model runs. A call the client cancels (or
// whose gRPC deadline passes, or that is still queued when Shutdown's drain
// time is over) is answered CANCELLED at once. A request's deadline is the
// shorter of its "timeout" parameter (microseconds) and the client's gRPC
// deadline. Compressed requests (gzip, deflate) are accepted.
//
// Thread-safety: Start/port/Shutdown are thread-safe; RPCs run concurrently
// on gRPC's threads.
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "serving/inference_service.h"

namespace dnoscope::serving::grpc {

struct GrpcServerOptions {
  // Address to bind: an IP literal (IPv4 or IPv6) or "localhost".
  std::string host = "127.0.0.1";
  // TCP port; 0 picks a free port (see GrpcServer::port()). Triton's is 8001.
  int port = 8001;
  // Largest accepted request message (after decompression) and largest
  // response; gRPC answers RESOURCE_EXHAUSTED above it.
  size_t max_message_bytes = 64 << 20;
  // Shutdown lets in-flight RPCs finish for at most this long, then cancels them.
  std::chrono::seconds drain_timeout{30};
};

class GrpcServer {
 public:
  // Binds options.host:options.port and serves `service` (not owned; must
  // outlive the server). InvalidArgument for a bad host or port, Unavailable
  // when the address cannot be bound (the message names host:port).
  static absl::StatusOr<std::unique_ptr<GrpcServer>> Start(const GrpcServerOptions& options,
                                                           InferenceService* service);
  // Calls Shutdown().
  ~GrpcServer();
  GrpcServer(const GrpcServer&) = delete;
  GrpcServer& operator=(const GrpcServer&) = delete;

  // The bound port (the chosen one when options.port was 0).
  int port() const;

  // Stops accepting RPCs, lets in-flight ones finish within drain_timeout,
  // cancels the rest and waits for their callbacks. Idempotent; concurrent
  // callers wait for the first.
  void Shutdown();

 private:
  class Impl;
  explicit GrpcServer(std::unique_ptr<Impl> impl);

  std::unique_ptr<Impl> impl_;
};

}  // namespace dnoscope::serving::grpc
