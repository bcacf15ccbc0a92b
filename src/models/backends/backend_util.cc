#include "models/backends/backend_util.h"

#include <filesystem>
#include <fstream>
#include <optional>

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

namespace {

uint32_t BigEndian(const std::string& s, size_t at, int bytes) {
  uint32_t v = 0;
  for (int i = 0; i < bytes; ++i) v = (v << 8) | static_cast<uint8_t>(s[at + i]);
  return v;
}

bool IsJpegFrameMarker(uint8_t m) {
  return m >= 0xC0 && m <= 0xCF && m != 0xC4 && m != 0xC8 && m != 0xCC;
}

// Width and height from a PNG IHDR or a JPEG SOFn header, without decoding;
// nullopt for other formats or truncated headers.
std::optional<cv::Size> EncodedImageSize(const std::string& s) {
  static constexpr char kPng[] = "\x89PNG\r\n\x1a\n";
  if (s.size() >= 24 && s.compare(0, 8, kPng, 8) == 0 && s.compare(12, 4, "IHDR") == 0) {
    return cv::Size(static_cast<int>(std::min<uint32_t>(BigEndian(s, 16, 4), INT32_MAX)),
                    static_cast<int>(std::min<uint32_t>(BigEndian(s, 20, 4), INT32_MAX)));
  }
  if (s.size() < 4 || static_cast<uint8_t>(s[0]) != 0xFF || static_cast<uint8_t>(s[1]) != 0xD8) {
    return std::nullopt;
  }
  size_t i = 2;
  while (i + 4 <= s.size()) {
    if (static_cast<uint8_t>(s[i]) != 0xFF) return std::nullopt;
    const uint8_t marker = static_cast<uint8_t>(s[i + 1]);
    if (marker == 0xFF) {  // fill byte
      ++i;
      continue;
    }
    if (marker == 0x01 || (marker >= 0xD0 && marker <= 0xD8)) {
      i += 2;
      continue;
    }
    if (IsJpegFrameMarker(marker)) {
      if (i + 9 > s.size()) return std::nullopt;
      return cv::Size(static_cast<int>(BigEndian(s, i + 7, 2)),
                      static_cast<int>(BigEndian(s, i + 5, 2)));
    }
    i += 2 + BigEndian(s, i + 2, 2);
  }
  return std::nullopt;
}

}  // namespace

absl::StatusOr<cv::Mat> DecodeImageTensor(const Tensor& tensor) {
  if (tensor.dtype != DataType::kBytes || tensor.NumElements() != 1 || tensor.bytes.size() != 1) {
    return absl::InvalidArgumentError(
        fmt::format("tensor '{}' must hold exactly one encoded image (BYTES with 1 element), got {} {}",
                    tensor.name, DataTypeName(tensor.dtype), ShapeString(tensor.shape)));
  }
  const std::string& encoded = tensor.bytes[0];
  // A few hundred bytes can claim gigapixels: refuse before allocating.
  if (std::optional<cv::Size> size = EncodedImageSize(encoded);
      size && static_cast<int64_t>(size->width) * size->height > kMaxEncodedImagePixels) {
    return absl::InvalidArgumentError(
        fmt::format("tensor '{}': a {}x{} image is larger than the {} pixels accepted", tensor.name,
                    size->width, size->height, kMaxEncodedImagePixels));
  }
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
