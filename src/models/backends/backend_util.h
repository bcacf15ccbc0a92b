// Helpers shared by the model backends: file resolution, class-name files,
// detector tensor specs and input lookup. Pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "models/model.h"

namespace dnoscope::models {

// `file` resolved against `dir`: absolute paths (and any path when `dir` is
// empty) are returned unchanged.
std::string ResolvePath(const std::string& dir, const std::string& file);

// NotFound "<what> '<path>' not found" unless `path` is a regular file.
absl::Status CheckFileExists(const std::string& path, const std::string& what);

// A class-names file: one name per line, surrounding whitespace trimmed,
// trailing empty lines dropped. NotFound when missing; InvalidArgument when
// it holds no names or an empty line between names.
absl::StatusOr<std::vector<std::string>> ReadClassNames(const std::string& path);

// Thresholds keyed by class name -> keyed by class id. InvalidArgument names
// an unknown class.
absl::StatusOr<std::map<int, float>> ResolveClassThresholds(
    const std::map<std::string, float>& by_name, const std::vector<std::string>& class_names);

// "image" UINT8 [-1,-1,3] (encoded images accepted), "frame_index" INT64 [1],
// "detections" FP32 [-1,6].
TensorSpec ImageInputSpec(bool optional = false);
TensorSpec FrameIndexInputSpec(bool optional = false);
TensorSpec DetectionsOutputSpec();

// Largest decoded size of an encoded image input (8192 x 8192): PNG and JPEG
// headers are checked before decoding, so a tiny file cannot make the server
// allocate gigabytes.
inline constexpr int64_t kMaxEncodedImagePixels = int64_t{8192} * 8192;

// An encoded image (JPEG/PNG/any format imdecode reads) held as the single
// element of a BYTES tensor, decoded to BGR. InvalidArgument otherwise, and
// for PNG/JPEG images over kMaxEncodedImagePixels.
absl::StatusOr<cv::Mat> DecodeImageTensor(const Tensor& tensor);

// The "image" input as a BGR Mat: a view of a UINT8 [H,W,3] tensor's data
// (the tensor must outlive it) or the decoded image of a BYTES [1] tensor
// (as sent over the wire). InvalidArgument when missing or neither.
absl::StatusOr<cv::Mat> FindImageInput(const std::vector<Tensor>& inputs);

}  // namespace dnoscope::models
