#include "models/backends/backend_util.h"

#include <filesystem>
#include <fstream>

#include "absl/status/status.h"
#include "fmt/format.h"
#include "opencv2/imgcodecs.hpp"

namespace dnoscope::models {
namespace {

std::string Trim(const std::string& s) {
  const size_t begin = s.find_first_not_of(" \t\r\n");
  if (begin == std::string::npos) return "";
  const size_t end = s.find_last_not_of(" \t\r\n");
  return s.substr(begin, end - begin + 1);
}

}  // namespace

std::string ResolvePath(const std::string& dir, const std::string& file) {
  if (dir.empty() || std::filesystem::path(file).is_absolute()) return file;
  return (std::filesystem::path(dir) / file).string();
}

absl::Status CheckFileExists(const std::string& path, const std::string& what) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) {
    return absl::NotFoundError(fmt::format("{} '{}' not found", what, path));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<std::string>> ReadClassNames(const std::string& path) {
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(fmt::format("class names file '{}' not found", path));
  std::vector<std::string> names;
  std::string line;
  while (std::getline(in, line)) names.push_back(Trim(line));
  while (!names.empty() && names.back().empty()) names.pop_back();
  if (names.empty()) {
    return absl::InvalidArgumentError(fmt::format("class names file '{}' is empty", path));
  }
  for (size_t i = 0; i < names.size(); ++i) {
    if (names[i].empty()) {
      return absl::InvalidArgumentError(
          fmt::format("class names file '{}': line {} is empty", path, i + 1));
    }
  }
  return names;
}

absl::StatusOr<std::map<int, float>> ResolveClassThresholds(
    const std::map<std::string, float>& by_name, const std::vector<std::string>& class_names) {
  std::map<int, float> by_id;
  for (const auto& [name, threshold] : by_name) {
    auto it = std::find(class_names.begin(), class_names.end(), name);
    if (it == class_names.end()) {
      return absl::InvalidArgumentError(
          fmt::format("class_thresholds names class '{}', which the model does not have", name));
    }
    by_id[static_cast<int>(it - class_names.begin())] = threshold;
  }
  return by_id;
}

TensorSpec ImageInputSpec(bool optional) {
  TensorSpec spec{kImageInput, DataType::kUint8, {-1, -1, 3}};
  spec.optional = optional;
  spec.accepts_encoded_image = true;
  return spec;
}

TensorSpec FrameIndexInputSpec(bool optional) {
  TensorSpec spec{kFrameIndexInput, DataType::kInt64, {1}};
  spec.optional = optional;
  return spec;
}
TensorSpec DetectionsOutputSpec() { return {kDetectionsOutput, DataType::kFp32, {-1, 6}}; }

absl::StatusOr<cv::Mat> DecodeImageTensor(const Tensor& tensor) {
  if (tensor.dtype != DataType::kBytes || tensor.NumElements() != 1 || tensor.bytes.size() != 1) {
    return absl::InvalidArgumentError(
        fmt::format("tensor '{}' must hold exactly one encoded image (BYTES with 1 element), got {} {}",
                    tensor.name, DataTypeName(tensor.dtype), ShapeString(tensor.shape)));
  }
  const std::string& encoded = tensor.bytes[0];
  cv::Mat image;
  try {
    const cv::Mat buffer(1, static_cast<int>(encoded.size()), CV_8UC1,
                         const_cast<char*>(encoded.data()));
    if (!encoded.empty()) image = cv::imdecode(buffer, cv::IMREAD_COLOR);
  } catch (const cv::Exception& e) {
    image.release();
  }
  if (image.empty()) {
    return absl::InvalidArgumentError(fmt::format(
        "tensor '{}': {} bytes are not a JPEG/PNG image OpenCV can decode", tensor.name,
        encoded.size()));
  }
  return image;
}

absl::StatusOr<cv::Mat> FindImageInput(const std::vector<Tensor>& inputs) {
  const Tensor* image = FindTensor(inputs, kImageInput);
  if (image == nullptr) {
    return absl::InvalidArgumentError(fmt::format(
        "missing input '{}' (UINT8 [H,W,3] BGR image, or BYTES [1] JPEG/PNG)", kImageInput));
  }
  if (image->dtype == DataType::kBytes) return DecodeImageTensor(*image);
  return TensorToImage(*image);
}

}  // namespace dnoscope::models
