#include "distributed/remote_stage.h"

#include <utility>

#include "common/status_macros.h"

namespace dnoscope::distributed {
namespace {

class RemoteStage final : public ModelStage {
 public:
  explicit RemoteStage(std::unique_ptr<client::RemoteModel> remote) : remote_(std::move(remote)) {}

  const models::ModelMetadata& metadata() const override { return remote_->metadata(); }
  std::string Describe() const override { return remote_->Describe(); }

  void InferAsync(std::vector<Tensor> inputs, Done done) override {
    models::StageRequest request;
    request.inputs = std::move(inputs);
    remote_->InferAsync(std::move(request), std::move(done));
  }

  StageStats stats() const override {
    const models::StageStats s = remote_->stats();
    StageStats out;
    out.retries = s.retries;
    for (const models::StageEndpointStats& e : s.endpoints) {
      out.endpoints.push_back(
          {e.name, e.in_flight, e.requests, e.failures, e.ejections, e.ejected, e.bytes_sent});
    }
    return out;
  }

  void Shutdown() override { remote_->Shutdown(); }

 private:
  const std::unique_ptr<client::RemoteModel> remote_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<ModelStage>> MakeRemoteStage(
    std::vector<client::Endpoint> endpoints, const client::RemoteModelOptions& options,
    const client::HttpTransportOptions& transport, Clock* clock) {
  DNS_ASSIGN_OR_RETURN(std::unique_ptr<client::RemoteModel> remote,
                       client::ConnectRemoteStage(std::move(endpoints), options, transport, clock));
  return std::unique_ptr<ModelStage>(new RemoteStage(std::move(remote)));
}

}  // namespace dnoscope::distributed
