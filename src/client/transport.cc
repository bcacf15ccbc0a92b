#include "client/transport.h"

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

std::string EndpointListString(const std::vector<Endpoint>& endpoints) {
  std::string list;
  for (const Endpoint& e : endpoints) {
    if (!list.empty()) list.push_back(',');
    list.append(e.ToString());
  }
  return list;
}

}  // namespace dnoscope::client
