// The tensor-list half of the KServe codecs, shared by requests and responses: decoding the
// "inputs"/"outputs" arrays (JSON data or binary sections) and writing tensors back out.
// Internal to the protocol library. Thread-safety: stateless free functions.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "common/tensor.h"
#include "protocol/json_reader.h"

namespace dnoscope::protocol {

// Splits a body into its JSON header and binary part. With no header_length the body is all
// JSON and `binary` is nullopt. InvalidArgument when header_length exceeds the body.
struct BodyParts {
  std::string_view json;
  std::optional<std::string_view> binary;
};
absl::StatusOr<BodyParts> SplitBody(std::string_view body, std::optional<size_t> header_length);

// Decodes the array `list` of tensor objects (kind: "input" or "output" for messages). Data
// comes from `parsed->captures` or, for tensors with binary_data_size, from consecutive
// sections of `binary`, which must be consumed exactly. Names must be unique.
absl::StatusOr<std::vector<Tensor>> DecodeTensorList(const Json& list, std::string_view kind,
                                                     ParsedJson* parsed,
                                                     std::optional<std::string_view> binary);

// Fills `tensor` (dtype and shape set, `count` elements) from one binary section: the raw
// little-endian elements, or for BYTES each element as a 4-byte little-endian length and its
// bytes. InvalidArgument naming `context` when the section does not hold exactly `count`
// elements. Also decodes KServe gRPC's raw_input_contents / raw_output_contents.
absl::Status DecodeBinarySection(std::string_view section, int64_t count,
                                 std::string_view context, Tensor* tensor);

// Bytes a tensor occupies as a binary section.
size_t BinarySize(const Tensor& tensor);

// Appends one tensor object: name, datatype, shape and either "data" or, when `binary`,
// "parameters": {"binary_data_size": BinarySize(tensor)}. The tensor must be valid.
void AppendTensorJson(std::string* out, const Tensor& tensor, bool binary);

// Appends the binary section of a valid tensor.
void AppendBinarySection(std::string* out, const Tensor& tensor);

}  // namespace dnoscope::protocol
