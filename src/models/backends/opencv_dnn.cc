#include "models/backends/opencv_dnn.h"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>

#include "absl/status/status.h"
#include "common/status_macros.h"
#include "fmt/format.h"
#include "models/backends/backend_util.h"
#include "models/backends/onnx_info.h"
#include "models/model_repository.h"
#include "opencv2/dnn.hpp"

namespace dnoscope::models {
namespace {

// ONNX detector exports (YOLOv5/v8) default to 640x640 when the graph's
// input size is symbolic; NoScope's specialized CNNs use 50x50.
constexpr int kDefaultOnnxDetectorSize = 640;
constexpr int kDefaultClassifierSize = 50;
constexpr int kOnnxUint8 = 2;

struct LoadedNet {
  cv::dnn::Net net;
  std::vector<std::string> output_names;
  std::string model_path;  // resolved config.model_file
  std::string platform;    // "darknet" or "onnx"
  OnnxGraphInfo onnx;      // ONNX only
};

std::string Extension(const std::string& path) {
  return std::filesystem::path(path).extension().string();
}

absl::StatusOr<cv::dnn::Net> ReadNet(const std::string& model, const std::string& weights) {
  try {
    cv::dnn::Net net = weights.empty() ? cv::dnn::readNetFromONNX(model)
                                       : cv::dnn::readNetFromDarknet(model, weights);
    if (net.empty()) return absl::InvalidArgumentError(fmt::format("'{}' holds no network", model));
    net.setPreferableBackend(cv::dnn::DNN_BACKEND_OPENCV);
    net.setPreferableTarget(cv::dnn::DNN_TARGET_CPU);
    return net;
  } catch (const cv::Exception& e) {
    return absl::InvalidArgumentError(
        fmt::format("OpenCV DNN could not load '{}': {}", model, e.what()));
  }
}

absl::StatusOr<LoadedNet> LoadNet(const ModelConfig& config, const std::string& version_dir) {
  const std::string model = ResolvePath(version_dir, config.model_file);
  DNS_RETURN_IF_ERROR(CheckFileExists(model, "model file"));
  LoadedNet loaded;
  loaded.model_path = model;
  std::string weights;
  if (Extension(model) == ".cfg") {
    if (config.weights_file.empty()) {
      return absl::InvalidArgumentError(
          fmt::format("Darknet model '{}' needs a weights file", model));
    }
    weights = ResolvePath(version_dir, config.weights_file);
    DNS_RETURN_IF_ERROR(CheckFileExists(weights, "Darknet weights file"));
    loaded.platform = "darknet";
  } else if (Extension(model) == ".onnx") {
    DNS_ASSIGN_OR_RETURN(loaded.onnx, ReadOnnxGraphInfo(model));
    loaded.platform = "onnx";
  } else {
    return absl::InvalidArgumentError(fmt::format(
        "unsupported model file '{}' (opencv_dnn loads .onnx, or .cfg + .weights)", model));
  }
  DNS_ASSIGN_OR_RETURN(loaded.net, ReadNet(model, weights));
  loaded.output_names = loaded.net.getUnconnectedOutLayersNames();
  return loaded;
}

// The [net] section's width and height of a Darknet cfg.
absl::StatusOr<cv::Size> DarknetInputSize(const std::string& cfg_path) {
  std::ifstream in(cfg_path);
  std::string line;
  bool in_net = false;
  cv::Size size;
  while (std::getline(in, line)) {
    line.erase(std::remove_if(line.begin(), line.end(),
                              [](unsigned char ch) { return std::isspace(ch) != 0; }),
               line.end());
    if (!line.empty() && line[0] == '[') in_net = line == "[net]" || line == "[network]";
    if (!in_net) continue;
    if (line.rfind("width=", 0) == 0) size.width = std::atoi(line.c_str() + 6);
    if (line.rfind("height=", 0) == 0) size.height = std::atoi(line.c_str() + 7);
  }
  if (size.width <= 0 || size.height <= 0) {
    return absl::InvalidArgumentError(
        fmt::format("Darknet cfg '{}' has no positive [net] width/height", cfg_path));
  }
  return size;
}

// Resolves an input size left at 0 by the config from the model itself.
absl::Status ResolveDetectorInputSize(const LoadedNet& loaded, DetectorHeadOptions* head) {
  if (head->input_width > 0 && head->input_height > 0) return absl::OkStatus();
  cv::Size size(kDefaultOnnxDetectorSize, kDefaultOnnxDetectorSize);
  if (loaded.platform == "darknet") {
    DNS_ASSIGN_OR_RETURN(size, DarknetInputSize(loaded.model_path));
  } else if (!loaded.onnx.inputs.empty() && loaded.onnx.inputs[0].dims.size() == 4) {
    const std::vector<int64_t>& dims = loaded.onnx.inputs[0].dims;  // NCHW
    if (dims[2] > 0 && dims[3] > 0)
      size = cv::Size(static_cast<int>(dims[3]), static_cast<int>(dims[2]));
  }
  if (head->input_width <= 0) head->input_width = size.width;
  if (head->input_height <= 0) head->input_height = size.height;
  return absl::OkStatus();
}

ModelMetadata BaseMetadata(const ModelConfig& config, int64_t version, const LoadedNet& loaded) {
  ModelMetadata metadata;
  metadata.name = config.name;
  metadata.version = version;
  metadata.backend = "opencv_dnn";
  metadata.platform = loaded.platform;
  return metadata;
}

// Raw network outputs are offered as on-request FP32 outputs named after
// their layers, shaped as the warm-up run produced them.
class DnnDetector final : public Model {
 public:
  DnnDetector(ModelMetadata metadata, LoadedNet loaded, DetectorHeadOptions head)
      : metadata_(std::move(metadata)), loaded_(std::move(loaded)), head_(std::move(head)) {}

  const ModelMetadata& metadata() const override { return metadata_; }

  absl::StatusOr<std::vector<Tensor>> Infer(const std::vector<Tensor>& inputs) override {
    return InferSelected(inputs, {});
  }

  absl::StatusOr<std::vector<Tensor>> InferSelected(
      const std::vector<Tensor>& inputs, const std::vector<std::string>& requested) override {
    DNS_ASSIGN_OR_RETURN(cv::Mat image, FindImageInput(inputs));
    InputTransform transform;
    DNS_ASSIGN_OR_RETURN(std::vector<cv::Mat> raw, Forward(image, &transform));
    std::vector<Tensor> outputs;
    const bool all_default = requested.empty();
    auto wanted = [&](const std::string& name) {
      return all_default ? name == kDetectionsOutput
                         : std::find(requested.begin(), requested.end(), name) != requested.end();
    };
    if (wanted(kDetectionsOutput)) {
      DNS_ASSIGN_OR_RETURN(std::vector<BoxDetection> boxes, Decode(raw, transform, image));
      outputs.push_back(DetectionsToTensor(boxes));
    }
    for (size_t i = 0; i < raw.size(); ++i) {
      if (wanted(loaded_.output_names[i])) outputs.push_back(BlobToTensor(loaded_.output_names[i], raw[i]));
    }
    return SelectOutputs(metadata_, std::move(outputs), requested);
  }

  // Declares the raw outputs with the shapes `raw` (a warm-up run) has.
  void DeclareRawOutputs(const std::vector<cv::Mat>& raw) {
    for (size_t i = 0; i < raw.size(); ++i) {
      Tensor t = BlobToTensor(loaded_.output_names[i], raw[i]);
      TensorSpec spec{t.name, DataType::kFp32, t.shape};
      spec.on_request = true;
      metadata_.outputs.push_back(std::move(spec));
    }
  }

  absl::StatusOr<std::vector<cv::Mat>> Forward(const cv::Mat& image, InputTransform* transform) {
    std::vector<cv::Mat> outputs;
    try {
      loaded_.net.setInput(MakeInputBlob(image, head_, transform));
      loaded_.net.forward(outputs, loaded_.output_names);
    } catch (const cv::Exception& e) {
      return absl::InternalError(
          fmt::format("model '{}' inference failed: {}", metadata_.name, e.what()));
    }
    return outputs;
  }

  absl::StatusOr<std::vector<BoxDetection>> Decode(const std::vector<cv::Mat>& raw,
                                                   const InputTransform& transform,
                                                   const cv::Mat& image) const {
    return DecodeDetections(raw, head_, transform,
                            static_cast<int>(metadata_.class_names.size()), image.cols, image.rows);
  }

 private:
  static Tensor BlobToTensor(const std::string& name, const cv::Mat& blob) {
    cv::Mat dense = blob.isContinuous() ? blob : blob.clone();
    std::vector<int64_t> shape(dense.size.p, dense.size.p + dense.dims);
    if (dense.dims == 2 && dense.rows == 1 && dense.cols == 0) shape = {0};
    return Tensor::Fp32(name, shape,
                        {reinterpret_cast<const float*>(dense.data), dense.total()});
  }

  ModelMetadata metadata_;
  LoadedNet loaded_;
  DetectorHeadOptions head_;
};

class DnnClassifier final : public Model {
 public:
  DnnClassifier(ModelMetadata metadata, LoadedNet loaded, cv::Size size)
      : metadata_(std::move(metadata)), loaded_(std::move(loaded)), size_(size) {}

  const ModelMetadata& metadata() const override { return metadata_; }

  absl::StatusOr<std::vector<Tensor>> Infer(const std::vector<Tensor>& inputs) override {
    const Tensor* input = FindTensor(inputs, metadata_.inputs[0].name);
    DNS_RETURN_IF_ERROR(CheckInput(input));
    const int n = static_cast<int>(input->shape[0]);
    const int sizes[] = {n, size_.height, size_.width, 3};
    // The graph casts and transposes itself, so the bytes go in unchanged.
    cv::Mat blob(4, sizes, CV_8U, const_cast<uint8_t*>(input->data.data()));
    cv::Mat out;
    try {
      loaded_.net.setInput(blob);
      out = loaded_.net.forward(loaded_.output_names[0]);
    } catch (const cv::Exception& e) {
      return absl::InternalError(
          fmt::format("model '{}' inference failed: {}", metadata_.name, e.what()));
    }
    if (out.type() != CV_32F || static_cast<int>(out.total()) != n || !out.isContinuous()) {
      return absl::InternalError(
          fmt::format("model '{}' returned {} values of type {} for {} images", metadata_.name,
                      out.total(), out.type(), n));
    }
    std::vector<Tensor> outputs;
    outputs.push_back(Tensor::Fp32(metadata_.outputs[0].name, {n, 1},
                                   std::span<const float>(out.ptr<float>(), n)));
    return outputs;
  }

 private:
  absl::Status CheckInput(const Tensor* input) const {
    const TensorSpec& spec = metadata_.inputs[0];
    const bool ok = input != nullptr && input->dtype == DataType::kUint8 &&
                    input->shape.size() == 4 && input->shape[0] >= 1 &&
                    input->shape[0] <= metadata_.max_batch_size &&
                    input->shape[1] == size_.height && input->shape[2] == size_.width &&
                    input->shape[3] == 3 && input->Validate().ok();
    if (ok) return absl::OkStatus();
    return absl::InvalidArgumentError(fmt::format(
        "model '{}' needs input '{}' UINT8 {} with 1 <= N <= {}, got {}", metadata_.name, spec.name,
        ShapeString(spec.shape), metadata_.max_batch_size,
        input == nullptr
            ? "no such input"
            : fmt::format("{} {}", DataTypeName(input->dtype), ShapeString(input->shape))));
  }

  ModelMetadata metadata_;
  LoadedNet loaded_;
  cv::Size size_;
};

absl::StatusOr<std::vector<std::string>> DetectorClassNames(const ModelConfig& config,
                                                            const std::string& version_dir) {
  if (config.names_file.empty()) return CocoClassNames();
  return ReadClassNames(ResolvePath(version_dir, config.names_file));
}

absl::StatusOr<std::unique_ptr<Model>> CreateDetector(const ModelConfig& config,
                                                      const std::string& version_dir,
                                                      int64_t version, LoadedNet loaded) {
  if (config.max_batch_size != 0) {
    return absl::InvalidArgumentError(
        "detectors take one image per request: max_batch_size must be 0");
  }
  DetectorHeadOptions head = config.detector;
  DNS_RETURN_IF_ERROR(ResolveDetectorInputSize(loaded, &head));
  ModelMetadata metadata = BaseMetadata(config, version, loaded);
  metadata.kind = ModelKind::kDetector;
  metadata.inputs = {ImageInputSpec(), FrameIndexInputSpec(/*optional=*/true)};
  metadata.outputs = {DetectionsOutputSpec()};
  DNS_ASSIGN_OR_RETURN(metadata.class_names, DetectorClassNames(config, version_dir));
  using ThresholdsById = std::map<int, float>;
  DNS_ASSIGN_OR_RETURN(ThresholdsById by_id,
                       ResolveClassThresholds(config.class_thresholds, metadata.class_names));
  for (const auto& [id, threshold] : by_id) head.class_thresholds[id] = threshold;
  auto detector = std::make_unique<DnnDetector>(std::move(metadata), std::move(loaded), head);
  // A warm-up run catches a names file that does not match the network.
  const cv::Mat gray(head.input_height, head.input_width, CV_8UC3, cv::Scalar::all(114));
  InputTransform transform;
  absl::StatusOr<std::vector<cv::Mat>> raw = detector->Forward(gray, &transform);
  absl::StatusOr<std::vector<BoxDetection>> warm_up =
      raw.ok() ? detector->Decode(*raw, transform, gray) : raw.status();
  if (raw.ok()) detector->DeclareRawOutputs(*raw);
  if (!warm_up.ok()) {
    return absl::InvalidArgumentError(fmt::format("model '{}' ({} class names): {}", config.name,
                                                  detector->metadata().class_names.size(),
                                                  std::string(warm_up.status().message())));
  }
  return detector;
}

// The classifier's input size: the config's, else the graph's fixed H and W.
absl::StatusOr<cv::Size> ClassifierInputSize(const ModelConfig& config, const OnnxValueInfo& in) {
  cv::Size size(config.classifier_width, config.classifier_height);
  const bool graph_fixed = in.dims.size() == 4 && in.dims[1] > 0 && in.dims[2] > 0;
  const cv::Size graph = graph_fixed
                             ? cv::Size(static_cast<int>(in.dims[2]), static_cast<int>(in.dims[1]))
                             : cv::Size(kDefaultClassifierSize, kDefaultClassifierSize);
  if (size.width <= 0) size.width = graph.width;
  if (size.height <= 0) size.height = graph.height;
  if (graph_fixed && size != graph) {
    return absl::InvalidArgumentError(
        fmt::format("config input size {}x{} differs from the graph input '{}' {}", size.width,
                    size.height, in.name, ShapeString(in.dims)));
  }
  return size;
}

absl::StatusOr<std::unique_ptr<Model>> CreateClassifier(const ModelConfig& config, int64_t version,
                                                        LoadedNet loaded) {
  if (loaded.platform != "onnx") {
    return absl::InvalidArgumentError("classifiers must be ONNX models (files.model: x.onnx)");
  }
  OnnxValueInfo in =
      loaded.onnx.inputs.empty() ? OnnxValueInfo{"images", kOnnxUint8, {}} : loaded.onnx.inputs[0];
  if (in.elem_type != kOnnxUint8) {
    return absl::InvalidArgumentError(
        fmt::format("classifier input '{}' must be UINT8 (ONNX type 2), got ONNX type {}", in.name,
                    in.elem_type));
  }
  DNS_ASSIGN_OR_RETURN(cv::Size size, ClassifierInputSize(config, in));
  ModelMetadata metadata = BaseMetadata(config, version, loaded);
  metadata.kind = ModelKind::kClassifier;
  metadata.max_batch_size = config.max_batch_size > 0 ? config.max_batch_size : 1;
  // A graph with a fixed batch dimension cannot take more.
  if (in.dims.size() == 4 && in.dims[0] > 0) {
    metadata.max_batch_size = std::min<int>(metadata.max_batch_size, static_cast<int>(in.dims[0]));
  }
  metadata.inputs = {{in.name, DataType::kUint8, {-1, size.height, size.width, 3}}};
  const std::string out = loaded.onnx.outputs.empty() ? "confidence" : loaded.onnx.outputs[0].name;
  metadata.outputs = {{out, DataType::kFp32, {-1, 1}}};
  auto classifier = std::make_unique<DnnClassifier>(std::move(metadata), std::move(loaded), size);
  // A warm-up run checks the output shape once instead of on every request.
  const cv::Mat blank(size, CV_8UC3, cv::Scalar::all(0));
  absl::StatusOr<std::vector<float>> warm_up = Classify(*classifier, {blank});
  if (!warm_up.ok()) {
    return absl::InvalidArgumentError(fmt::format("classifier '{}' failed its warm-up run: {}",
                                                  config.name,
                                                  std::string(warm_up.status().message())));
  }
  return classifier;
}

}  // namespace

absl::StatusOr<std::unique_ptr<Model>> CreateOpenCvDnnModel(const ModelConfig& config,
                                                            const std::string& version_dir,
                                                            int64_t version) {
  DNS_ASSIGN_OR_RETURN(LoadedNet loaded, LoadNet(config, version_dir));
  if (config.kind == "classifier") return CreateClassifier(config, version, std::move(loaded));
  return CreateDetector(config, version_dir, version, std::move(loaded));
}

}  // namespace dnoscope::models
