#include "protocol/grpc/kserve_grpc.h"

#include <cstring>
#include <limits>
#include <string>
#include <string_view>
#include <unordered_set>

#include "common/status_macros.h"
#include "fmt/format.h"
#include "protocol/element_builder.h"
#include "protocol/json_reader.h"
#include "protocol/kserve_tensors.h"

namespace dnoscope::protocol {
namespace {

absl::Status Invalid(std::string message) {
  return absl::InvalidArgumentError(std::move(message));
}

// Checks rank and dimensions; the element count.
absl::StatusOr<int64_t> CheckShape(const google::protobuf::RepeatedField<int64_t>& shape,
                                   std::string_view context) {
  if (shape.size() > kMaxRank) {
    return Invalid(fmt::format("{}: rank {} exceeds {}", context, shape.size(), kMaxRank));
  }
  for (int64_t d : shape) {
    if (d < 0) return Invalid(fmt::format("{}: negative dimension {} in shape", context, d));
  }
  return CheckedElementCount(std::span<const int64_t>(shape.data(), shape.size()), context);
}

// Copies `values` (the typed contents field `field`) into `tensor` as
// elements of type T, each checked to fit T.
template <typename T, typename Repeated>
absl::Status CopyContents(const Repeated& values, int64_t count, std::string_view field,
                          std::string_view context, Tensor* tensor) {
  if (values.size() != count) {
    return Invalid(fmt::format("{}: shape {} of {} needs {} elements in contents.{}, got {}",
                               context, ShapeString(tensor->shape), DataTypeName(tensor->dtype),
                               count, field, values.size()));
  }
  tensor->data.resize(static_cast<size_t>(count) * sizeof(T));
  T* out = tensor->MutableValues<T>().data();
  for (int64_t i = 0; i < count; ++i) {
    const auto v = values.Get(static_cast<int>(i));
    if constexpr (std::is_integral_v<T>) {
      if (v < std::numeric_limits<T>::min() || v > std::numeric_limits<T>::max()) {
        return Invalid(fmt::format("{}: element {} ({}) is out of range for {}", context, i, v,
                                   DataTypeName(tensor->dtype)));
      }
    }
    out[i] = static_cast<T>(v);
  }
  return absl::OkStatus();
}

absl::Status DecodeContents(const inference::InferTensorContents& c, int64_t count,
                            std::string_view context, Tensor* tensor) {
  switch (tensor->dtype) {
    case DataType::kUint8:
      return CopyContents<uint8_t>(c.uint_contents(), count, "uint_contents", context, tensor);
    case DataType::kInt32:
      return CopyContents<int32_t>(c.int_contents(), count, "int_contents", context, tensor);
    case DataType::kInt64:
      return CopyContents<int64_t>(c.int64_contents(), count, "int64_contents", context, tensor);
    case DataType::kFp32:
      return CopyContents<float>(c.fp32_contents(), count, "fp32_contents", context, tensor);
    case DataType::kBytes:
      if (c.bytes_contents_size() != count) {
        return Invalid(fmt::format("{}: shape {} needs {} elements in contents.bytes_contents, got {}",
                                   context, ShapeString(tensor->shape), count,
                                   c.bytes_contents_size()));
      }
      tensor->bytes.assign(c.bytes_contents().begin(), c.bytes_contents().end());
      return absl::OkStatus();
  }
  return absl::InternalError("unhandled datatype");
}

// One tensor of a request or response: `raw` is its raw contents entry, or
// nullptr when the message uses typed contents.
template <typename TensorProto>
absl::StatusOr<Tensor> DecodeTensor(const TensorProto& proto, const std::string* raw,
                                    std::string_view kind, std::string_view raw_field) {
  Tensor tensor;
  tensor.name = proto.name();
  const std::string context = fmt::format("{} '{}'", kind, tensor.name);
  absl::StatusOr<DataType> dtype = DataTypeFromName(proto.datatype());
  if (!dtype.ok()) {
    return Invalid(fmt::format("{}: {}", context, StatusMessage(dtype.status())));
  }
  tensor.dtype = *dtype;
  DNS_ASSIGN_OR_RETURN(const int64_t count, CheckShape(proto.shape(), context));
  tensor.shape.assign(proto.shape().begin(), proto.shape().end());
  if (raw == nullptr) {
    DNS_RETURN_IF_ERROR(DecodeContents(proto.contents(), count, context, &tensor));
    return tensor;
  }
  if (proto.has_contents()) {
    return Invalid(fmt::format("{}: has both contents and {}", context, raw_field));
  }
  const size_t size = DataTypeSize(tensor.dtype);
  if (size != 0 && raw->size() != static_cast<uint64_t>(count) * size) {
    return Invalid(fmt::format("{}: {} has {} bytes but shape {} of {} needs {}", context,
                               raw_field, raw->size(), ShapeString(tensor.shape),
                               DataTypeName(tensor.dtype), static_cast<uint64_t>(count) * size));
  }
  DNS_RETURN_IF_ERROR(DecodeBinarySection(*raw, count, context, &tensor));
  return tensor;
}

template <typename TensorProto>
absl::StatusOr<std::vector<Tensor>> DecodeTensors(
    const google::protobuf::RepeatedPtrField<TensorProto>& tensors,
    const google::protobuf::RepeatedPtrField<std::string>& raw, std::string_view kind,
    std::string_view raw_field) {
  if (!raw.empty() && raw.size() != tensors.size()) {
    return Invalid(fmt::format("{} has {} entries for {} {}s (one per {} expected)", raw_field,
                               raw.size(), tensors.size(), kind, kind));
  }
  std::vector<Tensor> out;
  out.reserve(tensors.size());
  std::unordered_set<std::string_view> names;
  for (int i = 0; i < tensors.size(); ++i) {
    if (!names.insert(tensors[i].name()).second) {
      return Invalid(fmt::format("duplicate {} '{}'", kind, tensors[i].name()));
    }
    DNS_ASSIGN_OR_RETURN(Tensor t, DecodeTensor(tensors[i], raw.empty() ? nullptr : &raw[i], kind,
                                                raw_field));
    out.push_back(std::move(t));
  }
  return out;
}

// Appends `tensor`'s header to `proto` and its raw contents to `raw`.
template <typename TensorProto>
absl::Status EncodeTensor(const Tensor& tensor, TensorProto* proto, std::string* raw) {
  DNS_RETURN_IF_ERROR(tensor.Validate());
  proto->set_name(tensor.name);
  proto->set_datatype(std::string(DataTypeName(tensor.dtype)));
  proto->mutable_shape()->Add(tensor.shape.begin(), tensor.shape.end());
  raw->reserve(BinarySize(tensor));
  AppendBinarySection(raw, tensor);
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::vector<Tensor>> DecodeInferInputs(const inference::ModelInferRequest& request) {
  return DecodeTensors(request.inputs(), request.raw_input_contents(), "input",
                       "raw_input_contents");
}

absl::StatusOr<std::vector<Tensor>> DecodeInferOutputs(
    const inference::ModelInferResponse& response) {
  return DecodeTensors(response.outputs(), response.raw_output_contents(), "output",
                       "raw_output_contents");
}

absl::Status EncodeInferInputs(const std::vector<Tensor>& inputs,
                               inference::ModelInferRequest* request) {
  for (const Tensor& t : inputs) {
    DNS_RETURN_IF_ERROR(EncodeTensor(t, request->add_inputs(), request->add_raw_input_contents()));
  }
  return absl::OkStatus();
}

absl::Status EncodeInferOutputs(const std::vector<Tensor>& outputs,
                                inference::ModelInferResponse* response) {
  for (const Tensor& t : outputs) {
    DNS_RETURN_IF_ERROR(
        EncodeTensor(t, response->add_outputs(), response->add_raw_output_contents()));
  }
  return absl::OkStatus();
}

// absl's canonical codes and gRPC's are the same set with the same numbers.
grpc::Status ToGrpcStatus(const absl::Status& status) {
  if (status.ok()) return grpc::Status::OK;
  return grpc::Status(static_cast<grpc::StatusCode>(status.code()),
                      std::string(status.message()));
}

absl::Status FromGrpcStatus(const grpc::Status& status) {
  if (status.ok()) return absl::OkStatus();
  return absl::Status(static_cast<absl::StatusCode>(status.error_code()),
                      status.error_message());
}

}  // namespace dnoscope::protocol
