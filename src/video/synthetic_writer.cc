// WriteSyntheticScene: renders a SyntheticScene into a video, a label CSV and
// a background image.
#include <filesystem>
#include <system_error>

#include "absl/status/status.h"
#include "common/status_macros.h"
#include "fmt/format.h"
#include "labels/label_csv.h"
#include "opencv2/imgcodecs.hpp"
#include "opencv2/videoio.hpp"
#include "video/synthetic.h"

namespace dnoscope::video {
namespace {

absl::Status MakeDirectory(const std::string& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec || !std::filesystem::is_directory(dir)) {
    return absl::PermissionDeniedError(fmt::format("cannot create output directory '{}': {}", dir,
                                                   ec ? ec.message() : "not a directory"));
  }
  return absl::OkStatus();
}

absl::Status WriteImage(const std::string& path, const cv::Mat& image) {
  bool ok = false;
  try {
    ok = cv::imwrite(path, image);
  } catch (const cv::Exception& e) {
    return absl::InternalError(fmt::format("cannot write image '{}': {}", path, e.what()));
  }
  if (!ok) return absl::InternalError(fmt::format("cannot write image '{}'", path));
  return absl::OkStatus();
}

absl::Status OpenVideoWriter(const std::string& path, const SynthOptions& options,
                             cv::VideoWriter* writer) {
  const std::string& c = options.codec;
  bool ok = false;
  try {
    ok = writer->open(path, cv::VideoWriter::fourcc(c[0], c[1], c[2], c[3]), options.fps,
                      cv::Size(options.width, options.height), /*isColor=*/true);
  } catch (const cv::Exception& e) {
    ok = false;
  }
  if (!ok) {
    return absl::InvalidArgumentError(
        fmt::format("cannot write video '{}' with codec '{}' at {}x{}", path, c, options.width,
                    options.height));
  }
  return absl::OkStatus();
}

// Renders every frame into the video and label writers.
absl::Status WriteFrames(SyntheticScene& scene, cv::VideoWriter& video,
                         labels::LabelCsvWriter& labels,
                         const std::function<void(int64_t)>& on_frame, SynthResult* result) {
  cv::Mat frame;
  std::vector<labels::Detection> truth;
  while (scene.Next(&frame, &truth)) {
    try {
      video.write(frame);
    } catch (const cv::Exception& e) {
      return absl::InternalError(fmt::format("cannot write frame {} to '{}': {}", result->frames,
                                             result->video_path, e.what()));
    }
    for (const labels::Detection& detection : truth) DNS_RETURN_IF_ERROR(labels.Write(detection));
    if (!truth.empty()) ++result->positive_frames;
    ++result->frames;
    if (on_frame) on_frame(result->frames);
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<SynthResult> WriteSyntheticScene(const SynthOptions& options,
                                                const std::string& out_dir,
                                                const std::function<void(int64_t)>& on_frame) {
  DNS_ASSIGN_OR_RETURN(std::unique_ptr<SyntheticScene> scene, SyntheticScene::Create(options));
  DNS_RETURN_IF_ERROR(MakeDirectory(out_dir));
  SynthResult result;
  result.video_path = out_dir + "/video.avi";
  result.labels_path = out_dir + "/labels.csv";
  result.background_path = out_dir + "/background.png";
  DNS_RETURN_IF_ERROR(WriteImage(result.background_path, scene->background()));
  cv::VideoWriter video;
  DNS_RETURN_IF_ERROR(OpenVideoWriter(result.video_path, options, &video));
  DNS_ASSIGN_OR_RETURN(std::unique_ptr<labels::LabelCsvWriter> labels,
                       labels::LabelCsvWriter::Open(result.labels_path));
  DNS_RETURN_IF_ERROR(WriteFrames(*scene, video, *labels, on_frame, &result));
  try {
    video.release();
  } catch (const cv::Exception& e) {
    return absl::InternalError(
        fmt::format("cannot finish video '{}': {}", result.video_path, e.what()));
  }
  DNS_RETURN_IF_ERROR(labels->Close());
  result.objects = scene->objects_entered();
  return result;
}

}  // namespace dnoscope::video
