#include "protocol/kserve_tensors.h"

#include <bit>
#include <cstring>
#include <string>
#include <unordered_set>

#include "absl/status/status.h"
#include "common/status_macros.h"
#include "fmt/format.h"
#include "protocol/json_writer.h"

namespace dnoscope::protocol {
namespace {

static_assert(std::endian::native == std::endian::little,
              "binary tensor sections are little-endian; big-endian hosts need byte swapping");

absl::Status Invalid(std::string message) {
  return absl::InvalidArgumentError(std::move(message));
}

uint32_t ReadU32(const char* p) {
  uint32_t v;
  std::memcpy(&v, p, sizeof(v));
  return v;
}

// BYTES sections: each element is a 4-byte little-endian length and that many bytes.
absl::Status DecodeBytesSection(std::string_view section, size_t n, std::string_view context,
                                Tensor* tensor) {
  // Every BYTES element takes at least its 4-byte prefix; check before reserving.
  if (n > section.size() / 4) {
    return Invalid(fmt::format("{}: binary_data_size {} is too small for {} BYTES elements",
                               context, section.size(), n));
  }
  tensor->bytes.reserve(n);
  size_t at = 0;
  for (size_t i = 0; i < n; ++i) {
    if (section.size() - at < 4) {
      return Invalid(fmt::format("{}: BYTES element {} has no room for its length prefix",
                                 context, i));
    }
    const uint32_t len = ReadU32(section.data() + at);
    at += 4;
    if (len > section.size() - at) {
      return Invalid(fmt::format(
          "{}: BYTES element {} has length {} but only {} bytes remain in its section", context, i,
          len, section.size() - at));
    }
    tensor->bytes.emplace_back(section.substr(at, len));
    at += len;
  }
  if (at != section.size()) {
    return Invalid(fmt::format("{}: {} bytes left over after {} BYTES elements", context,
                               section.size() - at, n));
  }
  return absl::OkStatus();
}

// Fills tensor data from the captured JSON "data" value.
absl::Status DecodeJsonData(const Json& data, int64_t count, std::string_view context,
                            ParsedJson* parsed, Tensor* tensor) {
  if (!data.is_number_unsigned() || data.get<uint64_t>() >= parsed->captures.size()) {
    return absl::InternalError(fmt::format("{}: 'data' was not captured", context));
  }
  ElementBuilder& builder = parsed->captures[data.get<uint64_t>()];
  if (builder.count() != count) {
    return Invalid(fmt::format("{}: 'data' has {} elements but shape {} needs {}", context,
                               builder.count(), ShapeString(tensor->shape), count));
  }
  absl::Status status = builder.Finish(tensor->dtype, tensor);
  if (!status.ok()) return Invalid(fmt::format("{}: invalid 'data': {}", context, StatusMessage(status)));
  return absl::OkStatus();
}

// Decodes the fields of one tensor object; `binary` is the not-yet-consumed binary part.
absl::StatusOr<Tensor> DecodeTensor(const Json& object, std::string_view context,
                                    ParsedJson* parsed, std::optional<std::string_view>* binary) {
  Tensor tensor;
  DNS_ASSIGN_OR_RETURN(tensor.name, GetString(object, "name", context));
  const std::string named = fmt::format("{} '{}'", context.substr(0, context.find(' ')), tensor.name);
  DNS_ASSIGN_OR_RETURN(const std::string datatype, GetString(object, "datatype", named));
  auto dtype = DataTypeFromName(datatype);
  if (!dtype.ok()) return Invalid(fmt::format("{}: {}", named, StatusMessage(dtype.status())));
  tensor.dtype = *dtype;
  const Json* shape = FindField(object, "shape");
  if (shape == nullptr) return Invalid(fmt::format("{}: missing required field 'shape'", named));
  DNS_ASSIGN_OR_RETURN(tensor.shape, ParseShape(*shape, named, 0));
  DNS_ASSIGN_OR_RETURN(const int64_t count, CheckedElementCount(tensor.shape, named));
  DNS_ASSIGN_OR_RETURN(const Json* params, GetOptionalObject(object, "parameters", named));
  std::optional<uint64_t> binary_size;
  if (params != nullptr) {
    const uint64_t available = binary->has_value() ? (*binary)->size() : UINT64_MAX;
    DNS_ASSIGN_OR_RETURN(binary_size,
                         GetOptionalSize(*params, "binary_data_size", named, available));
  }
  const Json* data = FindField(object, "data");
  if (data != nullptr && binary_size.has_value()) {
    return Invalid(fmt::format("{}: has both 'data' and binary_data_size", named));
  }
  if (data != nullptr) {
    DNS_RETURN_IF_ERROR(DecodeJsonData(*data, count, named, parsed, &tensor));
    return tensor;
  }
  if (!binary_size.has_value()) {
    return Invalid(fmt::format("{}: has neither 'data' nor binary_data_size", named));
  }
  if (!binary->has_value()) {
    return Invalid(fmt::format(
        "{}: binary_data_size given but the request has no Inference-Header-Content-Length",
        named));
  }
  const std::string_view section = (*binary)->substr(0, *binary_size);
  (*binary)->remove_prefix(*binary_size);
  DNS_RETURN_IF_ERROR(DecodeBinarySection(section, count, named, &tensor));
  return tensor;
}

template <typename T>
void AppendLittleEndian(std::string* out, T value) {
  char buf[sizeof(T)];
  std::memcpy(buf, &value, sizeof(T));
  out->append(buf, sizeof(T));
}

}  // namespace

absl::StatusOr<BodyParts> SplitBody(std::string_view body, std::optional<size_t> header_length) {
  if (!header_length.has_value()) return BodyParts{body, std::nullopt};
  if (*header_length > body.size()) {
    return Invalid(fmt::format("Inference-Header-Content-Length {} exceeds the body size {}",
                               *header_length, body.size()));
  }
  return BodyParts{body.substr(0, *header_length), body.substr(*header_length)};
}

absl::StatusOr<std::vector<Tensor>> DecodeTensorList(const Json& list, std::string_view kind,
                                                     ParsedJson* parsed,
                                                     std::optional<std::string_view> binary) {
  std::vector<Tensor> tensors;
  tensors.reserve(list.size());
  std::unordered_set<std::string_view> names;
  for (size_t i = 0; i < list.size(); ++i) {
    const std::string context = fmt::format("{} #{}", kind, i);
    if (!list[i].is_object()) {
      return Invalid(fmt::format("{}: must be an object, got {}", context, list[i].type_name()));
    }
    DNS_ASSIGN_OR_RETURN(Tensor tensor, DecodeTensor(list[i], context, parsed, &binary));
    // The DOM's name string outlives this loop; the tensor's may move.
    if (!names.insert(list[i]["name"].get_ref<const std::string&>()).second) {
      return Invalid(fmt::format("duplicate {} name '{}'", kind, tensor.name));
    }
    tensors.push_back(std::move(tensor));
  }
  if (binary.has_value() && !binary->empty()) {
    return Invalid(fmt::format(
        "{} bytes follow the JSON header beyond the binary_data_size sections of the {}s",
        binary->size(), kind));
  }
  return tensors;
}

absl::Status DecodeBinarySection(std::string_view section, int64_t count,
                                 std::string_view context, Tensor* tensor) {
  const size_t n = static_cast<size_t>(count);
  if (tensor->dtype != DataType::kBytes) {
    const size_t size = DataTypeSize(tensor->dtype);
    if (n > section.size() / size || n * size != section.size()) {
      return Invalid(fmt::format(
          "{}: binary_data_size is {} bytes but shape {} of {} needs {} elements of {} bytes",
          context, section.size(), ShapeString(tensor->shape), DataTypeName(tensor->dtype), count,
          size));
    }
    tensor->data.assign(section.begin(), section.end());
    return absl::OkStatus();
  }
  return DecodeBytesSection(section, n, context, tensor);
}

size_t BinarySize(const Tensor& tensor) {
  if (tensor.dtype != DataType::kBytes) return tensor.data.size();
  size_t size = 0;
  for (const std::string& s : tensor.bytes) size += 4 + s.size();
  return size;
}

void AppendTensorJson(std::string* out, const Tensor& tensor, bool binary) {
  out->append("{\"name\":");
  AppendJsonString(out, tensor.name);
  out->append(",\"datatype\":\"");
  out->append(DataTypeName(tensor.dtype));
  out->append("\",\"shape\":");
  AppendShape(out, tensor.shape);
  if (binary) {
    out->append(",\"parameters\":{\"binary_data_size\":");
    AppendInt(out, static_cast<int64_t>(BinarySize(tensor)));
    out->append("}}");
    return;
  }
  out->append(",\"data\":");
  AppendFlatData(out, tensor, BytesStyle::kString);
  out->push_back('}');
}

void AppendBinarySection(std::string* out, const Tensor& tensor) {
  if (tensor.dtype != DataType::kBytes) {
    out->append(reinterpret_cast<const char*>(tensor.data.data()), tensor.data.size());
    return;
  }
  for (const std::string& s : tensor.bytes) {
    AppendLittleEndian(out, static_cast<uint32_t>(s.size()));
    out->append(s);
  }
}

}  // namespace dnoscope::protocol
