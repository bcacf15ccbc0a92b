// The Model interface: a batch of named tensors in, named tensors out, plus
// metadata describing them. Every backend (OpenCV DNN, HOG, replay) and, in
// later issues, the model server and the remote client stages speak it.
//
// Conventions for the two roles a model plays in the cascade:
//  - Detector (reference): input "image" UINT8 [H,W,3] BGR (any H, W) or one
//    encoded JPEG/PNG as BYTES [1], and "frame_index" INT64 [1] (required by
//    the replay backend, optional and ignored by the others);
//    output "detections" FP32 [N,6] rows (class_id, score, x1, y1, x2, y2) in
//    pixels of the image that was sent. class_id indexes metadata().class_names.
//  - Classifier (specialized): one UINT8 [N,H,W,3] input, one FP32 [N,1]
//    output holding the confidence that the object is present; names come
//    from the model (see metadata()).
//
// Thread-safety: a Model instance is NOT thread-safe (OpenCV nets are not);
// load one instance per thread.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "common/tensor.h"
#include "opencv2/core.hpp"

namespace dnoscope::models {

// kOther: neither role (e.g. the identity model used to measure serving overhead).
enum class ModelKind { kDetector, kClassifier, kOther };

// "detector", "classifier", "other".
std::string_view ModelKindName(ModelKind kind);

struct TensorSpec {
  std::string name;
  DataType dtype = DataType::kFp32;
  // -1 marks a variable dimension.
  std::vector<int64_t> shape;
  // Inputs only: the model works without it (a server must not demand it).
  bool optional = false;
  // Inputs only: also accepted as one encoded image (JPEG/PNG) in a BYTES
  // tensor of one element, decoded by the model (see FindImageInput).
  bool accepts_encoded_image = false;
  // Outputs only: produced only when a caller asks for it by name (e.g. a
  // detector's raw network outputs), not by a plain Infer.
  bool on_request = false;
};

struct ModelMetadata {
  std::string name;
  int64_t version = 1;
  // "opencv_dnn", "hog", "replay".
  std::string backend;
  // Finer format: "darknet", "onnx", "hog", "replay".
  std::string platform;
  ModelKind kind = ModelKind::kDetector;
  std::vector<TensorSpec> inputs;
  std::vector<TensorSpec> outputs;
  // Largest batch one Infer call accepts (0: no batch dimension).
  int max_batch_size = 0;
  // Detector class names, indexed by class_id.
  std::vector<std::string> class_names;
};

class Model {
 public:
  virtual ~Model() = default;
  virtual const ModelMetadata& metadata() const = 0;
  // Runs the model. InvalidArgument for missing/mis-shaped inputs (message
  // names the tensor and the expected shape), Internal for backend failures.
  virtual absl::StatusOr<std::vector<Tensor>> Infer(const std::vector<Tensor>& inputs) = 0;
  // Runs the model and returns exactly the outputs named in `requested`, in
  // that order (empty: what Infer returns). Outputs marked on_request are only
  // available here. NotFound names an output the model does not have. The
  // default runs Infer and picks; backends with on-request outputs override.
  virtual absl::StatusOr<std::vector<Tensor>> InferSelected(const std::vector<Tensor>& inputs,
                                                            const std::vector<std::string>& requested);
};

// Picks `requested` (in order, moved out of `outputs`) for `model`'s
// InferSelected; empty `requested` returns `outputs` unchanged. NotFound for
// names the model does not declare, Internal for declared ones it did not produce.
absl::StatusOr<std::vector<Tensor>> SelectOutputs(const ModelMetadata& model,
                                                  std::vector<Tensor> outputs,
                                                  const std::vector<std::string>& requested);

// One detected box, in pixels of the image the detector was given.
struct BoxDetection {
  int class_id = 0;
  float score = 0;
  float x1 = 0;
  float y1 = 0;
  float x2 = 0;
  float y2 = 0;
};

inline constexpr char kImageInput[] = "image";
inline constexpr char kFrameIndexInput[] = "frame_index";
inline constexpr char kDetectionsOutput[] = "detections";

// FP32 [N,6] "detections" tensor.
Tensor DetectionsToTensor(const std::vector<BoxDetection>& detections);
// Inverse; InvalidArgument when not FP32 [N,6].
absl::StatusOr<std::vector<BoxDetection>> DetectionsFromTensor(const Tensor& tensor);

// UINT8 [H,W,3] tensor holding a copy of a BGR uint8 image.
Tensor ImageToTensor(const cv::Mat& bgr, std::string name = kImageInput);
// UINT8 [N,H,W,3] tensor from same-size BGR uint8 images.
Tensor ImagesToBatchTensor(const std::vector<cv::Mat>& bgr, std::string name);
// A CV_8UC3 header over a UINT8 [H,W,3] tensor's data (no copy; `tensor`
// must outlive the result). InvalidArgument for other types/shapes.
absl::StatusOr<cv::Mat> TensorToImage(const Tensor& tensor);

// Convenience for detector callers: builds the inputs, runs, decodes.
absl::StatusOr<std::vector<BoxDetection>> Detect(Model& model, const cv::Mat& bgr,
                                                 int64_t frame_index);
// Convenience for classifier callers: one confidence per image. When the
// model declares a "frame_index" input (the replay classifier),
// `frame_indices` (one per image) is sent as INT64 [N]; InvalidArgument
// when it is then missing or of the wrong length.
absl::StatusOr<std::vector<float>> Classify(Model& model, const std::vector<cv::Mat>& bgr,
                                            std::span<const int64_t> frame_indices = {});

}  // namespace dnoscope::models
