// Frame sources: video files and live streams opened through OpenCV/FFmpeg.
//
// A FrameSource yields every frame index of the requested range in order.
// With sampling (skip > 1) only every skip-th frame of the range is decoded;
// the others are yielded with `sampled == false` and an empty image so that
// the caller can give them the label of the sampled frame before them.
// Memory is bounded: one decoded frame at a time.
//
// Thread-safety: a FrameSource is used by one thread at a time.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "common/roi.h"
#include "opencv2/core.hpp"

namespace dnoscope::video {

struct VideoInfo {
  std::string uri;
  int width = 0;
  int height = 0;
  // Frames per second; 0 when unknown.
  double fps = 0;
  // Frames the container declares; -1 when unknown (live streams, some files).
  int64_t frame_count = -1;
  // FourCC of the codec, e.g. "h264", "XVID", "MJPG"; empty when unknown.
  std::string codec;
  // True for URLs/devices (udp://, tcp://, rtsp://, /dev/video*).
  bool live = false;
  // Name of the OpenCV capture backend, e.g. "FFMPEG".
  std::string backend;
};

struct Frame {
  // 0-based index in the video (not in the range).
  int64_t index = 0;
  // True when this frame was decoded (it is a sampled frame).
  bool sampled = true;
  // True when the frame could not be decoded; `image` is then empty.
  bool corrupt = false;
  // True when a live source dropped the frame to keep up (live/live_source.h,
  // --max-lateness-ms); `image` is then empty and no model sees the frame.
  bool dropped = false;
  // Full-resolution BGR uint8 image; empty unless sampled && !corrupt.
  cv::Mat image;
};

struct FrameSourceOptions {
  // File path, URL (udp://, tcp://, rtsp://, http://...) or device.
  std::string uri;
  // Frames to yield; frames before range.start are read and dropped.
  FrameRange range;
  // Decode every skip-th frame of the range (1 = every frame).
  int skip = 1;
  // Give up after this many consecutive undecodable frames (the stream is
  // then considered ended or broken).
  int max_consecutive_corrupt = 25;
};

class FrameSource {
 public:
  virtual ~FrameSource() = default;

  virtual const VideoInfo& info() const = 0;

  // The next frame of the range, or nullopt at the end of the range/stream.
  // Errors: DataLoss when a file ends well before the frame count its
  // container declares (truncated file) or breaks mid-stream.
  virtual absl::StatusOr<std::optional<Frame>> Next() = 0;

  // Frames that could not be decoded so far (reported, not fatal).
  virtual int64_t corrupt_frames() const = 0;
};

// Opens a file, URL or device. Errors (one clear line each):
// NotFound for a missing file, InvalidArgument for bad options or a file that
// is not a decodable video, Unavailable for an unreachable stream.
absl::StatusOr<std::unique_ptr<FrameSource>> OpenFrameSource(const FrameSourceOptions& options);

// Opens `uri` and reads its properties without decoding frames.
absl::StatusOr<VideoInfo> ProbeVideo(const std::string& uri);

// True when `uri` names a stream or device rather than a file.
bool IsLiveUri(const std::string& uri);

}  // namespace dnoscope::video
