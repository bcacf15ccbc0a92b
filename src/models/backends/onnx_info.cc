#include "models/backends/onnx_info.h"

#include <fstream>
#include <functional>
#include <set>
#include <sstream>

#include "absl/status/status.h"
#include "common/status_macros.h"
#include "fmt/format.h"

namespace dnoscope::models {
namespace {

// Field numbers from onnx.proto.
constexpr int kModelGraph = 7;
constexpr int kGraphInitializer = 5;
constexpr int kGraphInput = 11;
constexpr int kGraphOutput = 12;
constexpr int kTensorName = 8;
constexpr int kValueInfoName = 1;
constexpr int kValueInfoType = 2;
constexpr int kTypeTensorType = 1;
constexpr int kTensorTypeElemType = 1;
constexpr int kTensorTypeShape = 2;
constexpr int kShapeDim = 1;
constexpr int kDimValue = 1;

struct Field {
  int number = 0;
  uint64_t varint = 0;     // wire types 0, 1, 5
  std::string_view bytes;  // wire type 2
};

bool ReadVarint(std::string_view& in, uint64_t* value) {
  *value = 0;
  for (int shift = 0; shift < 64 && !in.empty(); shift += 7) {
    const uint8_t byte = static_cast<uint8_t>(in.front());
    in.remove_prefix(1);
    *value |= static_cast<uint64_t>(byte & 0x7f) << shift;
    if ((byte & 0x80) == 0) return true;
  }
  return false;
}

bool ReadFixed(std::string_view& in, size_t size, uint64_t* value) {
  if (in.size() < size) return false;
  *value = 0;
  for (size_t i = 0; i < size; ++i) *value |= static_cast<uint64_t>(uint8_t(in[i])) << (8 * i);
  in.remove_prefix(size);
  return true;
}

bool ReadField(std::string_view& in, Field* field) {
  uint64_t key = 0;
  if (!ReadVarint(in, &key)) return false;
  field->number = static_cast<int>(key >> 3);
  field->bytes = {};
  switch (key & 7) {
    case 0:
      return ReadVarint(in, &field->varint);
    case 1:
      return ReadFixed(in, 8, &field->varint);
    case 5:
      return ReadFixed(in, 4, &field->varint);
    case 2: {
      uint64_t size = 0;
      if (!ReadVarint(in, &size) || size > in.size()) return false;
      field->bytes = in.substr(0, size);
      in.remove_prefix(size);
      return true;
    }
    default:
      return false;  // groups (3, 4) do not occur in ONNX
  }
}

// Calls `visit` for each field of `message`; InvalidArgument when malformed.
absl::Status ForEachField(std::string_view message,
                          const std::function<void(const Field&)>& visit) {
  while (!message.empty()) {
    Field field;
    if (!ReadField(message, &field)) {
      return absl::InvalidArgumentError("malformed ONNX protobuf (truncated or bad wire type)");
    }
    visit(field);
  }
  return absl::OkStatus();
}

absl::Status ParseShape(std::string_view shape, std::vector<int64_t>* dims) {
  return ForEachField(shape, [&](const Field& dim) {
    if (dim.number != kShapeDim) return;
    int64_t value = -1;
    // A dim holds dim_value (varint) or dim_param (symbolic name) -> -1.
    ForEachField(dim.bytes, [&](const Field& f) {
      if (f.number == kDimValue) value = static_cast<int64_t>(f.varint);
    }).IgnoreError();
    dims->push_back(value);
  });
}

absl::StatusOr<OnnxValueInfo> ParseValueInfo(std::string_view message) {
  OnnxValueInfo info;
  std::string_view tensor_type;
  DNS_RETURN_IF_ERROR(ForEachField(message, [&](const Field& f) {
    if (f.number == kValueInfoName) info.name = std::string(f.bytes);
    if (f.number != kValueInfoType) return;
    ForEachField(f.bytes, [&](const Field& t) {
      if (t.number == kTypeTensorType) tensor_type = t.bytes;
    }).IgnoreError();
  }));
  std::string_view shape;
  DNS_RETURN_IF_ERROR(ForEachField(tensor_type, [&](const Field& f) {
    if (f.number == kTensorTypeElemType) info.elem_type = static_cast<int>(f.varint);
    if (f.number == kTensorTypeShape) shape = f.bytes;
  }));
  DNS_RETURN_IF_ERROR(ParseShape(shape, &info.dims));
  return info;
}

absl::StatusOr<OnnxGraphInfo> ParseGraph(std::string_view graph) {
  std::vector<std::string_view> inputs, outputs;
  std::set<std::string> initializers;
  DNS_RETURN_IF_ERROR(ForEachField(graph, [&](const Field& f) {
    if (f.number == kGraphInput) inputs.push_back(f.bytes);
    if (f.number == kGraphOutput) outputs.push_back(f.bytes);
    if (f.number != kGraphInitializer) return;
    ForEachField(f.bytes, [&](const Field& t) {
      if (t.number == kTensorName) initializers.insert(std::string(t.bytes));
    }).IgnoreError();
  }));
  OnnxGraphInfo info;
  for (std::string_view input : inputs) {
    DNS_ASSIGN_OR_RETURN(OnnxValueInfo value, ParseValueInfo(input));
    if (initializers.count(value.name) == 0) info.inputs.push_back(std::move(value));
  }
  for (std::string_view output : outputs) {
    DNS_ASSIGN_OR_RETURN(OnnxValueInfo value, ParseValueInfo(output));
    info.outputs.push_back(std::move(value));
  }
  return info;
}

}  // namespace

absl::StatusOr<OnnxGraphInfo> ParseOnnxGraphInfo(std::string_view model_bytes) {
  std::string_view graph;
  bool has_graph = false;
  DNS_RETURN_IF_ERROR(ForEachField(model_bytes, [&](const Field& f) {
    if (f.number == kModelGraph) graph = f.bytes, has_graph = true;
  }));
  if (!has_graph) return absl::InvalidArgumentError("ONNX model has no graph");
  return ParseGraph(graph);
}

absl::StatusOr<OnnxGraphInfo> ReadOnnxGraphInfo(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(fmt::format("ONNX file '{}' not found", path));
  std::ostringstream bytes;
  bytes << in.rdbuf();
  absl::StatusOr<OnnxGraphInfo> info = ParseOnnxGraphInfo(bytes.str());
  if (!info.ok()) {
    return absl::InvalidArgumentError(
        fmt::format("{}: {}", path, std::string(info.status().message())));
  }
  return info;
}

}  // namespace dnoscope::models
