#include "serving/http/content_coding.h"

#include <zlib.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <vector>

#include "absl/status/status.h"
#include "fmt/format.h"

namespace dnoscope::serving::http {
namespace {

// zlib's windowBits: 15 with 16 added for the gzip wrapper.
int WindowBits(ContentCoding coding) { return coding == ContentCoding::kGzip ? 15 + 16 : 15; }

std::string Lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// The q value of one Accept-Encoding element's parameters ("; q=0.5").
double Quality(std::string_view params) {
  const size_t q = params.find("q=");
  if (q == std::string_view::npos) return 1.0;
  return std::strtod(std::string(params.substr(q + 2)).c_str(), nullptr);
}

}  // namespace

std::string_view ContentCodingName(ContentCoding coding) {
  switch (coding) {
    case ContentCoding::kGzip:
      return "gzip";
    case ContentCoding::kDeflate:
      return "deflate";
    case ContentCoding::kIdentity:
      break;
  }
  return "identity";
}

absl::StatusOr<ContentCoding> ParseContentEncoding(std::string_view value) {
  const std::string name = Lower(Trim(value));
  if (name.empty() || name == "identity") return ContentCoding::kIdentity;
  if (name == "gzip" || name == "x-gzip") return ContentCoding::kGzip;
  if (name == "deflate") return ContentCoding::kDeflate;
  return absl::UnimplementedError(fmt::format(
      "unsupported Content-Encoding '{}' (supported: gzip, deflate, identity)", value));
}

absl::StatusOr<std::string> Decompress(ContentCoding coding, std::string_view body,
                                       size_t max_bytes) {
  if (coding == ContentCoding::kIdentity) {
    if (body.size() > max_bytes) {
      return absl::ResourceExhaustedError(
          fmt::format("body of {} bytes exceeds the limit of {} bytes", body.size(), max_bytes));
    }
    return std::string(body);
  }
  z_stream z{};
  if (inflateInit2(&z, WindowBits(coding)) != Z_OK) {
    return absl::InternalError("zlib inflateInit2 failed");
  }
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(body.data()));
  z.avail_in = static_cast<uInt>(body.size());
  std::string out;
  char chunk[64 * 1024];
  int rc = Z_OK;
  absl::Status error;
  while (rc != Z_STREAM_END) {
    z.next_out = reinterpret_cast<Bytef*>(chunk);
    z.avail_out = sizeof(chunk);
    rc = inflate(&z, Z_NO_FLUSH);
    if (rc != Z_OK && rc != Z_STREAM_END) {
      error = absl::InvalidArgumentError(fmt::format(
          "corrupt {} body: {}", ContentCodingName(coding),
          rc == Z_BUF_ERROR ? "truncated" : (z.msg != nullptr ? z.msg : "inflate failed")));
      break;
    }
    const size_t produced = sizeof(chunk) - z.avail_out;
    if (out.size() + produced > max_bytes) {
      error = absl::ResourceExhaustedError(fmt::format(
          "decompressed body exceeds the limit of {} bytes", max_bytes));
      break;
    }
    out.append(chunk, produced);
    if (rc == Z_OK && produced == 0 && z.avail_in == 0) {
      error = absl::InvalidArgumentError(
          fmt::format("corrupt {} body: truncated", ContentCodingName(coding)));
      break;
    }
  }
  if (error.ok() && z.avail_in != 0) {
    error = absl::InvalidArgumentError(
        fmt::format("corrupt {} body: data after the end of the stream", ContentCodingName(coding)));
  }
  inflateEnd(&z);
  if (!error.ok()) return error;
  return out;
}

std::string Compress(ContentCoding coding, std::string_view data) {
  if (coding == ContentCoding::kIdentity) return std::string(data);
  z_stream z{};
  // Level 1: responses are compressed on the serving path, where speed wins.
  deflateInit2(&z, 1, Z_DEFLATED, WindowBits(coding), 8, Z_DEFAULT_STRATEGY);
  std::string out(deflateBound(&z, static_cast<uLong>(data.size())), '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  z.avail_in = static_cast<uInt>(data.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  deflate(&z, Z_FINISH);  // the bound guarantees one call finishes
  out.resize(z.total_out);
  deflateEnd(&z);
  return out;
}

ContentCoding NegotiateResponseCoding(std::string_view accept_encoding) {
  bool gzip = false, deflate = false;
  std::string_view rest = accept_encoding;
  while (!rest.empty()) {
    const size_t comma = rest.find(',');
    std::string_view element = rest.substr(0, comma);
    rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
    const size_t semicolon = element.find(';');
    const std::string name = Lower(Trim(element.substr(0, semicolon)));
    const bool accepted =
        semicolon == std::string_view::npos || Quality(element.substr(semicolon)) > 0;
    if (!accepted) continue;
    if (name == "gzip" || name == "x-gzip" || name == "*") gzip = true;
    if (name == "deflate") deflate = true;
  }
  if (gzip) return ContentCoding::kGzip;
  if (deflate) return ContentCoding::kDeflate;
  return ContentCoding::kIdentity;
}

}  // namespace dnoscope::serving::http
