// Incremental HTTP/1.x request parser that fills an HttpRequest directly,
// without an intermediate beast::http::message: header names are lower-cased
// as they arrive and body bytes are appended to HttpRequest::body once.
// Feed it with put() (see beast::http::basic_parser); one parser per request.
// Thread-safety: none; use from one thread (strand) at a time.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>

#include "boost/beast/http/basic_parser.hpp"
#include "serving/http/server.h"

namespace dnoscope::serving::http {

class RequestParser final : public boost::beast::http::basic_parser<true> {
 public:
  // Limits as in HttpServerOptions; body_limit and header_limit errors are
  // reported by put().
  RequestParser(size_t max_header_bytes, size_t max_body_bytes);

  // 10 for HTTP/1.0, 11 for HTTP/1.1; valid once the request line was parsed.
  int version() const { return version_; }
  // True when the header carried `Expect: 100-continue`.
  bool expects_continue() const { return expects_continue_; }
  // The Content-Length header, when present and valid (even if over the limit).
  std::optional<uint64_t> declared_content_length() const { return declared_length_; }
  // True for HEAD requests (their responses carry no body).
  bool is_head() const { return is_head_; }

  // Moves the parsed request out; call once, after is_done().
  HttpRequest Release() { return std::move(request_); }

 private:
  using error_code = boost::beast::error_code;
  using string_view = boost::beast::string_view;
  using verb = boost::beast::http::verb;
  using field = boost::beast::http::field;

  void on_request_impl(verb method, string_view method_str, string_view target, int version,
                       error_code& ec) override;
  void on_response_impl(int code, string_view reason, int version, error_code& ec) override;
  void on_field_impl(field name, string_view name_string, string_view value,
                     error_code& ec) override;
  void on_header_impl(error_code& ec) override {}
  void on_body_init_impl(const boost::optional<uint64_t>& content_length, error_code& ec) override;
  size_t on_body_impl(string_view body, error_code& ec) override;
  void on_chunk_header_impl(uint64_t size, string_view extensions, error_code& ec) override {}
  size_t on_chunk_body_impl(uint64_t remain, string_view body, error_code& ec) override;
  void on_finish_impl(error_code& ec) override {}

  HttpRequest request_;
  int version_ = 11;
  bool expects_continue_ = false;
  bool is_head_ = false;
  std::optional<uint64_t> declared_length_;
};

}  // namespace dnoscope::serving::http
