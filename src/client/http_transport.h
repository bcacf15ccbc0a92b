// HttpTransport: the Transport for the REST serving protocols, over one
// HttpClient (keep-alive connection pools, deadlines on the injected Clock)
// and the codecs of wire.h:
//  - kserve:      KServe v2 with the binary tensor extension;
//  - kserve-json: KServe v2, tensors as JSON;
//  - tfserving:   TF Serving REST, columnar.
// HTTP status codes become Status codes here (wire.h: StatusFromHttp), so
// RemoteModel sees no HTTP. Readiness probes ask /v2/health/ready (KServe)
// or the model's status (TF Serving, which has no server-level check).
//
// TF Serving's JSON does not say which datatype an output has; the
// transport remembers the output declarations of every model whose
// metadata it fetched and decodes that model's replies with them (without
// them, numbers decode as the JSON suggests).
//
// Thread-safety: as Transport. Callbacks run on the HttpClient's I/O threads.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "client/endpoint.h"
#include "client/http_client.h"
#include "client/transport.h"
#include "client/wire.h"
#include "common/clock.h"
#include "common/mutex.h"

namespace dnoscope::client {

struct HttpTransportOptions {
  // Which REST protocol the servers speak.
  WireFormat format = WireFormat::kKserveBinary;
  // Connections, I/O threads, connect timeout, response size limit.
  HttpClientOptions http;
};

class HttpTransport final : public Transport {
 public:
  // Starts the HttpClient. `clock` is not owned and must outlive the
  // transport; deadlines are times of it. InvalidArgument for an empty or
  // invalid endpoint list, bad HttpClient options or the kserve-grpc format. Does not contact the
  // servers.
  static absl::StatusOr<std::unique_ptr<HttpTransport>> Create(
      std::vector<Endpoint> endpoints, const HttpTransportOptions& options,
      Clock* clock = Clock::Real());
  ~HttpTransport() override;

  const std::vector<Endpoint>& endpoints() const override { return endpoints_; }
  std::string_view name() const override { return WireFormatName(options_.format); }
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
  HttpTransport(std::vector<Endpoint> endpoints, const HttpTransportOptions& options,
                std::unique_ptr<HttpClient> http);

  const std::vector<Endpoint> endpoints_;
  const HttpTransportOptions options_;
  std::unique_ptr<HttpClient> http_;

  Mutex mu_;
  // TF Serving only: declared outputs by (model, version), from FetchMetadata.
  std::map<std::pair<std::string, int64_t>, std::vector<models::TensorSpec>> outputs_
      ABSL_GUARDED_BY(mu_);
};

}  // namespace dnoscope::client
