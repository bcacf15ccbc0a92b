#include "serving/grpc/grpc_messages.h"

#include <charconv>
#include <string>

#include "fmt/format.h"

namespace dnoscope::serving::grpc {
namespace {

inference::DataType TritonType(DataType dtype) {
  switch (dtype) {
    case DataType::kUint8:
      return inference::TYPE_UINT8;
    case DataType::kInt32:
      return inference::TYPE_INT32;
    case DataType::kInt64:
      return inference::TYPE_INT64;
    case DataType::kFp32:
      return inference::TYPE_FP32;
    case DataType::kBytes:
      return inference::TYPE_STRING;
  }
  return inference::TYPE_INVALID;
}

// The per-item dims Triton's config shows: without the batch dimension when
// the model batches.
template <typename Proto>
void SetDims(const models::TensorSpec& spec, bool batched, Proto* out) {
  auto begin = spec.shape.begin();
  if (batched && begin != spec.shape.end()) ++begin;
  out->mutable_dims()->Add(begin, spec.shape.end());
}

void SetDuration(const Duration& d, inference::StatisticDuration* out) {
  out->set_count(static_cast<uint64_t>(d.count));
  out->set_ns(static_cast<uint64_t>(d.ns));
}

}  // namespace

absl::StatusOr<int64_t> ParseVersion(std::string_view version) {
  if (version.empty()) return -1;
  int64_t v = 0;
  auto [end, ec] = std::from_chars(version.data(), version.data() + version.size(), v);
  if (ec != std::errc() || end != version.data() + version.size() || v < 1) {
    return absl::InvalidArgumentError(
        fmt::format("version must be a positive integer or empty, got '{}'", version));
  }
  return v;
}

absl::StatusOr<std::chrono::microseconds> RequestTimeout(
    const inference::ModelInferRequest& request) {
  auto it = request.parameters().find("timeout");
  if (it == request.parameters().end()) return std::chrono::microseconds(0);
  const inference::InferParameter& p = it->second;
  int64_t us = -1;
  if (p.parameter_choice_case() == inference::InferParameter::kInt64Param) us = p.int64_param();
  if (p.parameter_choice_case() == inference::InferParameter::kUint64Param &&
      p.uint64_param() <= static_cast<uint64_t>(INT64_MAX)) {
    us = static_cast<int64_t>(p.uint64_param());
  }
  if (us < 0) {
    return absl::InvalidArgumentError(
        "parameter 'timeout' must be a non-negative int64 of microseconds");
  }
  return std::chrono::microseconds(us);
}

void ToProto(const ModelDescription& d, inference::ModelMetadataResponse* out) {
  out->set_name(d.model.name);
  for (const VersionState& v : d.model.versions) out->add_versions(std::to_string(v.version));
  out->set_platform(d.model.config.backend);
  if (!d.status.ok()) return;
  out->set_platform(d.metadata.platform);
  auto add = [](const std::vector<models::TensorSpec>& specs, auto* list) {
    for (const models::TensorSpec& s : specs) {
      auto* t = list->Add();
      t->set_name(s.name);
      t->set_datatype(std::string(DataTypeName(s.dtype)));
      t->mutable_shape()->Add(s.shape.begin(), s.shape.end());
    }
  };
  add(d.metadata.inputs, out->mutable_inputs());
  add(d.metadata.outputs, out->mutable_outputs());
  for (const std::string& c : d.metadata.class_names) out->add_class_names(c);
}

void ToProto(const models::ModelConfig& config, const ModelDescription& d,
             inference::ModelConfig* out) {
  out->set_name(config.name);
  out->set_backend(config.backend);
  out->set_max_batch_size(config.max_batch_size);
  inference::ModelInstanceGroup* group = out->add_instance_group();
  group->set_name(config.name);
  group->set_count(config.instance_count);
  if (config.max_queue_delay_us > 0 || !config.preferred_batch_sizes.empty()) {
    inference::ModelDynamicBatching* batching = out->mutable_dynamic_batching();
    batching->set_max_queue_delay_microseconds(static_cast<uint64_t>(config.max_queue_delay_us));
    batching->mutable_preferred_batch_size()->Add(config.preferred_batch_sizes.begin(),
                                                  config.preferred_batch_sizes.end());
  }
  if (!d.status.ok()) return;
  out->set_platform(d.metadata.platform);
  const bool batched = config.max_batch_size > 0;
  for (const models::TensorSpec& s : d.metadata.inputs) {
    inference::ModelInput* in = out->add_input();
    in->set_name(s.name);
    in->set_data_type(TritonType(s.dtype));
    in->set_optional(s.optional);
    SetDims(s, batched, in);
  }
  for (const models::TensorSpec& s : d.metadata.outputs) {
    inference::ModelOutput* o = out->add_output();
    o->set_name(s.name);
    o->set_data_type(TritonType(s.dtype));
    SetDims(s, batched, o);
  }
}

void ToProto(const VersionStatistics& s, inference::ModelStatistics* out) {
  out->set_name(s.name);
  out->set_version(std::to_string(s.version));
  out->set_last_inference(static_cast<uint64_t>(s.last_inference_ms));
  out->set_inference_count(static_cast<uint64_t>(s.inference_count));
  out->set_execution_count(static_cast<uint64_t>(s.execution_count));
  inference::InferStatistics* i = out->mutable_inference_stats();
  SetDuration(s.success, i->mutable_success());
  SetDuration(s.fail, i->mutable_fail());
  SetDuration(s.queue, i->mutable_queue());
  SetDuration(s.compute_input, i->mutable_compute_input());
  SetDuration(s.compute_infer, i->mutable_compute_infer());
  SetDuration(s.compute_output, i->mutable_compute_output());
}

}  // namespace dnoscope::serving::grpc
