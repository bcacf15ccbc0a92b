#include "client/remote_stage.h"

#include <string>
#include <utility>

#include "absl/status/status.h"
#include "common/status_macros.h"
#include "fmt/format.h"

namespace dnoscope::client {

absl::StatusOr<std::unique_ptr<RemoteModel>> ConnectRemoteStage(
    std::vector<Endpoint> endpoints, const RemoteModelOptions& options,
    const HttpTransportOptions& transport, Clock* clock) {
  if (transport.format == WireFormat::kKserveGrpc) {
    DNS_ASSIGN_OR_RETURN(std::unique_ptr<GrpcTransport> grpc,
                         GrpcTransport::Create(std::move(endpoints), {}, clock));
    return RemoteModel::Connect(std::move(grpc), options, clock);
  }
  DNS_ASSIGN_OR_RETURN(std::unique_ptr<HttpTransport> http,
                       HttpTransport::Create(std::move(endpoints), transport, clock));
  return RemoteModel::Connect(std::move(http), options, clock);
}

absl::StatusOr<std::vector<Endpoint>> ParseEndpointList(std::string_view list) {
  std::vector<Endpoint> endpoints;
  size_t begin = 0;
  while (begin <= list.size()) {
    size_t end = list.find(',', begin);
    if (end == std::string_view::npos) end = list.size();
    std::string_view item = list.substr(begin, end - begin);
    begin = end + 1;
    while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
    while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
    if (item.empty()) continue;
    absl::StatusOr<Endpoint> e = ParseEndpoint(item);
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

}  // namespace dnoscope::client
