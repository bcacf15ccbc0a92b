#include "client/endpoint.h"

#include <charconv>

#include "fmt/format.h"

namespace dnoscope::client {
namespace {

absl::Status Invalid(std::string_view url, std::string_view why) {
  return absl::InvalidArgumentError(
      fmt::format("bad endpoint '{}': {} (expected http://host:port, grpc://host:port or host:port)", url, why));
}

}  // namespace

std::string Endpoint::ToString() const {
  if (host.find(':') != std::string::npos) return fmt::format("[{}]:{}", host, port);
  return fmt::format("{}:{}", host, port);
}

absl::StatusOr<Endpoint> ParseEndpoint(std::string_view url) {
  std::string_view rest = url;
  if (rest.starts_with("https://")) {
    return absl::UnimplementedError(fmt::format("endpoint '{}': https is not supported", url));
  }
  // grpc:// reads better for --protocol kserve-grpc; the protocol comes from that flag.
  if (rest.starts_with("http://") || rest.starts_with("grpc://")) rest.remove_prefix(7);
  if (rest.ends_with('/')) rest.remove_suffix(1);
  if (rest.find('/') != std::string_view::npos) return Invalid(url, "paths are not allowed");

  Endpoint endpoint;
  std::string_view port_text;
  if (rest.starts_with('[')) {
    const size_t close = rest.find(']');
    if (close == std::string_view::npos || close + 1 >= rest.size() || rest[close + 1] != ':') {
      return Invalid(url, "bad IPv6 address");
    }
    endpoint.host = std::string(rest.substr(1, close - 1));
    port_text = rest.substr(close + 2);
  } else {
    const size_t colon = rest.rfind(':');
    if (colon == std::string_view::npos) return Invalid(url, "missing port");
    endpoint.host = std::string(rest.substr(0, colon));
    if (endpoint.host.find(':') != std::string::npos) return Invalid(url, "IPv6 needs brackets");
    port_text = rest.substr(colon + 1);
  }
  if (endpoint.host.empty()) return Invalid(url, "empty host");
  const char* end = port_text.data() + port_text.size();
  const auto [ptr, ec] = std::from_chars(port_text.data(), end, endpoint.port);
  if (port_text.empty() || ec != std::errc() || ptr != end || endpoint.port < 1 ||
      endpoint.port > 65535) {
    return Invalid(url, "port must be 1..65535");
  }
  return endpoint;
}

}  // namespace dnoscope::client
