#include "models/backends/backend_util.h"

#include <filesystem>
#include <fstream>

#include "absl/status/status.h"
#include "fmt/format.h"

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

TensorSpec ImageInputSpec() { return {kImageInput, DataType::kUint8, {-1, -1, 3}}; }
TensorSpec FrameIndexInputSpec() { return {kFrameIndexInput, DataType::kInt64, {1}}; }
TensorSpec DetectionsOutputSpec() { return {kDetectionsOutput, DataType::kFp32, {-1, 6}}; }

absl::StatusOr<cv::Mat> FindImageInput(const std::vector<Tensor>& inputs) {
  const Tensor* image = FindTensor(inputs, kImageInput);
  if (image == nullptr) {
    return absl::InvalidArgumentError(
        fmt::format("missing input '{}' (UINT8 [H,W,3] BGR image)", kImageInput));
  }
  return TensorToImage(*image);
}

}  // namespace dnoscope::models
