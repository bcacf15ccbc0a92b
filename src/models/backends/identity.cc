#include "models/backends/identity.h"

#include "absl/status/status.h"
#include "common/status_macros.h"
#include "fmt/format.h"

namespace dnoscope::models {
namespace {

class IdentityModel final : public Model {
 public:
  explicit IdentityModel(ModelMetadata metadata) : metadata_(std::move(metadata)) {}

  const ModelMetadata& metadata() const override { return metadata_; }

  absl::StatusOr<std::vector<Tensor>> Infer(const std::vector<Tensor>& inputs) override {
    const Tensor* input = FindTensor(inputs, kIdentityInput);
    const TensorSpec& spec = metadata_.inputs[0];
    if (input == nullptr || input->dtype != spec.dtype) {
      return absl::InvalidArgumentError(fmt::format("model '{}' needs input '{}' of type {}",
                                                    metadata_.name, kIdentityInput,
                                                    DataTypeName(spec.dtype)));
    }
    if (metadata_.max_batch_size > 0 &&
        (input->shape.empty() || input->shape[0] < 1 || input->shape[0] > metadata_.max_batch_size)) {
      return absl::InvalidArgumentError(
          fmt::format("model '{}' needs input '{}' with a batch dimension of 1 to {}, got {}",
                      metadata_.name, kIdentityInput, metadata_.max_batch_size,
                      ShapeString(input->shape)));
    }
    DNS_RETURN_IF_ERROR(input->Validate());
    std::vector<Tensor> outputs(1, *input);
    outputs[0].name = kIdentityOutput;
    return outputs;
  }

 private:
  ModelMetadata metadata_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<Model>> CreateIdentityModel(const ModelConfig& config,
                                                           int64_t version) {
  DNS_ASSIGN_OR_RETURN(DataType dtype, DataTypeFromName(config.identity.datatype));
  ModelMetadata metadata;
  metadata.name = config.name;
  metadata.version = version;
  metadata.backend = "identity";
  metadata.platform = "identity";
  metadata.kind = ModelKind::kOther;
  metadata.max_batch_size = config.max_batch_size;
  const std::vector<int64_t> shape =
      config.max_batch_size > 0 ? std::vector<int64_t>{-1, -1} : std::vector<int64_t>{-1};
  metadata.inputs = {{kIdentityInput, dtype, shape}};
  metadata.outputs = {{kIdentityOutput, dtype, shape}};
  return std::make_unique<IdentityModel>(std::move(metadata));
}

}  // namespace dnoscope::models
