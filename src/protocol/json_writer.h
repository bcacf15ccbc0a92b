// Helpers that append JSON text to a std::string: escaped strings, shortest round-trippable
// numbers and tensor element arrays. The KServe and TF Serving encoders write their hot-path
// documents with these rather than building a DOM. Internal to the protocol library.
// Thread-safety: stateless free functions.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "common/tensor.h"

namespace dnoscope::protocol {

// How BYTES elements are written: KServe uses JSON strings, TF Serving {"b64": "..."}.
enum class BytesStyle { kString, kBase64 };

// Appends `s` as a quoted JSON string. Invalid UTF-8 sequences cannot be represented in JSON and
// are replaced by U+FFFD, so BYTES that must survive byte-exact need the binary/b64 forms.
void AppendJsonString(std::string* out, std::string_view s);

// Appends `value` in the shortest form that parses back to the same float. -0 is written as
// "-0.0" (a bare "-0" reads back as integer 0); NaN and +/-infinity, which JSON numbers cannot
// express, as the strings "NaN", "Infinity" and "-Infinity" (the decoders accept those for FP32).
void AppendFloat(std::string* out, float value);

// Appends a decimal integer.
void AppendInt(std::string* out, int64_t value);

// Appends "[d0,d1,...]".
void AppendShape(std::string* out, std::span<const int64_t> shape);

// Appends all elements of `tensor` as one flat JSON array. The tensor must be valid
// (Tensor::Validate() OK); the function never reads past data/bytes either way.
void AppendFlatData(std::string* out, const Tensor& tensor, BytesStyle style);

// Appends elements [*next, *next + product(shape)) of `tensor` as arrays nested by `shape`
// (a bare element when `shape` is empty) and advances *next. The tensor must be valid and the
// range within it.
void AppendNestedData(std::string* out, const Tensor& tensor, std::span<const int64_t> shape,
                      int64_t* next, BytesStyle style);

}  // namespace dnoscope::protocol
