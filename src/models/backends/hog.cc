#include "models/backends/hog.h"

#include <algorithm>

#include "absl/status/status.h"
#include "common/status_macros.h"
#include "fmt/format.h"
#include "models/backends/backend_util.h"
#include "opencv2/imgproc.hpp"
#include "opencv2/objdetect.hpp"

namespace dnoscope::models {
namespace {

class HogModel final : public Model {
 public:
  HogModel(ModelMetadata metadata, const HogOptions& options)
      : metadata_(std::move(metadata)), options_(options) {
    hog_.setSVMDetector(cv::HOGDescriptor::getDefaultPeopleDetector());
  }

  const ModelMetadata& metadata() const override { return metadata_; }

  absl::StatusOr<std::vector<Tensor>> Infer(const std::vector<Tensor>& inputs) override {
    DNS_ASSIGN_OR_RETURN(cv::Mat image, FindImageInput(inputs));
    std::vector<BoxDetection> boxes;
    try {
      boxes = Run(image);
    } catch (const cv::Exception& e) {
      return absl::InternalError(fmt::format("HOG detection failed: {}", e.what()));
    }
    std::vector<Tensor> outputs;
    outputs.push_back(DetectionsToTensor(boxes));
    return outputs;
  }

 private:
  std::vector<BoxDetection> Run(const cv::Mat& image) const {
    // Downscaling wide frames trades small, far-away people for speed.
    double factor = 1.0;
    cv::Mat input = image;
    if (options_.max_width > 0 && image.cols > options_.max_width) {
      factor = 1.0 * options_.max_width / image.cols;
      cv::resize(image, input, cv::Size(), factor, factor, cv::INTER_AREA);
    }
    // OpenCV's HOG reads out of bounds on images smaller than its 64x128
    // window (a remote client may send anything); no person fits there anyway.
    if (input.cols < hog_.winSize.width || input.rows < hog_.winSize.height) return {};
    std::vector<cv::Rect> found;
    std::vector<double> weights;
    const cv::Size stride(options_.win_stride, options_.win_stride);
    const cv::Size padding(options_.padding, options_.padding);
    hog_.detectMultiScale(input, found, weights, options_.hit_threshold, stride, padding,
                          options_.scale);
    std::vector<BoxDetection> boxes;
    for (size_t i = 0; i < found.size(); ++i) {
      const cv::Rect r = found[i] & cv::Rect(0, 0, input.cols, input.rows);
      if (r.empty()) continue;
      const float score = i < weights.size() ? static_cast<float>(weights[i]) : 0.0f;
      boxes.push_back({0, score, static_cast<float>(r.x / factor), static_cast<float>(r.y / factor),
                       static_cast<float>(r.br().x / factor),
                       static_cast<float>(r.br().y / factor)});
    }
    std::stable_sort(boxes.begin(), boxes.end(), [](const BoxDetection& a, const BoxDetection& b) {
      return a.score > b.score;
    });
    return boxes;
  }

  ModelMetadata metadata_;
  HogOptions options_;
  cv::HOGDescriptor hog_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<Model>> CreateHogModel(const HogOptions& options,
                                                      const std::string& name, int64_t version) {
  ModelMetadata metadata;
  metadata.name = name;
  metadata.version = version;
  metadata.backend = "hog";
  metadata.platform = "hog";
  metadata.kind = ModelKind::kDetector;
  metadata.inputs = {ImageInputSpec(), FrameIndexInputSpec(/*optional=*/true)};
  metadata.outputs = {DetectionsOutputSpec()};
  metadata.max_batch_size = 0;
  metadata.class_names = {"person"};
  return std::make_unique<HogModel>(std::move(metadata), options);
}

}  // namespace dnoscope::models
