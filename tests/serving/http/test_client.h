// A small HTTP/1.1 client for the server tests: raw bytes out, Beast-parsed
// responses in. Every wait is bounded so that a broken server fails a test
// instead of hanging it.
// Thread-safety: not thread-safe; one client per thread.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "boost/asio/io_context.hpp"
#include "boost/asio/ip/tcp.hpp"
#include "boost/beast/core/flat_buffer.hpp"
#include "boost/beast/http/message.hpp"
#include "boost/beast/http/string_body.hpp"

namespace dnoscope::serving::http::testing {

using Response = boost::beast::http::response<boost::beast::http::string_body>;

inline constexpr std::chrono::seconds kWait{20};

class TestClient {
 public:
  // Connects to 127.0.0.1:port; connected() tells whether it worked.
  explicit TestClient(int port);

  bool connected() const { return connected_; }

  // Writes all of `bytes`; false on error or timeout.
  bool Send(std::string_view bytes);
  // Reads one response (an interim 100 Continue counts as one); nullopt on
  // error, timeout or a closed connection.
  std::optional<Response> Read(std::chrono::seconds timeout = kWait);
  // Send() then Read().
  std::optional<Response> RoundTrip(std::string_view request);
  // True when the server closes the connection (EOF or reset) within `timeout`;
  // bytes arriving meanwhile are discarded.
  bool WaitForClose(std::chrono::seconds timeout = kWait);

 private:
  // Runs the io_context until `done` or `timeout`; cancels the socket on timeout.
  bool RunUntil(const bool& done, std::chrono::seconds timeout);

  boost::asio::io_context ioc_;
  boost::asio::ip::tcp::socket socket_;
  boost::beast::flat_buffer buffer_;
  bool connected_ = false;
};

// "POST <target> HTTP/1.1" with Host, Content-Length, `extra_headers` (each
// line ending in CRLF) and `body`.
std::string PostRequest(std::string_view target, std::string_view body,
                        std::string_view extra_headers = "");
// "GET <target> HTTP/1.1" with Host and `extra_headers`.
std::string GetRequest(std::string_view target, std::string_view extra_headers = "");

}  // namespace dnoscope::serving::http::testing
