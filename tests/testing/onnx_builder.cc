#include "testing/onnx_builder.h"

#include <cstring>
#include <initializer_list>

namespace dnoscope::models::testing {
namespace {

// onnx.proto enums.
constexpr int kFloat = 1;
constexpr int kUint8 = 2;
constexpr int kAttributeInt = 2;
constexpr int kAttributeInts = 7;

// TypeProto for a tensor; a dimension < 0 is written as the symbolic "N".
ProtoWriter TensorType(int elem_type, std::initializer_list<int64_t> dims) {
  ProtoWriter shape;
  for (int64_t d : dims) {
    ProtoWriter dim;
    if (d < 0) {
      dim.Bytes(2, "N");
    } else {
      dim.Varint(1, static_cast<uint64_t>(d));
    }
    shape.Message(1, dim);
  }
  ProtoWriter tensor;
  tensor.Varint(1, elem_type).Message(2, shape);
  ProtoWriter type;
  type.Message(1, tensor);
  return type;
}

ProtoWriter ValueInfo(std::string_view name, int elem_type, std::initializer_list<int64_t> dims) {
  ProtoWriter info;
  info.Bytes(1, name).Message(2, TensorType(elem_type, dims));
  return info;
}

ProtoWriter Node(std::string_view op, std::initializer_list<std::string_view> inputs,
                 std::string_view output) {
  ProtoWriter node;
  for (std::string_view in : inputs) node.Bytes(1, in);
  node.Bytes(2, output).Bytes(3, output).Bytes(4, op);
  return node;
}

ProtoWriter IntAttribute(std::string_view name, int64_t value) {
  ProtoWriter a;
  a.Bytes(1, name).Varint(3, static_cast<uint64_t>(value)).Varint(20, kAttributeInt);
  return a;
}

ProtoWriter IntsAttribute(std::string_view name, std::initializer_list<int64_t> values) {
  ProtoWriter a;
  a.Bytes(1, name);
  for (int64_t v : values) a.Varint(8, static_cast<uint64_t>(v));
  a.Varint(20, kAttributeInts);
  return a;
}

// A FLOAT initializer of shape `dims` with every element `value`.
ProtoWriter FilledFloat(std::string_view name, std::initializer_list<int64_t> dims, float value) {
  ProtoWriter t;
  int64_t count = 1;
  for (int64_t d : dims) {
    t.Varint(1, static_cast<uint64_t>(d));
    count *= d;
  }
  t.Varint(2, kFloat);
  for (int64_t i = 0; i < count; ++i) t.Float(4, value);
  t.Bytes(8, name);
  return t;
}

// OpenCV 4.6 imports ReduceMean with a fixed batch size, so the mean is
// taken the way our exported classifiers compute: layout change, pooling,
// then a dense layer (mean of the 3 channel means, scaled to [0,1]).
ProtoWriter Graph(int height, int width, int fixed_batch) {
  const int64_t n = fixed_batch > 0 ? fixed_batch : -1;
  ProtoWriter graph;
  graph.Message(1, Node("Cast", {"images"}, "pixels").Message(5, IntAttribute("to", kFloat)));
  graph.Message(
      1, Node("Transpose", {"pixels"}, "nchw").Message(5, IntsAttribute("perm", {0, 3, 1, 2})));
  graph.Message(1, Node("GlobalAveragePool", {"nchw"}, "pooled"));
  graph.Message(1,
                Node("Flatten", {"pooled"}, "channel_means").Message(5, IntAttribute("axis", 1)));
  graph.Message(1, Node("MatMul", {"channel_means", "weights"}, "confidence"));
  graph.Bytes(2, "mean_intensity");
  graph.Message(5, FilledFloat("weights", {3, 1}, 1.0f / (3 * 255.0f)));
  graph.Message(11, ValueInfo("images", kUint8, {n, height, width, 3}));
  graph.Message(12, ValueInfo("confidence", kFloat, {n, 1}));
  return graph;
}

}  // namespace

void ProtoWriter::Key(int field, int wire_type) {
  RawVarint((static_cast<uint64_t>(field) << 3) | wire_type);
}

void ProtoWriter::RawVarint(uint64_t value) {
  while (value >= 0x80) {
    bytes_.push_back(static_cast<char>((value & 0x7f) | 0x80));
    value >>= 7;
  }
  bytes_.push_back(static_cast<char>(value));
}

ProtoWriter& ProtoWriter::Varint(int field, uint64_t value) {
  Key(field, 0);
  RawVarint(value);
  return *this;
}

ProtoWriter& ProtoWriter::Bytes(int field, std::string_view bytes) {
  Key(field, 2);
  RawVarint(bytes.size());
  bytes_.append(bytes);
  return *this;
}

ProtoWriter& ProtoWriter::Fixed32(int field, uint32_t value) {
  Key(field, 5);
  for (int i = 0; i < 4; ++i) bytes_.push_back(static_cast<char>((value >> (8 * i)) & 0xff));
  return *this;
}

ProtoWriter& ProtoWriter::Float(int field, float value) {
  uint32_t bits;
  std::memcpy(&bits, &value, sizeof(bits));
  return Fixed32(field, bits);
}

std::string MeanIntensityClassifierOnnx(int height, int width, int fixed_batch) {
  ProtoWriter opset;
  opset.Bytes(1, "").Varint(2, 13);
  ProtoWriter model;
  model.Varint(1, 7).Bytes(2, "dnoscope-test").Message(7, Graph(height, width, fixed_batch));
  model.Message(8, opset);
  return model.str();
}

}  // namespace dnoscope::models::testing
