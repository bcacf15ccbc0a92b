#include "client/transport.h"

#include <set>

#include "fmt/format.h"

namespace dnoscope::client {

bool IsRetryable(const absl::Status& status) {
  switch (status.code()) {
    case absl::StatusCode::kUnavailable:
    case absl::StatusCode::kDeadlineExceeded:
    case absl::StatusCode::kResourceExhausted:
    case absl::StatusCode::kInternal:
      return true;
    default:
      return false;
  }
}

absl::Status CheckEndpoints(const std::vector<Endpoint>& endpoints) {
  if (endpoints.empty()) return absl::InvalidArgumentError("a transport needs an endpoint");
  std::set<Endpoint> seen;
  for (const Endpoint& e : endpoints) {
    if (e.host.empty() || e.port < 1 || e.port > 65535) {
      return absl::InvalidArgumentError(fmt::format("invalid endpoint '{}'", e.ToString()));
    }
    if (!seen.insert(e).second) {
      return absl::InvalidArgumentError(fmt::format("duplicate endpoint '{}'", e.ToString()));
    }
  }
  return absl::OkStatus();
}

absl::Status BadIndex(size_t endpoint, size_t size) {
  return absl::InvalidArgumentError(
      fmt::format("endpoint index {} out of range (the transport has {})", endpoint, size));
}

std::string EndpointListString(const std::vector<Endpoint>& endpoints) {
  std::string list;
  for (const Endpoint& e : endpoints) {
    if (!list.empty()) list.push_back(',');
    list.append(e.ToString());
  }
  return list;
}

}  // namespace dnoscope::client
