#include "serving/http/response_head.h"

#include <cctype>

#include "boost/beast/http/status.hpp"
#include "fmt/format.h"

namespace dnoscope::serving::http {
namespace {

namespace beast_http = boost::beast::http;

bool IsTokenChar(char c) {
  if (std::isalnum(static_cast<unsigned char>(c))) return true;
  return std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

bool IsReservedHeader(std::string_view name) {
  for (std::string_view reserved : {"content-length", "transfer-encoding", "connection"}) {
    if (name.size() != reserved.size()) continue;
    bool equal = true;
    for (size_t i = 0; i < name.size() && equal; ++i) {
      equal = std::tolower(static_cast<unsigned char>(name[i])) == reserved[i];
    }
    if (equal) return true;
  }
  return false;
}

// Header names must be tokens and values must not break the framing.
bool IsSafeHeader(std::string_view name, std::string_view value) {
  if (name.empty()) return false;
  for (char c : name) {
    if (!IsTokenChar(c)) return false;
  }
  return value.find_first_of(std::string_view("\r\n\0", 3)) == std::string_view::npos;
}

void AppendHeader(std::string_view name, std::string_view value, std::string* out) {
  out->append(name).append(": ").append(value).append("\r\n");
}

}  // namespace

void AppendResponseHead(const HttpResponse& response, ConnectionMode mode, std::string* out) {
  int status = response.status;
  if (status < 200 || status > 599) status = 500;
  std::string_view reason = "Unknown";
  beast_http::status known = beast_http::int_to_status(static_cast<unsigned>(status));
  if (known != beast_http::status::unknown) {
    boost::beast::string_view r = beast_http::obsolete_reason(known);
    reason = std::string_view(r.data(), r.size());
  }
  fmt::format_to(std::back_inserter(*out), "HTTP/1.1 {} {}\r\n", status, reason);
  if (!response.content_type.empty() && IsSafeHeader("Content-Type", response.content_type)) {
    AppendHeader("Content-Type", response.content_type, out);
  }
  fmt::format_to(std::back_inserter(*out), "Content-Length: {}\r\n", response.body.size());
  for (const auto& [name, value] : response.headers) {
    if (!IsReservedHeader(name) && IsSafeHeader(name, value)) AppendHeader(name, value, out);
  }
  if (mode == ConnectionMode::kClose) AppendHeader("Connection", "close", out);
  if (mode == ConnectionMode::kKeepAliveLegacy) AppendHeader("Connection", "keep-alive", out);
  out->append("\r\n");
}

std::string JsonQuote(std::string_view text) {
  std::string out;
  out.reserve(text.size() + 2);
  out.push_back('"');
  for (char c : text) {
    switch (c) {
      case '"':
        out.append("\\\"");
        break;
      case '\\':
        out.append("\\\\");
        break;
      case '\n':
        out.append("\\n");
        break;
      case '\r':
        out.append("\\r");
        break;
      case '\t':
        out.append("\\t");
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          fmt::format_to(std::back_inserter(out), "\\u{:04x}", static_cast<int>(c));
        } else {
          out.push_back(c);
        }
    }
  }
  out.push_back('"');
  return out;
}

HttpResponse ErrorResponse(int status, std::string_view message) {
  HttpResponse response;
  response.status = status;
  response.body = fmt::format("{{\"error\": {}}}", JsonQuote(message));
  return response;
}

}  // namespace dnoscope::serving::http
