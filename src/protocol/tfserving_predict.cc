// Predict API codecs of tfserving.h.
#include <algorithm>
#include <optional>

#include "absl/status/status.h"
#include "common/status_macros.h"
#include "fmt/format.h"
#include "protocol/base64.h"
#include "protocol/element_builder.h"
#include "protocol/json_reader.h"
#include "protocol/json_writer.h"
#include "protocol/tfserving.h"

namespace dnoscope::protocol {
namespace {

// Bound on the "[]" a TF encoder writes for empty tensors such as shape [2^40, 0].
constexpr int64_t kMaxEmptyArrays = int64_t{1} << 24;

absl::Status Invalid(std::string message) {
  return absl::InvalidArgumentError(std::move(message));
}

// The tensors a message may carry and how to type them.
struct Specs {
  std::span<const TensorInfo> infos;
  std::string_view kind;  // "input" or "output", for messages.
  bool infer_unknown;     // Responses: type undeclared tensors from their values.
};

bool IsB64Value(const Json& v);

// The first scalar of a nested value is a string or {"b64": ...}.
bool FirstLeafIsText(const Json* v) {
  while (v->is_array() && !v->empty()) v = &(*v)[0];
  return v->is_string() || IsB64Value(*v);
}

// The declared dtype of `name`; BYTES instead when the tensor allows it and
// `sample` (its first value, if known) is text.
absl::StatusOr<std::optional<DataType>> LookupDtype(const Specs& specs, std::string_view name,
                                                    const Json* sample = nullptr) {
  for (const TensorInfo& info : specs.infos) {
    if (info.name != name) continue;
    if (info.bytes_allowed && sample != nullptr && FirstLeafIsText(sample)) {
      return std::optional<DataType>(DataType::kBytes);
    }
    return std::optional<DataType>(info.dtype);
  }
  if (specs.infer_unknown) return std::optional<DataType>();
  return Invalid(fmt::format("unknown {} '{}'", specs.kind, name));
}

absl::StatusOr<std::string> BareName(const Specs& specs) {
  if (specs.infos.size() != 1) {
    return Invalid(fmt::format(
        "an unnamed {} value needs a model with exactly one {}, this one has {}; name the {}s",
        specs.kind, specs.kind, specs.infos.size(), specs.kind));
  }
  return specs.infos[0].name;
}

bool IsB64Value(const Json& v) {
  if (!v.is_object() || v.size() != 1) return false;
  const Json* b64 = FindField(v, "b64");
  return b64 != nullptr && b64->is_string();
}

bool IsNamedMap(const Json& v) { return v.is_object() && !IsB64Value(v); }

// Feeds a DOM value to `builder`, moving strings out of it.
bool Feed(Json& v, ElementBuilder* builder) {
  switch (v.type()) {
    case Json::value_t::array:
      if (!builder->StartArray()) return false;
      for (Json& e : v) {
        if (!Feed(e, builder)) return false;
      }
      return builder->EndArray();
    case Json::value_t::number_integer:
      return builder->Int(v.get<int64_t>());
    case Json::value_t::number_unsigned:
      return builder->Uint(v.get<uint64_t>());
    case Json::value_t::number_float:
      return builder->Double(v.get<double>());
    case Json::value_t::string:
      return builder->String(std::move(v.get_ref<std::string&>()));
    case Json::value_t::object: {
      if (!IsB64Value(v)) return builder->Invalid("object (other than {\"b64\": ...})");
      auto decoded = Base64Decode(v["b64"].get_ref<const std::string&>());
      if (!decoded.ok()) return builder->Reject(StatusMessage(decoded.status()));
      return builder->String(std::move(*decoded));
    }
    case Json::value_t::boolean:
      return builder->Invalid("boolean");
    default:
      return builder->Invalid("null");
  }
}

absl::StatusOr<Tensor> FinishTensor(std::string name, std::optional<DataType> dtype,
                                    ElementBuilder* builder, std::string_view kind) {
  Tensor t;
  t.name = std::move(name);
  t.dtype = dtype.has_value() ? *dtype : builder->InferDataType();
  t.shape = builder->NestingShape();
  absl::Status status = builder->Finish(t.dtype, &t);
  if (!status.ok()) return Invalid(fmt::format("{} '{}': {}", kind, t.name, StatusMessage(status)));
  return t;
}

absl::StatusOr<Tensor> DecodeValue(std::string name, Json& value, const Specs& specs) {
  DNS_ASSIGN_OR_RETURN(const std::optional<DataType> dtype, LookupDtype(specs, name, &value));
  ElementBuilder builder(dtype);
  Feed(value, &builder);
  return FinishTensor(std::move(name), dtype, &builder, specs.kind);
}

// Builds one tensor from `rows[i][key]` (or `rows[i]` when key is null) for every row.
absl::StatusOr<Tensor> DecodeRowTensor(std::string name, Json& rows, const std::string* key,
                                       const Specs& specs) {
  const Json* sample = nullptr;
  if (key == nullptr) {
    sample = &rows[0];
  } else if (rows[0].is_object() && rows[0].contains(*key)) {
    sample = &rows[0][*key];
  }
  DNS_ASSIGN_OR_RETURN(const std::optional<DataType> dtype, LookupDtype(specs, name, sample));
  ElementBuilder builder(dtype);
  builder.StartArray();  // The batch dimension.
  for (size_t i = 0; i < rows.size() && !builder.failed(); ++i) {
    Json& row = rows[i];
    if (IsNamedMap(row) != (key != nullptr)) {
      return Invalid(fmt::format(
          "instance #{} is {} but instance #0 is {}", i,
          key ? "a bare value" : "an object of named inputs",
          key ? "an object of named inputs" : "a bare value"));
    }
    if (key == nullptr) {
      Feed(row, &builder);
      continue;
    }
    const auto it = row.find(*key);
    if (it == row.end() || row.size() != rows[0].size()) {
      return Invalid(fmt::format("instance #{} does not name the same {}s as instance #0", i,
                                 specs.kind));
    }
    Feed(*it, &builder);
  }
  builder.EndArray();
  return FinishTensor(std::move(name), dtype, &builder, specs.kind);
}

absl::StatusOr<std::vector<Tensor>> DecodeRows(Json& rows, std::string_view field,
                                               const Specs& specs) {
  if (!rows.is_array() || rows.empty()) {
    return Invalid(fmt::format("'{}' must be a non-empty list", field));
  }
  std::vector<Tensor> tensors;
  if (!IsNamedMap(rows[0])) {
    DNS_ASSIGN_OR_RETURN(std::string name, BareName(specs));
    DNS_ASSIGN_OR_RETURN(Tensor t, DecodeRowTensor(std::move(name), rows, nullptr, specs));
    tensors.push_back(std::move(t));
    return tensors;
  }
  std::vector<std::string> keys;
  for (const auto& item : rows[0].items()) keys.push_back(item.key());
  if (keys.empty()) return Invalid(fmt::format("'{}' #0 is an empty object", field));
  for (const std::string& key : keys) {
    DNS_ASSIGN_OR_RETURN(Tensor t, DecodeRowTensor(key, rows, &key, specs));
    tensors.push_back(std::move(t));
  }
  return tensors;
}

absl::StatusOr<std::vector<Tensor>> DecodeColumns(Json& value, const Specs& specs) {
  std::vector<Tensor> tensors;
  if (!IsNamedMap(value)) {
    DNS_ASSIGN_OR_RETURN(std::string name, BareName(specs));
    DNS_ASSIGN_OR_RETURN(Tensor t, DecodeValue(std::move(name), value, specs));
    tensors.push_back(std::move(t));
    return tensors;
  }
  for (auto& [key, v] : value.items()) {
    DNS_ASSIGN_OR_RETURN(Tensor t, DecodeValue(key, v, specs));
    tensors.push_back(std::move(t));
  }
  return tensors;
}

absl::StatusOr<Json> ParseRoot(std::string_view body, std::string_view what) {
  DNS_ASSIGN_OR_RETURN(ParsedJson parsed, ParseJson(body, /*capture_tensor_data=*/false));
  if (!parsed.root.is_object()) {
    return Invalid(fmt::format("{} must be a JSON object, got {}", what, parsed.root.type_name()));
  }
  return std::move(parsed.root);
}

// Checks the tensors can be written in `format`; returns the row count for kRow.
absl::StatusOr<int64_t> CheckEncodable(const std::vector<Tensor>& tensors, TfFormat format) {
  int64_t rows = -1;
  for (const Tensor& t : tensors) {
    DNS_RETURN_IF_ERROR(t.Validate());
    int64_t arrays = 1;
    for (int64_t d : t.shape) {
      if (d == 0 || arrays > kMaxEmptyArrays / std::max<int64_t>(d, 1)) break;
      arrays *= d;
    }
    if (arrays >= kMaxEmptyArrays) {
      return Invalid(fmt::format("tensor '{}' of shape {} is too large to write as JSON", t.name,
                                 ShapeString(t.shape)));
    }
    if (format != TfFormat::kRow) continue;
    if (t.shape.empty()) {
      return Invalid(fmt::format("tensor '{}' is a scalar; the row format needs a batch dimension",
                                 t.name));
    }
    if (rows >= 0 && t.shape[0] != rows) {
      return Invalid(fmt::format("tensor '{}' has {} rows but '{}' has {}; the row format needs "
                                 "equal batch sizes", t.name, t.shape[0], tensors[0].name, rows));
    }
    rows = t.shape[0];
  }
  return std::max<int64_t>(rows, 0);
}

void AppendRows(std::string* out, const std::vector<Tensor>& tensors, int64_t rows, bool bare) {
  std::vector<int64_t> next(tensors.size(), 0);
  out->push_back('[');
  for (int64_t r = 0; r < rows; ++r) {
    if (r > 0) out->push_back(',');
    if (bare) {
      const Tensor& t = tensors[0];
      AppendNestedData(out, t, std::span(t.shape).subspan(1), &next[0], BytesStyle::kBase64);
      continue;
    }
    out->push_back('{');
    for (size_t i = 0; i < tensors.size(); ++i) {
      if (i > 0) out->push_back(',');
      AppendJsonString(out, tensors[i].name);
      out->push_back(':');
      AppendNestedData(out, tensors[i], std::span(tensors[i].shape).subspan(1), &next[i],
                       BytesStyle::kBase64);
    }
    out->push_back('}');
  }
  out->push_back(']');
}

void AppendColumns(std::string* out, const std::vector<Tensor>& tensors, bool bare) {
  if (bare) {
    int64_t next = 0;
    AppendNestedData(out, tensors[0], tensors[0].shape, &next, BytesStyle::kBase64);
    return;
  }
  out->push_back('{');
  for (size_t i = 0; i < tensors.size(); ++i) {
    if (i > 0) out->push_back(',');
    AppendJsonString(out, tensors[i].name);
    out->push_back(':');
    int64_t next = 0;
    AppendNestedData(out, tensors[i], tensors[i].shape, &next, BytesStyle::kBase64);
  }
  out->push_back('}');
}

// Writes {"<row_key>": rows} or {"<column_key>": columns}; a single tensor is written as a bare
// value when `bare_single`, otherwise every tensor is named.
absl::StatusOr<std::string> EncodePredict(const std::vector<Tensor>& tensors, TfFormat format,
                                          std::string_view row_key, std::string_view column_key,
                                          std::string_view signature_name, bool bare_single) {
  const bool bare = bare_single && tensors.size() == 1;
  DNS_ASSIGN_OR_RETURN(const int64_t rows, CheckEncodable(tensors, format));
  std::string out = "{";
  if (!signature_name.empty()) {
    out.append("\"signature_name\":");
    AppendJsonString(&out, signature_name);
    out.push_back(',');
  }
  AppendJsonString(&out, format == TfFormat::kRow ? row_key : column_key);
  out.push_back(':');
  if (format == TfFormat::kRow) {
    AppendRows(&out, tensors, rows, bare);
  } else {
    AppendColumns(&out, tensors, bare);
  }
  out.push_back('}');
  return out;
}

}  // namespace

absl::StatusOr<PredictRequest> DecodePredictRequest(std::string_view body,
                                                    std::span<const TensorInfo> model_inputs) {
  DNS_ASSIGN_OR_RETURN(Json root, ParseRoot(body, "predict request"));
  PredictRequest request;
  DNS_ASSIGN_OR_RETURN(request.signature_name,
                       GetOptionalString(root, "signature_name", "predict request"));
  const auto instances = root.find("instances");
  const auto inputs = root.find("inputs");
  if ((instances == root.end()) == (inputs == root.end())) {
    return Invalid("predict request must have exactly one of 'instances' (row format) and "
                   "'inputs' (columnar format)");
  }
  const Specs specs{model_inputs, "input", /*infer_unknown=*/false};
  if (instances != root.end()) {
    request.format = TfFormat::kRow;
    DNS_ASSIGN_OR_RETURN(request.inputs, DecodeRows(*instances, "instances", specs));
  } else {
    request.format = TfFormat::kColumnar;
    DNS_ASSIGN_OR_RETURN(request.inputs, DecodeColumns(*inputs, specs));
  }
  return request;
}

absl::StatusOr<std::string> EncodePredictResponse(const std::vector<Tensor>& outputs,
                                                  TfFormat format) {
  return EncodePredict(outputs, format, "predictions", "outputs", "", /*bare_single=*/true);
}

absl::StatusOr<std::string> EncodePredictRequest(const std::vector<Tensor>& inputs,
                                                 TfFormat format,
                                                 std::string_view signature_name) {
  return EncodePredict(inputs, format, "instances", "inputs", signature_name,
                       /*bare_single=*/false);
}

absl::StatusOr<std::vector<Tensor>> DecodePredictResponse(
    std::string_view body, TfFormat format, std::span<const TensorInfo> model_outputs) {
  DNS_ASSIGN_OR_RETURN(Json root, ParseRoot(body, "predict response"));
  if (const Json* error = FindField(root, "error"); error != nullptr) {
    return Invalid(fmt::format("predict response is an error: {}", ParameterString(*error)));
  }
  const Specs specs{model_outputs, "output", /*infer_unknown=*/true};
  const std::string_view key = format == TfFormat::kRow ? "predictions" : "outputs";
  const auto it = root.find(key);
  if (it == root.end()) return Invalid(fmt::format("predict response has no '{}'", key));
  if (format == TfFormat::kRow) return DecodeRows(*it, key, specs);
  return DecodeColumns(*it, specs);
}

}  // namespace dnoscope::protocol
