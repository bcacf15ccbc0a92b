#include "serving/http/test_client.h"

#include "boost/asio/connect.hpp"
#include "boost/asio/write.hpp"
#include "boost/beast/http/read.hpp"
#include "fmt/format.h"

namespace dnoscope::serving::http::testing {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace beast_http = boost::beast::http;
using tcp = asio::ip::tcp;

TestClient::TestClient(int port) : socket_(ioc_) {
  beast::error_code ec;
  socket_.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port), ec);
  connected_ = !ec;
}

bool TestClient::RunUntil(const bool& done, std::chrono::seconds timeout) {
  ioc_.restart();
  ioc_.run_for(timeout);
  if (done) return true;
  beast::error_code ec;
  socket_.cancel(ec);
  ioc_.restart();
  ioc_.run();
  return false;
}

bool TestClient::Send(std::string_view bytes) {
  bool done = false;
  beast::error_code result;
  asio::async_write(socket_, asio::buffer(bytes.data(), bytes.size()),
                    [&](beast::error_code ec, size_t) {
                      result = ec;
                      done = true;
                    });
  return RunUntil(done, kWait) && !result;
}

std::optional<Response> TestClient::Read(std::chrono::seconds timeout) {
  beast_http::response_parser<beast_http::string_body> parser;
  parser.body_limit(boost::none);
  bool done = false;
  beast::error_code result;
  beast_http::async_read(socket_, buffer_, parser, [&](beast::error_code ec, size_t) {
    result = ec;
    done = true;
  });
  if (!RunUntil(done, timeout) || result) return std::nullopt;
  return parser.release();
}

std::optional<Response> TestClient::RoundTrip(std::string_view request) {
  if (!Send(request)) return std::nullopt;
  return Read();
}

bool TestClient::WaitForClose(std::chrono::seconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  buffer_.clear();
  while (std::chrono::steady_clock::now() < deadline) {
    bool done = false;
    beast::error_code result;
    socket_.async_read_some(buffer_.prepare(64 << 10), [&](beast::error_code ec, size_t) {
      result = ec;
      done = true;
    });
    auto left =
        std::chrono::ceil<std::chrono::seconds>(deadline - std::chrono::steady_clock::now());
    if (!RunUntil(done, std::max(left, std::chrono::seconds(1)))) return false;
    if (result == asio::error::eof || result == asio::error::connection_reset) return true;
    if (result) return false;
  }
  return false;
}

std::string PostRequest(std::string_view target, std::string_view body,
                        std::string_view extra_headers) {
  return fmt::format("POST {} HTTP/1.1\r\nHost: test\r\nContent-Length: {}\r\n{}\r\n{}", target,
                     body.size(), extra_headers, body);
}

std::string GetRequest(std::string_view target, std::string_view extra_headers) {
  return fmt::format("GET {} HTTP/1.1\r\nHost: test\r\n{}\r\n", target, extra_headers);
}

}  // namespace dnoscope::serving::http::testing
