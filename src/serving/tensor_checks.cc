#include "serving/tensor_checks.h"

#include <algorithm>
#include <set>

#include "fmt/format.h"
#include "fmt/ranges.h"

namespace dnoscope::serving {
namespace {

const models::TensorSpec* FindSpec(const std::vector<models::TensorSpec>& specs,
                                   const std::string& name) {
  auto it = std::find_if(specs.begin(), specs.end(),
                         [&](const models::TensorSpec& s) { return s.name == name; });
  return it == specs.end() ? nullptr : &*it;
}

bool ShapeMatches(const std::vector<int64_t>& expected, const std::vector<int64_t>& got) {
  if (expected.size() != got.size()) return false;
  for (size_t i = 0; i < got.size(); ++i) {
    if (expected[i] >= 0 && expected[i] != got[i]) return false;
  }
  return true;
}

absl::Status CheckOne(const models::ModelMetadata& model, const models::TensorSpec& spec,
                      const Tensor& t) {
  if (spec.accepts_encoded_image && t.dtype == DataType::kBytes) {
    if (t.NumElements() == 1 && t.shape.size() <= 1) return absl::OkStatus();
    return absl::InvalidArgumentError(fmt::format(
        "input '{}' of model '{}': an encoded image must be BYTES [1] (one JPEG/PNG), got BYTES {}",
        t.name, model.name, ShapeString(t.shape)));
  }
  if (t.dtype != spec.dtype) {
    return absl::InvalidArgumentError(fmt::format(
        "input '{}' of model '{}' must be {}{}, got {}", t.name, model.name,
        DataTypeName(spec.dtype), spec.accepts_encoded_image ? " (or BYTES [1] JPEG/PNG)" : "",
        DataTypeName(t.dtype)));
  }
  if (!ShapeMatches(spec.shape, t.shape)) {
    return absl::InvalidArgumentError(
        fmt::format("input '{}' of model '{}' must have shape {} (-1: any size), got {}", t.name,
                    model.name, ShapeString(spec.shape), ShapeString(t.shape)));
  }
  if (model.max_batch_size > 0 && (t.shape.empty() || t.shape[0] < 1 ||
                                   t.shape[0] > model.max_batch_size)) {
    return absl::InvalidArgumentError(fmt::format(
        "input '{}' of model '{}': batch of {} is outside 1..{} (max_batch_size)", t.name,
        model.name, t.shape.empty() ? 0 : t.shape[0], model.max_batch_size));
  }
  return absl::OkStatus();
}

}  // namespace

std::string DescribeInputs(const models::ModelMetadata& model) {
  std::vector<std::string> parts;
  for (const models::TensorSpec& s : model.inputs) {
    parts.push_back(fmt::format("{} {} {}{}", s.name, DataTypeName(s.dtype), ShapeString(s.shape),
                                s.optional ? " (optional)" : ""));
  }
  return fmt::format("{}", fmt::join(parts, ", "));
}

absl::Status CheckInputs(const models::ModelMetadata& model, const std::vector<Tensor>& inputs) {
  std::set<std::string> seen;
  for (const Tensor& t : inputs) {
    const models::TensorSpec* spec = FindSpec(model.inputs, t.name);
    if (spec == nullptr) {
      return absl::InvalidArgumentError(fmt::format("model '{}' has no input '{}' (inputs: {})",
                                                    model.name, t.name, DescribeInputs(model)));
    }
    if (!seen.insert(t.name).second) {
      return absl::InvalidArgumentError(fmt::format("input '{}' is given twice", t.name));
    }
    absl::Status status = CheckOne(model, *spec, t);
    if (!status.ok()) return status;
  }
  for (const models::TensorSpec& spec : model.inputs) {
    if (!spec.optional && !seen.count(spec.name)) {
      return absl::InvalidArgumentError(fmt::format("model '{}' needs input '{}' {} {}",
                                                    model.name, spec.name,
                                                    DataTypeName(spec.dtype),
                                                    ShapeString(spec.shape)));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<std::string>> ResolveOutputs(const models::ModelMetadata& model,
                                                        const std::vector<std::string>& requested) {
  std::vector<std::string> names;
  if (requested.empty()) {
    for (const models::TensorSpec& s : model.outputs) {
      if (!s.on_request) names.push_back(s.name);
    }
    return names;
  }
  std::set<std::string> seen;
  for (const std::string& name : requested) {
    if (FindSpec(model.outputs, name) == nullptr) {
      std::vector<std::string> declared;
      for (const models::TensorSpec& s : model.outputs) declared.push_back(s.name);
      return absl::InvalidArgumentError(fmt::format("model '{}' has no output '{}' (outputs: {})",
                                                    model.name, name, fmt::join(declared, ", ")));
    }
    if (!seen.insert(name).second) {
      return absl::InvalidArgumentError(fmt::format("output '{}' is requested twice", name));
    }
  }
  return requested;
}

}  // namespace dnoscope::serving
