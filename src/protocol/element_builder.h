// ElementBuilder: turns the JSON value of one tensor (a scalar or nested arrays of numbers or
// strings) into tensor bytes, validating each element against the datatype and checking that
// the nesting is rectangular. Internal to the protocol library; the KServe and TF Serving
// decoders feed it JSON events, either straight from a SAX parser or by walking a DOM.
// Thread-safety: not thread-safe; one builder per tensor per decoding thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "common/tensor.h"

namespace dnoscope::protocol {

// The message of `status` as a std::string_view (absl's string_view is its own type here).
inline std::string_view StatusMessage(const absl::Status& status) {
  return {status.message().data(), status.message().size()};
}

// Deepest array nesting / highest tensor rank the decoders accept.
inline constexpr int kMaxRank = 32;

class ElementBuilder {
 public:
  // With a datatype, every element is converted into tensor bytes as it arrives (no
  // intermediate copy). Without one, elements are buffered until Finish() learns the type.
  explicit ElementBuilder(std::optional<DataType> dtype = std::nullopt);

  // JSON events, in document order. Each returns false once an error has been recorded
  // (see error()); after that all further events are ignored and return false.
  bool StartArray();
  bool EndArray();
  bool Int(int64_t value);
  bool Uint(uint64_t value);
  bool Double(double value);
  bool String(std::string&& value);
  // A JSON value that can never be a tensor element ("boolean", "null", "object").
  bool Invalid(std::string_view kind);
  // Rejects the next element for `reason` (e.g. bad base64), recorded as "element N: reason".
  bool Reject(std::string_view reason);

  // True once an event was rejected; error() then describes it, naming the element index
  // but not the tensor (callers prefix the tensor name).
  bool failed() const { return !error_.empty(); }
  const std::string& error() const { return error_; }

  // Number of elements seen so far.
  int64_t count() const { return count_; }

  // The shape implied by the nesting, e.g. [[1,2],[3,4]] -> [2,2], a bare scalar -> [].
  // Only meaningful after the arrays are balanced.
  std::vector<int64_t> NestingShape() const;

  // For buffered builders: BYTES when the elements are strings, FP32 when any is fractional,
  // INT64 otherwise (also for an empty value).
  DataType InferDataType() const;

  // Moves the elements into `tensor->data` (fixed-size types) or `tensor->bytes` (BYTES),
  // converting buffered ones to `dtype` first. Does not touch name, dtype or shape.
  // InvalidArgument when an element does not fit `dtype`, or when the builder was created with
  // a different datatype. Call at most once.
  absl::Status Finish(DataType dtype, Tensor* tensor);

 private:
  enum class Kind : uint8_t { kInt, kUint, kDouble, kString };
  struct Scalar {
    Kind kind;
    union {
      int64_t i;
      uint64_t u;
      double d;
      size_t string_index;
    };
  };

  bool Fail(std::string message);
  // Nesting bookkeeping for a scalar element; false when it makes the value ragged.
  bool OnScalar();
  // Converts one element to dtype_ and appends it.
  bool AppendInt(int64_t value);
  bool AppendUint(uint64_t value);
  bool AppendDouble(double value);
  bool AppendString(std::string&& value);
  template <typename T>
  void AppendRaw(T value);
  bool Replay();

  std::optional<DataType> dtype_;
  bool buffered_;
  std::string error_;
  int64_t count_ = 0;
  // Nesting state: open-array depth, element count of each open array, each depth's length
  // (-1 until the first array at that depth closes), where scalars live (-1: none yet).
  int depth_ = 0;
  int max_array_depth_ = 0;
  int leaf_depth_ = -1;
  std::vector<int64_t> open_counts_;
  std::vector<int64_t> dims_;
  // Output storage.
  std::vector<uint8_t> data_;
  std::vector<std::string> bytes_;
  // Buffered mode only.
  std::vector<Scalar> scalars_;
  std::vector<std::string> strings_;
};

}  // namespace dnoscope::protocol
