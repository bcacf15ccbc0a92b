// JSON parsing for the protocol decoders: a SAX-driven DOM builder with a nesting limit that can
// stream the "data" arrays of KServe tensors straight into ElementBuilders (so large tensors
// never exist as a DOM), plus typed field accessors that produce InvalidArgument messages
// naming the offending field. Internal to the protocol library.
// Thread-safety: stateless free functions.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"
#include "protocol/element_builder.h"

namespace dnoscope::protocol {

using Json = nlohmann::json;

// Deepest object/array nesting accepted outside captured tensor data.
inline constexpr int kMaxJsonDepth = 64;

struct ParsedJson {
  Json root;
  // Captured tensor data, indexed by the number stored in place of each "data" value.
  std::vector<ElementBuilder> captures;
};

// Parses `text` as one JSON document. With capture_tensor_data, the "data" value of every object
// in the top-level "inputs" and "outputs" arrays is fed to a new ElementBuilder (typed when the
// object's "datatype" precedes "data") and replaced in the DOM by its index in `captures`.
// InvalidArgument for malformed JSON (the message carries nlohmann's line/column), nesting
// deeper than kMaxJsonDepth, or a tensor element the builder rejects (naming the tensor).
absl::StatusOr<ParsedJson> ParseJson(std::string_view text, bool capture_tensor_data);

// Serializes a DOM compactly; invalid UTF-8 in strings is replaced by U+FFFD, never thrown.
std::string DumpJson(const Json& value);

// nullptr when `object` is not an object or has no `key`.
const Json* FindField(const Json& object, std::string_view key);

// Typed accessors for `object[key]`; `context` (e.g. "input 'x'") prefixes error messages.
// Required fields that are missing and fields of the wrong JSON type are InvalidArgument.
// Optional ones return `fallback` when absent.
absl::StatusOr<std::string> GetString(const Json& object, std::string_view key,
                                      std::string_view context);
absl::StatusOr<std::string> GetOptionalString(const Json& object, std::string_view key,
                                              std::string_view context,
                                              std::string_view fallback = "");
absl::StatusOr<bool> GetOptionalBool(const Json& object, std::string_view key,
                                     std::string_view context, bool fallback);
// A non-negative integer no larger than `max`; nullopt when absent.
absl::StatusOr<std::optional<uint64_t>> GetOptionalSize(const Json& object, std::string_view key,
                                                        std::string_view context, uint64_t max);
// Required array / optional array (nullptr when absent) / optional object (nullptr when absent).
absl::StatusOr<const Json*> GetArray(const Json& object, std::string_view key,
                                     std::string_view context);
absl::StatusOr<const Json*> GetOptionalArray(const Json& object, std::string_view key,
                                             std::string_view context);
absl::StatusOr<const Json*> GetOptionalObject(const Json& object, std::string_view key,
                                              std::string_view context);

// A shape: an array of at most kMaxRank integers, each >= min_dim (0 for tensors, -1 for
// metadata where -1 means variable).
absl::StatusOr<std::vector<int64_t>> ParseShape(const Json& value, std::string_view context,
                                                int64_t min_dim);

// Product of the dimensions of a non-negative shape; InvalidArgument naming `context` when it
// overflows int64.
absl::StatusOr<int64_t> CheckedElementCount(std::span<const int64_t> shape,
                                            std::string_view context);

// A JSON scalar as a parameter string: strings verbatim, anything else serialized.
std::string ParameterString(const Json& value);

}  // namespace dnoscope::protocol
