#include "serving/http/request_parser.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <limits>
#include <string>

namespace dnoscope::serving::http {
namespace {

bool EqualsIgnoreCase(boost::beast::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

}  // namespace

RequestParser::RequestParser(size_t max_header_bytes, size_t max_body_bytes) {
  header_limit(static_cast<uint32_t>(
      std::min<size_t>(max_header_bytes, std::numeric_limits<uint32_t>::max())));
  body_limit(static_cast<uint64_t>(max_body_bytes));
}

void RequestParser::on_request_impl(verb method, string_view method_str, string_view target,
                                    int version, error_code& ec) {
  request_.method.assign(method_str.data(), method_str.size());
  request_.target.assign(target.data(), target.size());
  version_ = version;
  is_head_ = method == verb::head;
}

void RequestParser::on_response_impl(int code, string_view reason, int version, error_code& ec) {
  // Never called for a request parser.
  ec = boost::beast::http::error::bad_version;
}

void RequestParser::on_field_impl(field name, string_view name_string, string_view value,
                                  error_code& ec) {
  std::string lower(name_string.data(), name_string.size());
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  request_.headers.emplace_back(std::move(lower), std::string(value.data(), value.size()));
  if (name == field::expect) {
    expects_continue_ = EqualsIgnoreCase(value, "100-continue");
  } else if (name == field::content_length) {
    uint64_t length = 0;
    auto [end, err] = std::from_chars(value.data(), value.data() + value.size(), length);
    if (err == std::errc() && end == value.data() + value.size()) declared_length_ = length;
  }
}

void RequestParser::on_body_init_impl(const boost::optional<uint64_t>& content_length,
                                      error_code& ec) {
  // The parser already rejected a Content-Length over the body limit.
  if (content_length) request_.body.reserve(static_cast<size_t>(*content_length));
}

size_t RequestParser::on_body_impl(string_view body, error_code& ec) {
  request_.body.append(body.data(), body.size());
  return body.size();
}

size_t RequestParser::on_chunk_body_impl(uint64_t remain, string_view body, error_code& ec) {
  request_.body.append(body.data(), body.size());
  return body.size();
}

}  // namespace dnoscope::serving::http
