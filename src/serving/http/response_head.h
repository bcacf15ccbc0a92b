// Serialization of HTTP/1.1 response heads (status line and header block)
// and the server's own JSON error responses.
// Thread-safety: free functions without shared state.
#pragma once

#include <string>
#include <string_view>

#include "serving/http/server.h"

namespace dnoscope::serving::http {

// How the connection continues after a response.
enum class ConnectionMode {
  kClose,            // sends `Connection: close`
  kKeepAlive,        // HTTP/1.1 default; no Connection header
  kKeepAliveLegacy,  // HTTP/1.0 client that asked for keep-alive
};

// Appends the status line, Content-Type, Content-Length (of response.body),
// the response's valid extra headers, the Connection header and the blank
// line to `out` (not owned). Status codes outside [200, 599] become 500.
void AppendResponseHead(const HttpResponse& response, ConnectionMode mode, std::string* out);

// The interim response to `Expect: 100-continue`.
inline constexpr std::string_view kContinueResponse = "HTTP/1.1 100 Continue\r\n\r\n";

// A response with `status` and body {"error": "<message>"}.
HttpResponse ErrorResponse(int status, std::string_view message);

// `text` as a JSON string literal, quotes included.
std::string JsonQuote(std::string_view text);

}  // namespace dnoscope::serving::http
