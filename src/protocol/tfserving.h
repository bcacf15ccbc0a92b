// TensorFlow Serving v1 REST API codecs: the predict API (row "instances" and columnar "inputs"
// formats), model status, model metadata and error bodies.
//
// JSON numbers carry no type, so decoders take the model's declared tensors (TensorInfo) to
// know each tensor's datatype; values are nested lists whose nesting gives the shape. Strings and
// {"b64": "..."} objects are BYTES elements (the latter base64-decoded); BYTES outputs are always
// written as {"b64": ...}. An object whose only key is "b64" with a string value is always read
// as a base64 value, never as a named-input map.
//
// Thread-safety: stateless free functions over value types; safe to call concurrently.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "common/tensor.h"

namespace dnoscope::protocol {

enum class TfFormat {
  kRow,       // {"instances": [...]} / {"predictions": [...]}
  kColumnar,  // {"inputs": ...} / {"outputs": ...}
};

// A model's declared input or output.
struct TensorInfo {
  std::string name;
  DataType dtype = DataType::kFp32;
  std::vector<int64_t> shape;  // -1 marks a variable-size dimension.
  // Also accept text/{"b64": ...} values for this tensor (then typed BYTES),
  // as a detector's "image" takes a UINT8 frame or an encoded JPEG/PNG.
  bool bytes_allowed = false;

  bool operator==(const TensorInfo&) const = default;
};

struct PredictRequest {
  TfFormat format = TfFormat::kRow;
  std::string signature_name;  // Empty when absent.
  std::vector<Tensor> inputs;
};

// Decodes a POST /v1/models/{m}:predict body. Each input takes the dtype `model_inputs`
// declares for it; shapes are not checked against the declaration (the server does that).
// Row format: "instances" is a non-empty list; each instance is a bare value (only when the model
// has exactly one input) or an object {input name: value}; all instances must name the same
// inputs with the same shapes; each input's shape is [instance count, ...instance shape].
// Columnar: "inputs" is a bare value (single-input model) or an object {name: value}; shapes
// come from the nesting. InvalidArgument for: malformed JSON, neither or both of "instances" and
// "inputs", unknown input names, ragged nesting, strings/b64 for numeric inputs or numbers for
// BYTES inputs, fractional or out-of-range integers, invalid base64, instances that disagree.
absl::StatusOr<PredictRequest> DecodePredictRequest(std::string_view body,
                                                    std::span<const TensorInfo> model_inputs);

// Encodes predict outputs: kRow -> {"predictions": [row...]} where each row is the outputs'
// slice along dimension 0 (a bare value when there is one output, else {name: value});
// kColumnar -> {"outputs": value} (one output) or {"outputs": {name: value}}. InvalidArgument
// when a tensor is invalid or, for kRow, an output is a scalar or the outputs disagree on
// dimension 0.
absl::StatusOr<std::string> EncodePredictResponse(const std::vector<Tensor>& outputs,
                                                  TfFormat format);

// ---- Client side ----

// Encodes a predict request (the mirror of EncodePredictResponse, with "instances"/"inputs"
// and an optional "signature_name"), always naming the inputs, even a single one, so the body
// is unambiguous whatever the model's input count. Same errors as EncodePredictResponse.
absl::StatusOr<std::string> EncodePredictRequest(const std::vector<Tensor>& inputs,
                                                 TfFormat format,
                                                 std::string_view signature_name = "");

// Decodes a predict response in `format`. Outputs named in `model_outputs` take its dtypes;
// others are inferred (BYTES for strings/b64, FP32 when any number is fractional, else INT64).
// A bare (unnamed) value needs exactly one entry in `model_outputs`, which names it.
// InvalidArgument as for DecodePredictRequest, and when the body is an {"error": ...}.
absl::StatusOr<std::vector<Tensor>> DecodePredictResponse(
    std::string_view body, TfFormat format, std::span<const TensorInfo> model_outputs);

// ---- Model status (GET /v1/models/{m}[/versions/{v}]) ----

struct ModelVersionStatus {
  std::string version;             // Decimal, as TF Serving writes it: "1".
  std::string state;               // "START", "LOADING", "AVAILABLE", "UNLOADING" or "END".
  std::string error_code = "OK";   // Canonical code name, e.g. "OK", "UNKNOWN".
  std::string error_message;

  bool operator==(const ModelVersionStatus&) const = default;
};

// {"model_version_status": [{"version", "state", "status": {"error_code", "error_message"}}]}.
std::string EncodeModelStatus(std::span<const ModelVersionStatus> versions);
// InvalidArgument for malformed JSON or missing/mistyped fields; "status" may be absent (OK).
absl::StatusOr<std::vector<ModelVersionStatus>> DecodeModelStatus(std::string_view body);

// ---- Model metadata (GET /v1/models/{m}[/versions/{v}]/metadata) ----

struct TfModelMetadata {
  std::string name;
  std::string version;
  std::vector<TensorInfo> inputs;   // The "serving_default" signature's inputs.
  std::vector<TensorInfo> outputs;  // ... and outputs.

  bool operator==(const TfModelMetadata&) const = default;
};

// {"model_spec": {...}, "metadata": {"signature_def": {"signature_def": {"serving_default":
// {"inputs": {name: {"dtype": "DT_UINT8", "tensor_shape": {"dim": [{"size": "-1", "name": ""}],
// "unknown_rank": false}, "name": name}}, "outputs": {...}, "method_name":
// "tensorflow/serving/predict"}}}}}. Dtypes map to DT_UINT8/DT_INT32/DT_INT64/DT_FLOAT/DT_STRING.
std::string EncodeTfModelMetadata(const TfModelMetadata& metadata);
// The same, from the parts a server has at hand; `version` is written in decimal.
std::string EncodeTfModelMetadata(std::string_view name, int64_t version,
                                  std::span<const TensorInfo> inputs,
                                  std::span<const TensorInfo> outputs);
// Reads the "serving_default" signature (or the only one, if there is exactly one).
// InvalidArgument for malformed JSON, missing fields, unknown dtypes or bad dimension sizes
// (accepted as strings or numbers, >= -1). Tensors come back sorted by name (JSON maps are
// unordered); an unknown_rank tensor gets an empty shape.
absl::StatusOr<TfModelMetadata> DecodeTfModelMetadata(std::string_view body);

// {"error": message}.
std::string EncodeTfError(std::string_view message);

}  // namespace dnoscope::protocol
