// Hand-encodes tiny ONNX models (protobuf wire format, no ONNX library) so
// that the ONNX classifier path can be tested without shipping model files.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace dnoscope::models::testing {

// Minimal protobuf writer: each call appends one field.
class ProtoWriter {
 public:
  ProtoWriter& Varint(int field, uint64_t value);
  ProtoWriter& Bytes(int field, std::string_view bytes);
  ProtoWriter& Message(int field, const ProtoWriter& message) {
    return Bytes(field, message.str());
  }
  ProtoWriter& Fixed32(int field, uint32_t value);
  ProtoWriter& Float(int field, float value);
  const std::string& str() const { return bytes_; }

 private:
  void Key(int field, int wire_type);
  void RawVarint(uint64_t value);
  std::string bytes_;
};

// A classifier whose confidence is the image's mean intensity / 255:
//   "images" UINT8 [N,height,width,3] -> Cast(float) -> Transpose(NCHW)
//   -> GlobalAveragePool -> Flatten -> MatMul(1/765 each) -> "confidence" FP32 [N,1].
// N is symbolic unless `fixed_batch` > 0. Opset 13.
std::string MeanIntensityClassifierOnnx(int height, int width, int fixed_batch = 0);

}  // namespace dnoscope::models::testing
