// Events: the query's answer changing on a stream (the object appeared or
// left), detected from the rows in frame order and published as JSON lines:
//
//   {"stream":"cam1","event":"appeared","frame":120,"stream_time_s":4.8,
//    "wall_time":"2026-12-05T12:00:00.123Z","stage":"reference","confidence":0.91}
//
// stream_time_s is frame / fps (0 when the rate is unknown); wall_time is UTC
// when the row was decided; stage is the status of the row that changed the
// answer (reference, specialized, diff_reused, ...) and confidence that
// stage's score (null when it has none). A stream starts "absent": a first
// row with the object is an "appeared" event. Rows that copy a label
// (skipped, corrupt, dropped) never change the answer.
//
// Sinks: JsonLinesEventSink appends to a file or stdout; WebhookEventSink
// (webhook.h) POSTs to a URL. Publish never blocks on the network.
//
// Thread-safety: an EventDetector belongs to one stream's row callback;
// sinks are thread-safe (shared by streams).
#pragma once

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <optional>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "common/mutex.h"
#include "labels/prediction_csv.h"

namespace dnoscope::live {

struct Event {
  std::string stream;
  // true: the object appeared; false: it left.
  bool present = false;
  int64_t frame = 0;
  double stream_time_s = 0;
  std::chrono::system_clock::time_point wall_time{};
  labels::FrameStatus stage = labels::FrameStatus::kReference;
  // NaN when the deciding stage gives no score.
  float confidence = 0;
};

// One JSON object, no newline.
std::string EventToJson(const Event& event);

class EventDetector {
 public:
  // `fps` <= 0: stream times are 0.
  EventDetector(std::string stream, double fps) : stream_(std::move(stream)), fps_(fps) {}

  // The event row `r` causes, if its label differs from the previous row's.
  std::optional<Event> Observe(const labels::FrameResult& r,
                               std::chrono::system_clock::time_point wall_time);

 private:
  std::string stream_;
  double fps_;
  bool present_ = false;
};

class EventSink {
 public:
  virtual ~EventSink() = default;
  // Must not block the caller on I/O it does not control.
  virtual void Publish(const Event& event) = 0;
};

class JsonLinesEventSink final : public EventSink {
 public:
  // `path` "-" is stdout. Errors: the file cannot be created.
  static absl::StatusOr<std::unique_ptr<JsonLinesEventSink>> Open(const std::string& path);
  ~JsonLinesEventSink() override;
  // Writes and flushes one line; a write error is logged once.
  void Publish(const Event& event) override;

 private:
  JsonLinesEventSink(std::FILE* file, std::string path, bool owned)
      : file_(file), path_(std::move(path)), owned_(owned) {}
  Mutex mu_;
  std::FILE* const file_;
  const std::string path_;
  const bool owned_;
  bool failed_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace dnoscope::live
