// KServe v2 / Open Inference Protocol REST codecs: inference requests and responses (JSON, and
// the binary tensor data extension), server and model metadata, and error bodies.
//
// Used on both sides of the wire: the server decodes requests and encodes responses, the client
// encodes requests and decodes responses. Native structs in, native structs out; no JSON type
// appears in this header.
//
// Binary tensor data extension: when a message carries binary tensors, the HTTP body is the JSON
// header followed by the raw tensors, and the Inference-Header-Content-Length HTTP header gives
// the JSON header's length. Binary sections follow in the order of the tensors that declare
// "parameters": {"binary_data_size": N}. Fixed-size types are raw little-endian row-major;
// BYTES elements are each a 4-byte little-endian length followed by that many bytes.
//
// Thread-safety: stateless free functions over value types; safe to call concurrently.
#pragma once

#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "common/tensor.h"

namespace dnoscope::protocol {

// One entry of a request's "outputs": an output the client wants back.
struct RequestedOutput {
  std::string name;
  // Its "parameters": {"binary_data": bool}; nullopt when the request does not say, in which
  // case InferRequest::binary_data_output decides.
  std::optional<bool> binary_data;

  bool operator==(const RequestedOutput&) const = default;
};

struct InferRequest {
  std::string id;  // Empty when the request has none.
  std::vector<Tensor> inputs;
  // Empty: the server returns all of the model's outputs.
  std::vector<RequestedOutput> outputs;
  // Request "parameters": {"binary_data_output": true}: outputs go binary unless they say not.
  bool binary_data_output = false;
  // Other request-level parameters (e.g. "timeout"): strings verbatim, other JSON values in
  // their compact JSON text (5 -> "5", true -> "true"). Encoded back as JSON strings.
  std::map<std::string, std::string> parameters;
};

struct InferResponse {
  std::string model_name;
  std::string model_version;  // Empty: omitted from the JSON.
  std::string id;             // Empty: omitted from the JSON.
  std::vector<Tensor> outputs;
};

// An encoded HTTP body.
struct EncodedMessage {
  std::string body;
  // Set when binary sections follow the JSON: the length of the JSON part, to be sent as the
  // Inference-Header-Content-Length header. nullopt: the whole body is JSON.
  std::optional<size_t> json_length;
};

// ---- Server side ----

// Decodes an inference request body. `header_length` is the Inference-Header-Content-Length
// value (nullopt when the header is absent: the whole body is JSON and no input may use
// binary_data_size). Returns InvalidArgument, naming the tensor and field, for: malformed JSON
// (with nlohmann's line/column), missing or mistyped fields, unknown datatypes, negative or
// overflowing shapes, element count != product(shape), elements of the wrong JSON type or out of
// range for the datatype (fractional/out-of-range integers, strings in numeric tensors),
// binary_data_size that does not match the shape, header_length > body size, binary sections
// not adding up exactly to the rest of the body, BYTES length prefixes running past their
// section, duplicate input or requested-output names, an input with both or neither of "data"
// and binary_data_size. Allocation is bounded by the body size.
absl::StatusOr<InferRequest> DecodeInferRequest(std::string_view body,
                                                std::optional<size_t> header_length);

// Encodes a response. Output `o` goes binary when request.outputs names it with an explicit
// binary_data flag and that flag is true, or when it has no explicit flag and
// request.binary_data_output is true. InvalidArgument when an output is not a valid tensor
// (Tensor::Validate()). BYTES elements sent as JSON strings get invalid UTF-8 replaced by U+FFFD.
absl::StatusOr<EncodedMessage> EncodeInferResponse(const InferResponse& response,
                                                   const InferRequest& request);

// ---- Client side ----

// Encodes a request; with `binary_inputs` every input is sent as a binary section. The
// binary_data flags of request.outputs and binary_data_output are written as given.
// InvalidArgument when an input is not a valid tensor.
absl::StatusOr<EncodedMessage> EncodeInferRequest(const InferRequest& request, bool binary_inputs);

// Decodes a response body; same rules and errors as DecodeInferRequest ("model_name" is
// required, duplicate output names are rejected).
absl::StatusOr<InferResponse> DecodeInferResponse(std::string_view body,
                                                  std::optional<size_t> header_length);

// ---- Metadata (GET /v2 and GET /v2/models/{name}[/versions/{v}]) ----

struct TensorMetadata {
  std::string name;
  DataType datatype = DataType::kFp32;
  std::vector<int64_t> shape;  // -1 marks a variable-size dimension.

  bool operator==(const TensorMetadata&) const = default;
};

struct ServerMetadata {
  std::string name;
  std::string version;
  std::vector<std::string> extensions;

  bool operator==(const ServerMetadata&) const = default;
};

struct ModelMetadataResponse {
  std::string name;
  std::vector<std::string> versions;
  std::string platform;
  std::vector<TensorMetadata> inputs;
  std::vector<TensorMetadata> outputs;
  // dnoscope extensions, omitted when empty: "READY" or "UNAVAILABLE", and
  // why a model is unavailable (bad config, files that failed to load).
  std::string state;
  std::string reason;
  // dnoscope extension, omitted when empty: a detector's class names, indexed
  // by the class column of its "detections" output.
  std::vector<std::string> class_names;

  bool operator==(const ModelMetadataResponse&) const = default;
};

// {"name": ..., "version": ..., "extensions": [...]}.
std::string EncodeServerMetadata(const ServerMetadata& metadata);
// InvalidArgument for malformed JSON or missing/mistyped fields ("extensions" may be absent).
absl::StatusOr<ServerMetadata> DecodeServerMetadata(std::string_view body);

// {"name", "versions", "platform", "inputs": [{"name","datatype","shape"}], "outputs": [...]}.
std::string EncodeModelMetadata(const ModelMetadataResponse& metadata);
// InvalidArgument for malformed JSON, missing/mistyped fields, unknown datatypes or dimensions
// below -1 ("versions" may be absent).
absl::StatusOr<ModelMetadataResponse> DecodeModelMetadata(std::string_view body);

// {"error": message}; the body of every non-2xx KServe response.
std::string EncodeError(std::string_view message);
// The message of an {"error": ...} body; InvalidArgument when it is not one.
absl::StatusOr<std::string> DecodeError(std::string_view body);

}  // namespace dnoscope::protocol
