#include "client/http_transport.h"

#include "absl/status/status.h"
#include "common/status_macros.h"
#include "fmt/format.h"

namespace dnoscope::client {
namespace {

// An encoded inference: the HTTP request without its deadline, and what
// decoding the reply needs.
class HttpPreparedCall final : public PreparedCall {
 public:
  HttpPreparedCall(HttpCall call, models::ModelMetadata decode_with)
      : call_(std::move(call)), decode_with_(std::move(decode_with)) {}
  int64_t byte_size() const override { return static_cast<int64_t>(call_.body.size()); }
  const HttpCall& call() const { return call_; }
  // Only the outputs are set (TF Serving's output datatypes).
  const models::ModelMetadata& decode_with() const { return decode_with_; }

 private:
  const HttpCall call_;
  const models::ModelMetadata decode_with_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<HttpTransport>> HttpTransport::Create(
    std::vector<Endpoint> endpoints, const HttpTransportOptions& options, Clock* clock) {
  DNS_RETURN_IF_ERROR(CheckEndpoints(endpoints));
  if (options.format == WireFormat::kKserveGrpc) {
    return absl::InvalidArgumentError("kserve-grpc is not an HTTP protocol: use GrpcTransport");
  }
  DNS_ASSIGN_OR_RETURN(std::unique_ptr<HttpClient> http, HttpClient::Create(options.http, clock));
  return std::unique_ptr<HttpTransport>(
      new HttpTransport(std::move(endpoints), options, std::move(http)));
}

HttpTransport::HttpTransport(std::vector<Endpoint> endpoints, const HttpTransportOptions& options,
                             std::unique_ptr<HttpClient> http)
    : endpoints_(std::move(endpoints)), options_(options), http_(std::move(http)) {}

HttpTransport::~HttpTransport() { Shutdown(); }

absl::StatusOr<std::shared_ptr<const PreparedCall>> HttpTransport::Prepare(
    const InferSpec& spec) {
  DNS_ASSIGN_OR_RETURN(HttpCall call, EncodeInferCall(options_.format, spec.model, spec.version,
                                                      spec.inputs, spec.outputs));
  models::ModelMetadata decode_with;
  if (options_.format == WireFormat::kTfServing) {
    MutexLock lock(&mu_);
    auto it = outputs_.find({spec.model, spec.version});
    if (it != outputs_.end()) decode_with.outputs = it->second;
  }
  return std::make_shared<const HttpPreparedCall>(std::move(call), std::move(decode_with));
}

void HttpTransport::Infer(size_t endpoint, std::shared_ptr<const PreparedCall> call,
                          Clock::TimePoint deadline, InferDone done) {
  if (endpoint >= endpoints_.size()) return done(BadIndex(endpoint, endpoints_.size()));
  auto prepared = std::dynamic_pointer_cast<const HttpPreparedCall>(call);
  if (prepared == nullptr) {
    return done(absl::InvalidArgumentError("the call was prepared by another transport"));
  }
  HttpCall http_call = prepared->call();
  http_call.deadline = deadline;
  http_->Send(endpoints_[endpoint], std::move(http_call),
              [format = options_.format, prepared = std::move(prepared),
               done = std::move(done)](absl::StatusOr<HttpResult> reply) {
                if (!reply.ok()) return done(reply.status());
                done(DecodeInferResult(format, *reply, prepared->decode_with()));
              });
}

void HttpTransport::Probe(size_t endpoint, const std::string& model, Clock::TimePoint deadline,
                          ProbeDone done) {
  if (endpoint >= endpoints_.size()) return done(BadIndex(endpoint, endpoints_.size()));
  HttpCall call = ReadinessCall(options_.format, model);
  call.deadline = deadline;
  http_->Send(endpoints_[endpoint], std::move(call),
              [done = std::move(done)](absl::StatusOr<HttpResult> reply) {
                if (!reply.ok()) return done(reply.status());
                done(reply->status == 200 ? absl::OkStatus() : StatusFromHttp(*reply));
              });
}

absl::StatusOr<models::ModelMetadata> HttpTransport::FetchMetadata(size_t endpoint,
                                                                   const std::string& model,
                                                                   int64_t version,
                                                                   Clock::TimePoint deadline) {
  if (endpoint >= endpoints_.size()) return BadIndex(endpoint, endpoints_.size());
  HttpCall call = MetadataCall(options_.format, model, version);
  call.deadline = deadline;
  DNS_ASSIGN_OR_RETURN(HttpResult reply, http_->SendSync(endpoints_[endpoint], std::move(call)));
  DNS_ASSIGN_OR_RETURN(models::ModelMetadata metadata,
                       DecodeMetadataResult(options_.format, reply));
  if (options_.format == WireFormat::kTfServing) {
    MutexLock lock(&mu_);
    outputs_[{model, version}] = metadata.outputs;
  }
  return metadata;
}

void HttpTransport::Shutdown() { http_->Shutdown(); }

}  // namespace dnoscope::client
