#include "protocol/json_writer.h"

#include <charconv>
#include <cmath>
#include <cstring>

#include "protocol/base64.h"

namespace dnoscope::protocol {
namespace {

constexpr std::string_view kReplacementChar = "\xEF\xBF\xBD";

// Length of the well-formed UTF-8 sequence starting at s[i] (a byte >= 0x80), or 0 when it is
// not well-formed (overlong forms, surrogates and code points above U+10FFFF are rejected).
size_t Utf8SequenceLength(std::string_view s, size_t i) {
  const auto byte = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  const unsigned char c = byte(i);
  size_t len = 0;
  unsigned char lo = 0x80, hi = 0xBF;  // Allowed range of the second byte.
  if (c >= 0xC2 && c <= 0xDF) {
    len = 2;
  } else if (c >= 0xE0 && c <= 0xEF) {
    len = 3;
    if (c == 0xE0) lo = 0xA0;
    if (c == 0xED) hi = 0x9F;
  } else if (c >= 0xF0 && c <= 0xF4) {
    len = 4;
    if (c == 0xF0) lo = 0x90;
    if (c == 0xF4) hi = 0x8F;
  } else {
    return 0;
  }
  if (i + len > s.size()) return 0;
  if (byte(i + 1) < lo || byte(i + 1) > hi) return 0;
  for (size_t k = 2; k < len; ++k) {
    if (byte(i + k) < 0x80 || byte(i + k) > 0xBF) return 0;
  }
  return len;
}

void AppendEscapedAscii(std::string* out, char c) {
  static constexpr char kHex[] = "0123456789abcdef";
  switch (c) {
    case '"':
      out->append("\\\"");
      return;
    case '\\':
      out->append("\\\\");
      return;
    case '\n':
      out->append("\\n");
      return;
    case '\r':
      out->append("\\r");
      return;
    case '\t':
      out->append("\\t");
      return;
    default:
      break;
  }
  const auto u = static_cast<unsigned char>(c);
  const char esc[] = {'\\', 'u', '0', '0', kHex[u >> 4], kHex[u & 15]};
  out->append(esc, sizeof(esc));
}

template <typename T>
void AppendNumber(std::string* out, T value) {
  if constexpr (std::is_same_v<T, float>) {
    AppendFloat(out, value);
  } else {
    AppendInt(out, static_cast<int64_t>(value));
  }
}

template <typename T>
void AppendFlatNumbers(std::string* out, const Tensor& tensor) {
  const std::span<const T> values = tensor.Values<T>();
  out->reserve(out->size() + values.size() * 4 + 2);
  out->push_back('[');
  for (size_t i = 0; i < values.size(); ++i) {
    if (i > 0) out->push_back(',');
    AppendNumber<T>(out, values[i]);
  }
  out->push_back(']');
}

void AppendBytesElement(std::string* out, std::string_view value, BytesStyle style) {
  if (style == BytesStyle::kString) {
    AppendJsonString(out, value);
    return;
  }
  out->append("{\"b64\":\"");
  out->append(Base64Encode(value));
  out->append("\"}");
}

// Appends element `i`; an index outside the tensor writes null rather than reading past it.
void AppendElement(std::string* out, const Tensor& tensor, int64_t i, BytesStyle style) {
  const size_t size = DataTypeSize(tensor.dtype);
  const auto index = static_cast<size_t>(i);
  const bool in_range = i >= 0 && (tensor.dtype == DataType::kBytes
                                       ? index < tensor.bytes.size()
                                       : (index + 1) * size <= tensor.data.size());
  if (!in_range) {
    out->append("null");
    return;
  }
  const uint8_t* p = tensor.data.data() + index * size;
  switch (tensor.dtype) {
    case DataType::kUint8:
      return AppendInt(out, *p);
    case DataType::kInt32: {
      int32_t v;
      std::memcpy(&v, p, sizeof(v));
      return AppendInt(out, v);
    }
    case DataType::kInt64: {
      int64_t v;
      std::memcpy(&v, p, sizeof(v));
      return AppendInt(out, v);
    }
    case DataType::kFp32: {
      float v;
      std::memcpy(&v, p, sizeof(v));
      return AppendFloat(out, v);
    }
    case DataType::kBytes:
      return AppendBytesElement(out, tensor.bytes[index], style);
  }
}

}  // namespace

void AppendJsonString(std::string* out, std::string_view s) {
  out->push_back('"');
  size_t i = 0;
  while (i < s.size()) {
    // Copy the longest run of characters that need no escaping in one go.
    size_t run = i;
    while (run < s.size()) {
      const auto c = static_cast<unsigned char>(s[run]);
      if (c < 0x20 || c == '"' || c == '\\' || c >= 0x80) break;
      ++run;
    }
    out->append(s.data() + i, run - i);
    i = run;
    if (i == s.size()) break;
    const auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      AppendEscapedAscii(out, s[i]);
      ++i;
      continue;
    }
    const size_t len = Utf8SequenceLength(s, i);
    if (len == 0) {
      out->append(kReplacementChar);
      ++i;
    } else {
      out->append(s.data() + i, len);
      i += len;
    }
  }
  out->push_back('"');
}

void AppendFloat(std::string* out, float value) {
  if (std::isnan(value)) {
    out->append("\"NaN\"");
  } else if (std::isinf(value)) {
    out->append(value > 0 ? "\"Infinity\"" : "\"-Infinity\"");
  } else if (value == 0 && std::signbit(value)) {
    out->append("-0.0");
  } else {
    char buf[32];
    const auto result = std::to_chars(buf, buf + sizeof(buf), value);
    out->append(buf, result.ptr);
  }
}

void AppendInt(std::string* out, int64_t value) {
  char buf[24];
  const auto result = std::to_chars(buf, buf + sizeof(buf), value);
  out->append(buf, result.ptr);
}

void AppendShape(std::string* out, std::span<const int64_t> shape) {
  out->push_back('[');
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i > 0) out->push_back(',');
    AppendInt(out, shape[i]);
  }
  out->push_back(']');
}

void AppendFlatData(std::string* out, const Tensor& tensor, BytesStyle style) {
  switch (tensor.dtype) {
    case DataType::kUint8:
      return AppendFlatNumbers<uint8_t>(out, tensor);
    case DataType::kInt32:
      return AppendFlatNumbers<int32_t>(out, tensor);
    case DataType::kInt64:
      return AppendFlatNumbers<int64_t>(out, tensor);
    case DataType::kFp32:
      return AppendFlatNumbers<float>(out, tensor);
    case DataType::kBytes:
      break;
  }
  out->push_back('[');
  for (size_t i = 0; i < tensor.bytes.size(); ++i) {
    if (i > 0) out->push_back(',');
    AppendBytesElement(out, tensor.bytes[i], style);
  }
  out->push_back(']');
}

void AppendNestedData(std::string* out, const Tensor& tensor, std::span<const int64_t> shape,
                      int64_t* next, BytesStyle style) {
  if (shape.empty()) {
    AppendElement(out, tensor, (*next)++, style);
    return;
  }
  out->push_back('[');
  for (int64_t i = 0; i < shape[0]; ++i) {
    if (i > 0) out->push_back(',');
    AppendNestedData(out, tensor, shape.subspan(1), next, style);
  }
  out->push_back(']');
}

}  // namespace dnoscope::protocol
