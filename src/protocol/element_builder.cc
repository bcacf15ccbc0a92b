#include "protocol/element_builder.h"

#include <cmath>
#include <cstring>
#include <limits>
#include <utility>

#include "fmt/format.h"

namespace dnoscope::protocol {
namespace {

// Exact bounds of int64_t as doubles: [-2^63, 2^63).
constexpr double kInt64Low = -9223372036854775808.0;
constexpr double kInt64High = 9223372036854775808.0;

bool InRange(int64_t v, DataType dtype) {
  switch (dtype) {
    case DataType::kUint8:
      return v >= 0 && v <= 255;
    case DataType::kInt32:
      return v >= std::numeric_limits<int32_t>::min() && v <= std::numeric_limits<int32_t>::max();
    default:
      return true;
  }
}

}  // namespace

ElementBuilder::ElementBuilder(std::optional<DataType> dtype)
    : dtype_(dtype), buffered_(!dtype.has_value()) {}

bool ElementBuilder::Fail(std::string message) {
  if (error_.empty()) error_ = std::move(message);
  return false;
}

bool ElementBuilder::StartArray() {
  if (failed()) return false;
  if (depth_ >= kMaxRank) return Fail(fmt::format("arrays nested deeper than {} levels", kMaxRank));
  if (leaf_depth_ >= 0 && depth_ + 1 > leaf_depth_) {
    return Fail(fmt::format("ragged nesting: element {} is an array where a scalar was expected",
                            count_));
  }
  if (depth_ > 0) ++open_counts_[depth_ - 1];
  ++depth_;
  if (static_cast<int>(open_counts_.size()) < depth_) {
    open_counts_.resize(depth_);
    dims_.resize(depth_, -1);
  }
  open_counts_[depth_ - 1] = 0;
  if (depth_ > max_array_depth_) max_array_depth_ = depth_;
  return true;
}

bool ElementBuilder::EndArray() {
  if (failed()) return false;
  if (depth_ == 0) return Fail("unbalanced array end");
  const int64_t n = open_counts_[depth_ - 1];
  int64_t& dim = dims_[depth_ - 1];
  if (dim < 0) {
    dim = n;
  } else if (dim != n) {
    return Fail(fmt::format("ragged nesting: an array at depth {} has {} elements, another has {}",
                            depth_ - 1, n, dim));
  }
  --depth_;
  return true;
}

bool ElementBuilder::OnScalar() {
  if (leaf_depth_ < 0) {
    if (max_array_depth_ > depth_) {
      return Fail(fmt::format("ragged nesting: element {} is a scalar where an array was expected",
                              count_));
    }
    leaf_depth_ = depth_;
  } else if (depth_ != leaf_depth_) {
    return Fail(fmt::format("ragged nesting: element {} is at depth {}, others at depth {}", count_,
                            depth_, leaf_depth_));
  }
  if (depth_ > 0) ++open_counts_[depth_ - 1];
  return true;
}

bool ElementBuilder::Int(int64_t value) {
  if (failed() || !OnScalar()) return false;
  if (!buffered_) return AppendInt(value);
  Scalar s{Kind::kInt, {}};
  s.i = value;
  scalars_.push_back(s);
  ++count_;
  return true;
}

bool ElementBuilder::Uint(uint64_t value) {
  if (failed() || !OnScalar()) return false;
  if (!buffered_) return AppendUint(value);
  Scalar s{Kind::kUint, {}};
  s.u = value;
  scalars_.push_back(s);
  ++count_;
  return true;
}

bool ElementBuilder::Double(double value) {
  if (failed() || !OnScalar()) return false;
  if (!buffered_) return AppendDouble(value);
  Scalar s{Kind::kDouble, {}};
  s.d = value;
  scalars_.push_back(s);
  ++count_;
  return true;
}

bool ElementBuilder::String(std::string&& value) {
  if (failed() || !OnScalar()) return false;
  if (!buffered_) return AppendString(std::move(value));
  Scalar s{Kind::kString, {}};
  s.string_index = strings_.size();
  strings_.push_back(std::move(value));
  scalars_.push_back(s);
  ++count_;
  return true;
}

bool ElementBuilder::Invalid(std::string_view kind) {
  if (failed()) return false;
  return Fail(fmt::format("element {}: a JSON {} is not a valid tensor element", count_, kind));
}

bool ElementBuilder::Reject(std::string_view reason) {
  if (failed()) return false;
  return Fail(fmt::format("element {}: {}", count_, reason));
}

template <typename T>
void ElementBuilder::AppendRaw(T value) {
  const size_t at = data_.size();
  data_.resize(at + sizeof(T));
  std::memcpy(data_.data() + at, &value, sizeof(T));
}

bool ElementBuilder::AppendInt(int64_t value) {
  const DataType dtype = *dtype_;
  if (dtype == DataType::kBytes) {
    return Fail(fmt::format("element {}: expected a string for BYTES, got the number {}", count_,
                            value));
  }
  if (!InRange(value, dtype)) {
    return Fail(fmt::format("element {}: {} is out of range for {}", count_, value,
                            DataTypeName(dtype)));
  }
  switch (dtype) {
    case DataType::kUint8:
      AppendRaw(static_cast<uint8_t>(value));
      break;
    case DataType::kInt32:
      AppendRaw(static_cast<int32_t>(value));
      break;
    case DataType::kInt64:
      AppendRaw(value);
      break;
    default:
      AppendRaw(static_cast<float>(value));
      break;
  }
  ++count_;
  return true;
}

bool ElementBuilder::AppendUint(uint64_t value) {
  if (value <= static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
    return AppendInt(static_cast<int64_t>(value));
  }
  if (*dtype_ == DataType::kFp32) {
    AppendRaw(static_cast<float>(value));
    ++count_;
    return true;
  }
  if (*dtype_ == DataType::kBytes) {
    return Fail(fmt::format("element {}: expected a string for BYTES, got the number {}", count_,
                            value));
  }
  return Fail(fmt::format("element {}: {} is out of range for {}", count_, value,
                          DataTypeName(*dtype_)));
}

bool ElementBuilder::AppendDouble(double value) {
  const DataType dtype = *dtype_;
  if (dtype == DataType::kFp32) {
    const float f = static_cast<float>(value);
    if (std::isinf(f) && !std::isinf(value)) {
      return Fail(fmt::format("element {}: {} is out of range for FP32", count_, value));
    }
    AppendRaw(f);
    ++count_;
    return true;
  }
  if (dtype == DataType::kBytes) {
    return Fail(fmt::format("element {}: expected a string for BYTES, got the number {}", count_,
                            value));
  }
  if (value != std::trunc(value)) {
    return Fail(fmt::format("element {}: {} is not an integer, as {} requires", count_, value,
                            DataTypeName(dtype)));
  }
  if (!(value >= kInt64Low && value < kInt64High)) {
    return Fail(fmt::format("element {}: {} is out of range for {}", count_, value,
                            DataTypeName(dtype)));
  }
  return AppendInt(static_cast<int64_t>(value));
}

bool ElementBuilder::AppendString(std::string&& value) {
  const DataType dtype = *dtype_;
  if (dtype == DataType::kBytes) {
    bytes_.push_back(std::move(value));
    ++count_;
    return true;
  }
  // Non-finite FP32 values have no JSON number form; the encoders write them as these strings.
  if (dtype == DataType::kFp32) {
    float f = 0;
    if (value == "NaN") f = std::numeric_limits<float>::quiet_NaN();
    if (value == "Infinity") f = std::numeric_limits<float>::infinity();
    if (value == "-Infinity") f = -std::numeric_limits<float>::infinity();
    if (f != 0) {
      AppendRaw(f);
      ++count_;
      return true;
    }
  }
  return Fail(fmt::format("element {}: expected a number for {}, got a string", count_,
                          DataTypeName(dtype)));
}

std::vector<int64_t> ElementBuilder::NestingShape() const {
  return std::vector<int64_t>(dims_.begin(), dims_.begin() + max_array_depth_);
}

DataType ElementBuilder::InferDataType() const {
  bool fractional = false;
  for (const Scalar& s : scalars_) {
    if (s.kind == Kind::kString) return DataType::kBytes;
    if (s.kind == Kind::kDouble) fractional = true;
  }
  return fractional ? DataType::kFp32 : DataType::kInt64;
}

bool ElementBuilder::Replay() {
  count_ = 0;
  for (const Scalar& s : scalars_) {
    bool ok = true;
    switch (s.kind) {
      case Kind::kInt:
        ok = AppendInt(s.i);
        break;
      case Kind::kUint:
        ok = AppendUint(s.u);
        break;
      case Kind::kDouble:
        ok = AppendDouble(s.d);
        break;
      case Kind::kString:
        ok = AppendString(std::move(strings_[s.string_index]));
        break;
    }
    if (!ok) return false;
  }
  scalars_.clear();
  strings_.clear();
  return true;
}

absl::Status ElementBuilder::Finish(DataType dtype, Tensor* tensor) {
  if (failed()) return absl::InvalidArgumentError(error_);
  if (buffered_) {
    dtype_ = dtype;
    buffered_ = false;
    if (dtype == DataType::kBytes) {
      bytes_.reserve(scalars_.size());
    } else {
      data_.reserve(scalars_.size() * DataTypeSize(dtype));
    }
    if (!Replay()) return absl::InvalidArgumentError(error_);
  } else if (dtype != *dtype_) {
    return absl::InvalidArgumentError(fmt::format(
        "elements were read as {} but the datatype is {}", DataTypeName(*dtype_),
        DataTypeName(dtype)));
  }
  if (dtype == DataType::kBytes) {
    tensor->bytes = std::move(bytes_);
  } else {
    tensor->data = std::move(data_);
  }
  return absl::OkStatus();
}

}  // namespace dnoscope::protocol
