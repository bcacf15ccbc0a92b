#include "client/endpoint.h"

#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace dnoscope::client {
namespace {

struct ParseCase {
  std::string url;
  absl::StatusCode code;
  std::string host;
  int port;
};

TEST(ParseEndpointTest, Table) {
  const std::vector<ParseCase> cases = {
      {"http://localhost:8000", absl::StatusCode::kOk, "localhost", 8000},
      {"http://10.0.0.2:8501/", absl::StatusCode::kOk, "10.0.0.2", 8501},
      {"127.0.0.1:1", absl::StatusCode::kOk, "127.0.0.1", 1},
      {"model-server:65535", absl::StatusCode::kOk, "model-server", 65535},
      {"[::1]:9000", absl::StatusCode::kOk, "::1", 9000},
      {"http://[fe80::1]:80", absl::StatusCode::kOk, "fe80::1", 80},
      {"https://host:443", absl::StatusCode::kUnimplemented, "", 0},
      {"host", absl::StatusCode::kInvalidArgument, "", 0},
      {"host:", absl::StatusCode::kInvalidArgument, "", 0},
      {":8000", absl::StatusCode::kInvalidArgument, "", 0},
      {"host:0", absl::StatusCode::kInvalidArgument, "", 0},
      {"host:65536", absl::StatusCode::kInvalidArgument, "", 0},
      {"host:80x", absl::StatusCode::kInvalidArgument, "", 0},
      {"host:-1", absl::StatusCode::kInvalidArgument, "", 0},
      {"http://host:80/v2/models", absl::StatusCode::kInvalidArgument, "", 0},
      {"::1:9000", absl::StatusCode::kInvalidArgument, "", 0},
      {"[::1]9000", absl::StatusCode::kInvalidArgument, "", 0},
      {"ftp://host:21", absl::StatusCode::kInvalidArgument, "", 0},
      {"", absl::StatusCode::kInvalidArgument, "", 0},
  };
  for (const ParseCase& c : cases) {
    SCOPED_TRACE(c.url);
    absl::StatusOr<Endpoint> endpoint = ParseEndpoint(c.url);
    ASSERT_EQ(endpoint.status().code(), c.code) << endpoint.status();
    if (!endpoint.ok()) continue;
    EXPECT_EQ(endpoint->host, c.host);
    EXPECT_EQ(endpoint->port, c.port);
  }
}

TEST(EndpointTest, ToStringRoundTrips) {
  EXPECT_EQ((Endpoint{"127.0.0.1", 8000}).ToString(), "127.0.0.1:8000");
  EXPECT_EQ((Endpoint{"::1", 8000}).ToString(), "[::1]:8000");
  for (const char* text : {"127.0.0.1:8000", "[::1]:8000", "host:1"}) {
    absl::StatusOr<Endpoint> endpoint = ParseEndpoint(text);
    ASSERT_TRUE(endpoint.ok()) << text;
    EXPECT_EQ(endpoint->ToString(), text);
  }
}

}  // namespace
}  // namespace dnoscope::client
