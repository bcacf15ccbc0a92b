#include "distributed/remote_stage.h"

#include <utility>

#include "common/status_macros.h"
#include "fmt/format.h"

namespace dnoscope::distributed {
namespace {

class RemoteStage final : public models::ModelStage {
 public:
  RemoteStage(std::unique_ptr<client::RemoteModel> remote, models::ModelMetadata metadata,
              std::string description)
      : remote_(std::move(remote)),
        metadata_(std::move(metadata)),
        description_(std::move(description)) {}
  ~RemoteStage() override { Shutdown(); }

  const models::ModelMetadata& metadata() const override { return metadata_; }
  std::string Describe() const override { return description_; }

  void InferAsync(models::StageRequest request, Done done) override {
    remote_->InferAsync(std::move(request.inputs), std::move(request.outputs), std::move(done));
  }

  models::StageStats stats() const override {
    const client::RemoteModelStats s = remote_->stats();
    models::StageStats out;
    out.retries = s.retries;
    for (const client::RemoteEndpointStats& e : s.endpoints) {
      out.endpoints.push_back({e.endpoint.ToString(), e.in_flight, e.requests, e.failures,
                               e.ejections, e.ejected, e.bytes_sent});
    }
    return out;
  }

  void Shutdown() override { remote_->Shutdown(); }

 private:
  std::unique_ptr<client::RemoteModel> remote_;
  const models::ModelMetadata metadata_;
  const std::string description_;
};

}  // namespace

absl::StatusOr<std::vector<client::Endpoint>> ParseEndpointList(std::string_view list) {
  std::vector<client::Endpoint> endpoints;
  size_t begin = 0;
  while (begin <= list.size()) {
    size_t end = list.find(',', begin);
    if (end == std::string_view::npos) end = list.size();
    std::string_view item = list.substr(begin, end - begin);
    begin = end + 1;
    while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
    while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
    if (item.empty()) continue;
    absl::StatusOr<client::Endpoint> e = client::ParseEndpoint(item);
    if (!e.ok()) {
      return absl::InvalidArgumentError(fmt::format("bad endpoint '{}' in '{}': {}",
                                                    std::string(item), std::string(list),
                                                    std::string(e.status().message())));
    }
    endpoints.push_back(*std::move(e));
  }
  if (endpoints.empty()) {
    return absl::InvalidArgumentError(
        fmt::format("no endpoint in '{}' (expected http://host:port[,http://host:port...])",
                    std::string(list)));
  }
  return endpoints;
}

absl::StatusOr<std::unique_ptr<models::ModelStage>> MakeRemoteStage(
    std::vector<client::Endpoint> endpoints, const client::RemoteModelOptions& options,
    Clock* clock, std::vector<std::string> class_names) {
  std::string where;
  for (const client::Endpoint& e : endpoints) {
    if (!where.empty()) where.push_back(',');
    where.append(e.ToString());
  }
  DNS_ASSIGN_OR_RETURN(std::unique_ptr<client::RemoteModel> remote,
                       client::RemoteModel::Create(std::move(endpoints), options, clock));
  DNS_ASSIGN_OR_RETURN(models::ModelMetadata metadata, remote->FetchMetadata());
  if (!class_names.empty()) metadata.class_names = std::move(class_names);
  std::string description =
      fmt::format("remote '{}' at {} ({}, {})", options.model, where,
                  client::WireFormatName(options.format),
                  client::BalancePolicyName(options.balancer.policy));
  return std::unique_ptr<models::ModelStage>(
      new RemoteStage(std::move(remote), std::move(metadata), std::move(description)));
}

}  // namespace dnoscope::distributed
