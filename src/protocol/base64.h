// Base64 (RFC 4648 section 4: standard alphabet, '=' padding), used for the
// {"b64": "..."} BYTES values of the TF Serving REST API.
// Thread-safety: stateless free functions; safe to call from any thread.
#pragma once

#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace dnoscope::protocol {

// Encodes `data` (arbitrary bytes) with the standard alphabet and '=' padding.
std::string Base64Encode(std::string_view data);

// Decodes padded standard-alphabet base64. Returns InvalidArgument, naming the offending
// offset, when the length is not a multiple of 4, a character is outside the alphabet,
// padding appears anywhere but the end, or the padded-away bits are not zero.
// No whitespace is accepted.
absl::StatusOr<std::string> Base64Decode(std::string_view text);

}  // namespace dnoscope::protocol
