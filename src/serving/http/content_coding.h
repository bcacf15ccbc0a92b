// HTTP content codings (RFC 9110 section 8.4): gzip and deflate bodies,
// compressed and decompressed with zlib, and the choice of a response coding
// from Accept-Encoding. "deflate" is the zlib format (RFC 1950), as HTTP
// defines it.
//
// Decompress stops inflating as soon as the output would pass its limit, so
// a small compressed body cannot make the server allocate more than the
// limit (no zip bombs).
//
// Pure functions; thread-safe.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace dnoscope::serving::http {

enum class ContentCoding { kIdentity, kGzip, kDeflate };

// "identity", "gzip" or "deflate".
std::string_view ContentCodingName(ContentCoding coding);

// The coding a Content-Encoding header names (case-insensitive; "x-gzip"
// is gzip; empty or "identity" is kIdentity). Unimplemented naming the
// coding for anything else, including lists of several codings.
absl::StatusOr<ContentCoding> ParseContentEncoding(std::string_view value);

// `body` decoded. ResourceExhausted once the decoded size would exceed
// `max_bytes` (inflating stops there), InvalidArgument for data that is not
// valid `coding` (corrupt, truncated, or followed by garbage).
absl::StatusOr<std::string> Decompress(ContentCoding coding, std::string_view body,
                                       size_t max_bytes);

// `data` encoded with `coding` (kIdentity: unchanged).
std::string Compress(ContentCoding coding, std::string_view data);

// The coding for a response to a request with this Accept-Encoding header:
// gzip when accepted (q > 0, or "*"), else deflate, else identity.
ContentCoding NegotiateResponseCoding(std::string_view accept_encoding);

}  // namespace dnoscope::serving::http
