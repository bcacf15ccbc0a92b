#include "protocol/json_reader.h"

#include <limits>
#include <utility>

#include "absl/status/status.h"
#include "fmt/format.h"

namespace dnoscope::protocol {
namespace {

// nlohmann SAX handler building a DOM the way nlohmann's own does, plus a nesting limit and the
// KServe "data" capture described in the header. See nlohmann::json_sax for the event contract.
class DomBuilder {
 public:
  explicit DomBuilder(bool capture) : capture_enabled_(capture) {}

  bool null() { return Scalar(Json(nullptr), "null"); }
  bool boolean(bool v) { return Scalar(Json(v), "boolean"); }
  bool number_integer(int64_t v) {
    return capture_ ? Captured(capture_->Int(v)) : Scalar(Json(v), "");
  }
  bool number_unsigned(uint64_t v) {
    return capture_ ? Captured(capture_->Uint(v)) : Scalar(Json(v), "");
  }
  bool number_float(double v, const std::string&) {
    return capture_ ? Captured(capture_->Double(v)) : Scalar(Json(v), "");
  }
  bool string(std::string& v) {
    return capture_ ? Captured(capture_->String(std::move(v))) : Scalar(Json(std::move(v)), "");
  }
  bool binary(Json::binary_t&) { return Fail("unexpected binary value"); }

  bool start_object(size_t) {
    if (capture_ || capture_pending_) {
      BeginCaptureIfPending();
      return Captured(capture_->Invalid("object"));
    }
    return Open(Json::object());
  }
  bool end_object() { return Close(); }
  bool start_array(size_t) {
    if (BeginCaptureIfPending() || capture_) {
      ++capture_depth_;
      return Captured(capture_->StartArray());
    }
    return Open(Json::array());
  }
  bool end_array() {
    if (!capture_) return Close();
    const bool ok = Captured(capture_->EndArray());
    if (--capture_depth_ == 0) capture_ = nullptr;
    return ok;
  }
  bool key(std::string& k) {
    Json& object = *stack_.back();
    if (stack_.size() == 1) root_key_ = k;
    capture_pending_ = capture_enabled_ && stack_.size() == 3 && in_tensor_list_ && k == "data";
    pending_ = &object[std::move(k)];
    return true;
  }
  bool parse_error(size_t, const std::string&, const nlohmann::detail::exception& e) {
    return Fail(fmt::format("malformed JSON: {}", e.what()));
  }

  absl::Status status() const { return status_; }
  ParsedJson Take() { return ParsedJson{std::move(root_), std::move(captures_)}; }

 private:
  bool Fail(std::string message) {
    if (status_.ok()) status_ = absl::InvalidArgumentError(std::move(message));
    return false;
  }

  // Places `value` at the current position; returns where it landed.
  Json* Place(Json&& value) {
    if (stack_.empty()) {
      root_ = std::move(value);
      return &root_;
    }
    if (stack_.back()->is_array()) {
      stack_.back()->push_back(std::move(value));
      return &stack_.back()->back();
    }
    *pending_ = std::move(value);
    return pending_;
  }

  bool Scalar(Json&& value, std::string_view invalid_kind) {
    if (capture_) return Captured(capture_->Invalid(invalid_kind));
    if (BeginCaptureIfPending()) {
      const bool ok = invalid_kind.empty() ? ReplayScalar(value) : capture_->Invalid(invalid_kind);
      capture_ = nullptr;
      return Captured(ok);
    }
    Place(std::move(value));
    return true;
  }

  // A bare scalar "data" value: feed the already-built Json to the builder.
  bool ReplayScalar(Json& v) {
    if (v.is_number_unsigned()) return capture_->Uint(v.get<uint64_t>());
    if (v.is_number_integer()) return capture_->Int(v.get<int64_t>());
    if (v.is_number_float()) return capture_->Double(v.get<double>());
    return capture_->String(std::move(v.get_ref<std::string&>()));
  }

  bool Open(Json&& container) {
    if (static_cast<int>(stack_.size()) >= kMaxJsonDepth) {
      return Fail(fmt::format("JSON nested deeper than {} levels", kMaxJsonDepth));
    }
    const bool tensor_list = stack_.size() == 1 && container.is_array() &&
                             (root_key_ == "inputs" || root_key_ == "outputs");
    Json* placed = Place(std::move(container));
    stack_.push_back(placed);
    if (stack_.size() == 2) in_tensor_list_ = tensor_list;
    capture_pending_ = false;
    return true;
  }

  bool Close() {
    stack_.pop_back();
    return true;
  }

  // Starts a capture when the value about to be read is a tensor's "data".
  bool BeginCaptureIfPending() {
    if (!capture_pending_) return false;
    capture_pending_ = false;
    std::optional<DataType> dtype;
    const Json* datatype = FindField(*stack_.back(), "datatype");
    if (datatype != nullptr && datatype->is_string()) {
      auto parsed = DataTypeFromName(datatype->get_ref<const std::string&>());
      if (parsed.ok()) dtype = *parsed;
    }
    *pending_ = Json(static_cast<uint64_t>(captures_.size()));
    captures_.emplace_back(dtype);
    capture_ = &captures_.back();
    capture_depth_ = 0;
    return true;
  }

  // Converts a builder rejection into the parse error, naming the tensor.
  bool Captured(bool ok) {
    if (ok) return true;
    const Json& tensor = *stack_.back();
    const std::string_view kind = root_key_ == "inputs" ? "input" : "output";
    const Json* name = FindField(tensor, "name");
    const std::string label =
        name != nullptr && name->is_string()
            ? fmt::format("{} '{}'", kind, name->get_ref<const std::string&>())
            : fmt::format("{} #{}", kind, stack_[1]->size() - 1);
    return Fail(fmt::format("{}: invalid 'data': {}", label, captures_.back().error()));
  }

  const bool capture_enabled_;
  absl::Status status_;
  Json root_;
  std::vector<Json*> stack_;
  Json* pending_ = nullptr;
  std::string root_key_;
  bool in_tensor_list_ = false;
  bool capture_pending_ = false;
  ElementBuilder* capture_ = nullptr;
  int capture_depth_ = 0;
  std::vector<ElementBuilder> captures_;
};

absl::Status FieldTypeError(std::string_view context, std::string_view key,
                            std::string_view expected, const Json& got) {
  return absl::InvalidArgumentError(fmt::format("{}: field '{}' must be {}, got {}", context, key,
                                                expected, got.type_name()));
}

}  // namespace

absl::StatusOr<ParsedJson> ParseJson(std::string_view text, bool capture_tensor_data) {
  DomBuilder builder(capture_tensor_data);
  bool ok = false;
  try {
    ok = Json::sax_parse(text.begin(), text.end(), &builder);
  } catch (const std::exception& e) {
    return absl::InvalidArgumentError(fmt::format("malformed JSON: {}", e.what()));
  }
  if (!ok) {
    if (!builder.status().ok()) return builder.status();
    return absl::InvalidArgumentError("malformed JSON");
  }
  return builder.Take();
}

std::string DumpJson(const Json& value) {
  return value.dump(-1, ' ', false, Json::error_handler_t::replace);
}

const Json* FindField(const Json& object, std::string_view key) {
  if (!object.is_object()) return nullptr;
  const auto it = object.find(key);
  return it == object.end() ? nullptr : &*it;
}

absl::StatusOr<std::string> GetString(const Json& object, std::string_view key,
                                      std::string_view context) {
  const Json* v = FindField(object, key);
  if (v == nullptr) {
    return absl::InvalidArgumentError(
        fmt::format("{}: missing required field '{}'", context, key));
  }
  if (!v->is_string()) return FieldTypeError(context, key, "a string", *v);
  return v->get<std::string>();
}

absl::StatusOr<std::string> GetOptionalString(const Json& object, std::string_view key,
                                              std::string_view context,
                                              std::string_view fallback) {
  if (FindField(object, key) == nullptr) return std::string(fallback);
  return GetString(object, key, context);
}

absl::StatusOr<bool> GetOptionalBool(const Json& object, std::string_view key,
                                     std::string_view context, bool fallback) {
  const Json* v = FindField(object, key);
  if (v == nullptr) return fallback;
  if (!v->is_boolean()) return FieldTypeError(context, key, "a boolean", *v);
  return v->get<bool>();
}

absl::StatusOr<std::optional<uint64_t>> GetOptionalSize(const Json& object, std::string_view key,
                                                        std::string_view context, uint64_t max) {
  const Json* v = FindField(object, key);
  if (v == nullptr) return std::optional<uint64_t>();
  if (!v->is_number_unsigned()) return FieldTypeError(context, key, "a non-negative integer", *v);
  const uint64_t size = v->get<uint64_t>();
  if (size > max) {
    return absl::InvalidArgumentError(
        fmt::format("{}: field '{}' is {}, more than the {} available", context, key, size, max));
  }
  return std::optional<uint64_t>(size);
}

absl::StatusOr<const Json*> GetArray(const Json& object, std::string_view key,
                                     std::string_view context) {
  const Json* v = FindField(object, key);
  if (v == nullptr) {
    return absl::InvalidArgumentError(
        fmt::format("{}: missing required field '{}'", context, key));
  }
  if (!v->is_array()) return FieldTypeError(context, key, "an array", *v);
  return v;
}

absl::StatusOr<const Json*> GetOptionalArray(const Json& object, std::string_view key,
                                             std::string_view context) {
  if (FindField(object, key) == nullptr) return nullptr;
  return GetArray(object, key, context);
}

absl::StatusOr<const Json*> GetOptionalObject(const Json& object, std::string_view key,
                                              std::string_view context) {
  const Json* v = FindField(object, key);
  if (v == nullptr) return nullptr;
  if (!v->is_object()) return FieldTypeError(context, key, "an object", *v);
  return v;
}

absl::StatusOr<std::vector<int64_t>> ParseShape(const Json& value, std::string_view context,
                                                int64_t min_dim) {
  if (!value.is_array()) {
    return absl::InvalidArgumentError(
        fmt::format("{}: 'shape' must be an array of integers, got {}", context, value.type_name()));
  }
  if (value.size() > static_cast<size_t>(kMaxRank)) {
    return absl::InvalidArgumentError(fmt::format("{}: 'shape' has {} dimensions, more than {}",
                                                  context, value.size(), kMaxRank));
  }
  std::vector<int64_t> shape;
  shape.reserve(value.size());
  for (const Json& d : value) {
    if (!d.is_number_integer() || (d.is_number_unsigned() && d.get<uint64_t>() > INT64_MAX)) {
      return absl::InvalidArgumentError(
          fmt::format("{}: 'shape' must contain integers, got {}", context, DumpJson(d)));
    }
    if (d.get<int64_t>() < min_dim) {
      return absl::InvalidArgumentError(fmt::format(
          "{}: 'shape' {} has a negative dimension", context, DumpJson(value)));
    }
    shape.push_back(d.get<int64_t>());
  }
  return shape;
}

absl::StatusOr<int64_t> CheckedElementCount(std::span<const int64_t> shape,
                                            std::string_view context) {
  int64_t n = 1;
  for (int64_t d : shape) {
    if (d == 0) return 0;
  }
  for (int64_t d : shape) {
    if (d < 0 || __builtin_mul_overflow(n, d, &n)) {
      return absl::InvalidArgumentError(
          fmt::format("{}: shape {} has too many elements", context, ShapeString(shape)));
    }
  }
  return n;
}

std::string ParameterString(const Json& value) {
  if (value.is_string()) return value.get<std::string>();
  return DumpJson(value);
}

}  // namespace dnoscope::protocol
