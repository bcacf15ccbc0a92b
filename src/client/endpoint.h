// Endpoint: where a model server listens (host and TCP port), and the parser
// for the endpoint strings users give on the command line.
// Thread-safety: value types and pure functions; safe from any thread.
#pragma once

#include <compare>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace dnoscope::client {

struct Endpoint {
  // Host name, IPv4 address or IPv6 address (without brackets).
  std::string host;
  // TCP port, 1..65535.
  int port = 0;

  // "host:port", or "[v6addr]:port" when the host contains ':'.
  std::string ToString() const;
  auto operator<=>(const Endpoint&) const = default;
};

// Parses "http://host:port", "grpc://host:port", "host:port" or "[::1]:port", optionally with a
// trailing "/". Returns InvalidArgument for anything else (missing or bad
// port, empty host, a path), Unimplemented for "https://".
absl::StatusOr<Endpoint> ParseEndpoint(std::string_view url);

}  // namespace dnoscope::client
