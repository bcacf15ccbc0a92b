// Transport: one serving protocol as the retrying client (RemoteModel) sees
// it. RemoteModel decides where and when to send (balancing, retries,
// ejection, probes, patience); a Transport only knows how: it encodes an
// inference once, sends it to one of its endpoints, and reports the outputs
// or an error. Implementations: HttpTransport (KServe v2 REST binary/JSON,
// TF Serving REST); KServe v2 gRPC plugs in here without touching the retry
// logic.
//
// Errors: every failure is a Status whose code tells RemoteModel what to do
// (see IsRetryable): Unavailable (connection refused/reset, server
// overloaded or shutting down), DeadlineExceeded (the attempt's deadline
// passed), ResourceExhausted and Internal (a broken or oversized reply) may
// succeed on another endpoint or later; InvalidArgument, NotFound,
// Unimplemented, FailedPrecondition ... are request errors that no retry
// fixes; Cancelled after Shutdown.
//
// Thread-safety: every method is thread-safe. Callbacks run exactly once,
// on a thread of the transport or inline before the call returns (e.g. for
// a bad endpoint index or after Shutdown); they must not block, and callers
// must not hold a lock that the callback takes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "client/endpoint.h"
#include "common/clock.h"
#include "common/tensor.h"
#include "models/model.h"

namespace dnoscope::client {

// What to run: prepared once per request, whatever the number of attempts.
struct InferSpec {
  // Model name on the servers, and version (-1: the server's default).
  std::string model;
  int64_t version = -1;
  std::vector<Tensor> inputs;
  // Outputs to return by name; empty: the model's default outputs.
  std::vector<std::string> outputs;
};

// An inference encoded for one transport, opaque to the caller: it can be
// sent any number of times (retries), to any endpoint, by the transport
// that prepared it. Immutable, so attempts may share it.
class PreparedCall {
 public:
  virtual ~PreparedCall() = default;
  // Bytes one attempt puts on the wire (the request payload), for stats.
  virtual int64_t byte_size() const = 0;
};

class Transport {
 public:
  using InferDone = std::function<void(absl::StatusOr<std::vector<Tensor>>)>;
  using ProbeDone = std::function<void(absl::Status)>;

  virtual ~Transport() = default;

  // The servers this transport talks to; `endpoint` arguments index this
  // list. Fixed for the transport's life.
  virtual const std::vector<Endpoint>& endpoints() const = 0;

  // The protocol's name for logs and Describe(), e.g. "kserve".
  virtual std::string_view name() const = 0;

  // Encodes `spec`. InvalidArgument for tensors or options the protocol
  // cannot carry.
  virtual absl::StatusOr<std::shared_ptr<const PreparedCall>> Prepare(const InferSpec& spec) = 0;

  // Sends `call` (prepared by this transport) to endpoint `endpoint`; `done`
  // gets the outputs (names as requested, or the model's defaults) or the
  // error. The attempt fails with DeadlineExceeded once the transport's
  // clock reaches `deadline`. InvalidArgument (inline) for an index out of
  // range or a call prepared elsewhere.
  virtual void Infer(size_t endpoint, std::shared_ptr<const PreparedCall> call,
                     Clock::TimePoint deadline, InferDone done) = 0;

  // Asks endpoint `endpoint` whether it can serve `model` now; `done` gets
  // OK when it can, else why not (the server's answer or the transport
  // error).
  virtual void Probe(size_t endpoint, const std::string& model, Clock::TimePoint deadline,
                     ProbeDone done) = 0;

  // The metadata of `model` (`version` -1: the default) from endpoint
  // `endpoint`. Blocking; not from a callback of this transport. Errors as
  // Infer (NotFound for an unknown model).
  virtual absl::StatusOr<models::ModelMetadata> FetchMetadata(size_t endpoint,
                                                              const std::string& model,
                                                              int64_t version,
                                                              Clock::TimePoint deadline) = 0;

  // Completes every outstanding call with Cancelled, and every later one
  // inline with Cancelled; joins the transport's threads. Idempotent; not
  // from a callback.
  virtual void Shutdown() = 0;
};

// Whether a failed attempt may succeed on another endpoint or later:
// Unavailable, DeadlineExceeded, ResourceExhausted and Internal. Request
// errors (InvalidArgument, NotFound, ...) and Cancelled are not.
bool IsRetryable(const absl::Status& status);

// OK for a non-empty list of valid (host, port 1..65535), distinct endpoints;
// InvalidArgument naming the first bad one. Transports check their list with it.
absl::Status CheckEndpoints(const std::vector<Endpoint>& endpoints);

// The InvalidArgument a transport answers for an endpoint index >= `size`.
absl::Status BadIndex(size_t endpoint, size_t size);

// "a:1,b:2", for logs.
std::string EndpointListString(const std::vector<Endpoint>& endpoints);

}  // namespace dnoscope::client
