#include "video/frame_source.h"

#include <cctype>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "common/status_macros.h"
#include "fmt/format.h"
#include "opencv2/videoio.hpp"
#include "spdlog/spdlog.h"

namespace dnoscope::video {
namespace {

// Live streams get bounded waits so that an unreachable or silent URL fails
// instead of hanging the caller forever.
constexpr int kLiveOpenTimeoutMs = 10000;
constexpr int kLiveReadTimeoutMs = 10000;
constexpr double kMaxPlausibleFps = 1000;
// Containers often declare an estimated frame count (duration x fps), so a
// file counts as truncated only when it is clearly short of it.
constexpr double kTruncatedFraction = 0.98;
constexpr int64_t kTruncatedMinMissing = 2;
// Corrupt-frame warnings: the first few, then one in every kWarnEvery.
constexpr int64_t kWarnFirst = 10;
constexpr int64_t kWarnEvery = 100;
// Bytes sniffed to tell a text file from a video container.
constexpr size_t kSniffBytes = 4096;
constexpr std::string_view kFileScheme = "file://";

bool IsDevice(const std::string& uri) { return uri.rfind("/dev/video", 0) == 0; }

// True when a file that stopped after `frames_read` frames is clearly short
// of the `declared` frame count of its container.
bool LooksTruncated(int64_t frames_read, int64_t declared) {
  if (declared <= 0) return false;
  const int64_t missing = declared - frames_read;
  return missing > kTruncatedMinMissing &&
         static_cast<double>(frames_read) < kTruncatedFraction * static_cast<double>(declared);
}

std::string FourCcToString(double value) {
  const auto code = static_cast<uint32_t>(static_cast<int64_t>(value));
  std::string text;
  for (int i = 0; i < 4; ++i) {
    const char c = static_cast<char>((code >> (8 * i)) & 0xFF);
    if (c == '\0') break;
    if (!std::isprint(static_cast<unsigned char>(c))) return "";  // a codec id, not a FourCC
    text.push_back(c);
  }
  while (!text.empty() && text.back() == ' ') text.pop_back();
  return text;
}

// Every video container starts with binary bytes (sizes, magic numbers); a
// file whose head is printable text is not a video. This matters because
// FFmpeg's "tty" demuxer happily renders .txt files as ANSI-art video.
bool LooksLikeText(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::vector<char> head(kSniffBytes);
  in.read(head.data(), static_cast<std::streamsize>(head.size()));
  const auto n = static_cast<size_t>(in.gcount());
  if (n == 0) return false;
  for (size_t i = 0; i < n; ++i) {
    const auto c = static_cast<unsigned char>(head[i]);
    const bool text = c >= 0x20 || c == '\n' || c == '\r' || c == '\t' || c == '\f';
    if (!text || c == 0x7F) return false;
  }
  return true;
}

absl::Status CheckFile(const std::string& path) {
  std::error_code ec;
  const auto status = std::filesystem::status(path, ec);
  if (!std::filesystem::exists(status)) {
    return absl::NotFoundError(fmt::format("video file '{}' does not exist", path));
  }
  if (std::filesystem::is_directory(status)) {
    return absl::InvalidArgumentError(fmt::format("'{}' is a directory, not a video file", path));
  }
  if (std::filesystem::is_regular_file(status) && std::filesystem::file_size(path, ec) == 0) {
    return absl::InvalidArgumentError(fmt::format("video file '{}' is empty", path));
  }
  if (LooksLikeText(path)) {
    return absl::InvalidArgumentError(fmt::format("'{}' is a text file, not a video", path));
  }
  return absl::OkStatus();
}

bool OpenCapture(const std::string& uri, bool live, cv::VideoCapture* capture) {
  if (IsDevice(uri)) return capture->open(uri, cv::CAP_V4L2);
  if (!live) return capture->open(uri, cv::CAP_FFMPEG);
  const std::vector<int> params = {cv::CAP_PROP_OPEN_TIMEOUT_MSEC, kLiveOpenTimeoutMs,
                                   cv::CAP_PROP_READ_TIMEOUT_MSEC, kLiveReadTimeoutMs};
  return capture->open(uri, cv::CAP_FFMPEG, params);
}

VideoInfo ReadInfo(const std::string& uri, bool live, const cv::VideoCapture& capture) {
  VideoInfo info;
  info.uri = uri;
  info.live = live;
  info.width = static_cast<int>(capture.get(cv::CAP_PROP_FRAME_WIDTH));
  info.height = static_cast<int>(capture.get(cv::CAP_PROP_FRAME_HEIGHT));
  info.fps = capture.get(cv::CAP_PROP_FPS);
  // Streams may report their timebase (e.g. MPEG-TS 90 kHz) as the rate.
  if (!(info.fps > 0 && info.fps <= kMaxPlausibleFps)) info.fps = 0;
  const double count = capture.get(cv::CAP_PROP_FRAME_COUNT);
  info.frame_count = (!live && count >= 1) ? static_cast<int64_t>(count) : -1;
  info.codec = FourCcToString(capture.get(cv::CAP_PROP_FOURCC));
  info.backend = capture.getBackendName();
  return info;
}

// Opens `uri` into `*capture` and reads its properties; one clear error line
// on failure. cv::Exception never escapes.
absl::StatusOr<VideoInfo> OpenAndProbe(const std::string& uri, cv::VideoCapture* capture) {
  if (uri.empty()) return absl::InvalidArgumentError("no video given: the URI is empty");
  const bool live = IsLiveUri(uri);
  const std::string target = uri.rfind(kFileScheme, 0) == 0 ? uri.substr(kFileScheme.size()) : uri;
  if (!live) DNS_RETURN_IF_ERROR(CheckFile(target));
  try {
    if (!OpenCapture(target, live, capture)) {
      if (live) {
        return absl::UnavailableError(fmt::format(
            "cannot open video stream '{}': unreachable, refused or no video within {} ms", uri,
            kLiveOpenTimeoutMs));
      }
      return absl::InvalidArgumentError(
          fmt::format("'{}' is not a video file that OpenCV/FFmpeg can decode", uri));
    }
    VideoInfo info = ReadInfo(uri, live, *capture);
    if (info.width <= 0 || info.height <= 0 || info.codec == "ansi") {
      return absl::InvalidArgumentError(fmt::format("'{}' has no decodable video stream", uri));
    }
    return info;
  } catch (const cv::Exception& e) {
    return absl::InvalidArgumentError(fmt::format("cannot open video '{}': {}", uri, e.what()));
  }
}

absl::Status CheckOptions(const FrameSourceOptions& options) {
  if (options.skip < 1) {
    return absl::InvalidArgumentError(
        fmt::format("frame skip must be at least 1, got {}", options.skip));
  }
  if (options.max_consecutive_corrupt < 1) {
    return absl::InvalidArgumentError(fmt::format(
        "max_consecutive_corrupt must be at least 1, got {}", options.max_consecutive_corrupt));
  }
  const FrameRange& range = options.range;
  if (range.start < 0 || (range.end && *range.end < range.start)) {
    return absl::InvalidArgumentError(
        fmt::format("bad frame range '{}': need 0 <= START <= END", range.ToString()));
  }
  return absl::OkStatus();
}

// How one frame of the stream went.
enum class StepResult { kOk, kCorrupt, kEnd };
// How reading one frame from the capture went.
enum class ReadResult { kOk, kGrabFailed, kRetrieveFailed };

// FrameSource over a cv::VideoCapture (files, streams and devices).
//
// Frame i of the stream is read with grab() (decodes the compressed frame)
// and, only for sampled frames, retrieve() (converts it to BGR). A failed
// frame is "corrupt" when the stream should go on (a file well short of its
// declared frame count, or a frame that grabbed but would not convert);
// otherwise it is the end of the stream. The failure that makes a run of
// corrupt frames reach max_consecutive_corrupt ends the stream.
class CaptureFrameSource final : public FrameSource {
 public:
  CaptureFrameSource(const FrameSourceOptions& options, VideoInfo info,
                     std::unique_ptr<cv::VideoCapture> capture)
      : options_(options), info_(std::move(info)), capture_(std::move(capture)) {}

  const VideoInfo& info() const override { return info_; }
  absl::StatusOr<std::optional<Frame>> Next() override;
  int64_t corrupt_frames() const override { return corrupt_frames_; }

 private:
  StepResult Step(bool retrieve, cv::Mat* image);
  ReadResult GrabAndRetrieve(bool retrieve, cv::Mat* image);
  absl::Status SkipToStart();
  // Marks the stream ended; DataLoss when the file looks truncated.
  absl::Status Finish();
  void WarnCorrupt(int64_t index);

  const FrameSourceOptions options_;
  const VideoInfo info_;
  std::unique_ptr<cv::VideoCapture> capture_;
  int64_t next_index_ = 0;  // index of the next frame grab() reads
  int64_t consecutive_corrupt_ = 0;
  int64_t corrupt_frames_ = 0;
  int64_t ended_at_ = -1;  // first frame of the failing run that ended the stream
  bool started_ = false;
  bool done_ = false;
  absl::Status status_;  // sticky error once Next() failed
};

ReadResult CaptureFrameSource::GrabAndRetrieve(bool retrieve, cv::Mat* image) {
  bool grabbed = false;
  try {
    grabbed = capture_->grab();
    if (!grabbed) return ReadResult::kGrabFailed;
    if (!retrieve || (capture_->retrieve(*image) && !image->empty())) return ReadResult::kOk;
  } catch (const cv::Exception& e) {
    spdlog::warn("video '{}': OpenCV error at frame {}: {}", info_.uri, next_index_, e.what());
  }
  return grabbed ? ReadResult::kRetrieveFailed : ReadResult::kGrabFailed;
}

StepResult CaptureFrameSource::Step(bool retrieve, cv::Mat* image) {
  const ReadResult read = GrabAndRetrieve(retrieve, image);
  if (read == ReadResult::kOk) {
    consecutive_corrupt_ = 0;
    ++next_index_;
    return StepResult::kOk;
  }
  if (image != nullptr) image->release();
  const int64_t run_start = next_index_ - consecutive_corrupt_;
  // A frame that grabbed but would not convert exists; a failed grab means
  // more frames follow only when a file is well short of its declared count.
  const bool more_expected = read == ReadResult::kRetrieveFailed ||
                             (!info_.live && LooksTruncated(next_index_, info_.frame_count));
  if (!more_expected || ++consecutive_corrupt_ >= options_.max_consecutive_corrupt) {
    ended_at_ = run_start;
    return StepResult::kEnd;
  }
  ++next_index_;
  return StepResult::kCorrupt;
}

absl::Status CaptureFrameSource::Finish() {
  done_ = true;
  capture_->release();
  if (!info_.live && LooksTruncated(ended_at_, info_.frame_count)) {
    status_ = absl::DataLossError(fmt::format(
        "video '{}' ended at frame {} but its header declares {} frames: the file looks "
        "truncated or corrupt",
        info_.uri, ended_at_, info_.frame_count));
  }
  return status_;
}

absl::Status CaptureFrameSource::SkipToStart() {
  started_ = true;
  while (next_index_ < options_.range.start) {
    const StepResult result = Step(/*retrieve=*/false, nullptr);
    if (result == StepResult::kEnd) {
      DNS_RETURN_IF_ERROR(Finish());
      status_ = absl::InvalidArgumentError(
          fmt::format("frame range start {} is beyond the end of video '{}' ({} frames)",
                      options_.range.start, info_.uri, ended_at_));
      return status_;
    }
    if (result == StepResult::kCorrupt) WarnCorrupt(next_index_ - 1);
  }
  return absl::OkStatus();
}

void CaptureFrameSource::WarnCorrupt(int64_t index) {
  if (corrupt_frames_ <= kWarnFirst || corrupt_frames_ % kWarnEvery == 0) {
    spdlog::warn("video '{}': frame {} could not be decoded ({} corrupt frames so far)", info_.uri,
                 index, corrupt_frames_);
  }
}

absl::StatusOr<std::optional<Frame>> CaptureFrameSource::Next() {
  if (!status_.ok()) return status_;
  if (!started_) DNS_RETURN_IF_ERROR(SkipToStart());
  if (done_) return std::nullopt;
  if (options_.range.end && next_index_ >= *options_.range.end) {
    done_ = true;
    capture_->release();
    return std::nullopt;
  }
  Frame frame;
  frame.index = next_index_;
  frame.sampled = (next_index_ - options_.range.start) % options_.skip == 0;
  const StepResult result = Step(frame.sampled, &frame.image);
  if (result == StepResult::kEnd) {
    DNS_RETURN_IF_ERROR(Finish());
    if (options_.range.end && !info_.live) {
      // The same rule in every command: an END past the video is clipped.
      spdlog::warn("video '{}' ends at frame {}: frames {}:{} asked for, {}:{} processed",
                   info_.uri, ended_at_, options_.range.start, *options_.range.end,
                   options_.range.start, ended_at_);
    }
    return std::nullopt;
  }
  if (result == StepResult::kCorrupt) {
    frame.corrupt = true;
    ++corrupt_frames_;
    WarnCorrupt(frame.index);
  }
  return frame;
}

}  // namespace

bool IsLiveUri(const std::string& uri) {
  if (IsDevice(uri)) return true;
  const size_t scheme_end = uri.find("://");
  if (scheme_end == std::string::npos || scheme_end == 0) return false;
  for (size_t i = 0; i < scheme_end; ++i) {
    const auto c = static_cast<unsigned char>(uri[i]);
    if (!std::isalnum(c) && c != '+' && c != '-' && c != '.') return false;
  }
  return uri.compare(0, scheme_end, "file") != 0;
}

absl::StatusOr<VideoInfo> ProbeVideo(const std::string& uri) {
  cv::VideoCapture capture;
  return OpenAndProbe(uri, &capture);
}

absl::StatusOr<std::unique_ptr<FrameSource>> OpenFrameSource(const FrameSourceOptions& options) {
  DNS_RETURN_IF_ERROR(CheckOptions(options));
  auto capture = std::make_unique<cv::VideoCapture>();
  DNS_ASSIGN_OR_RETURN(VideoInfo info, OpenAndProbe(options.uri, capture.get()));
  if (info.frame_count > 0 && options.range.start >= info.frame_count) {
    return absl::InvalidArgumentError(
        fmt::format("frame range start {} is beyond the end of video '{}' ({} frames)",
                    options.range.start, options.uri, info.frame_count));
  }
  return std::make_unique<CaptureFrameSource>(options, std::move(info), std::move(capture));
}

}  // namespace dnoscope::video
