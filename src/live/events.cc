#include "live/events.h"

#include <cerrno>
#include <cmath>
#include <cstring>
#include <ctime>

#include "fmt/format.h"
#include "nlohmann/json.hpp"
#include "spdlog/spdlog.h"

namespace dnoscope::live {
namespace {

std::string FormatUtc(std::chrono::system_clock::time_point t) {
  const auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
  const std::time_t seconds = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z", tm.tm_year + 1900,
                     tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ms % 1000);
}

float ConfidenceOf(const labels::FrameResult& r) {
  switch (r.status) {
    case labels::FrameStatus::kSpecialized:
      return r.specialized_confidence;
    case labels::FrameStatus::kReference:
      return r.reference_confidence;
    default:
      return std::nanf("");
  }
}

}  // namespace

std::string EventToJson(const Event& e) {
  nlohmann::ordered_json j;
  j["stream"] = e.stream;
  j["event"] = e.present ? "appeared" : "left";
  j["frame"] = e.frame;
  j["stream_time_s"] = e.stream_time_s;
  j["wall_time"] = FormatUtc(e.wall_time);
  j["stage"] = std::string(labels::FrameStatusName(e.stage));
  if (std::isnan(e.confidence)) {
    j["confidence"] = nullptr;
  } else {
    j["confidence"] = e.confidence;
  }
  return j.dump();
}

std::optional<Event> EventDetector::Observe(const labels::FrameResult& r,
                                            std::chrono::system_clock::time_point wall_time) {
  if (r.label == present_) return std::nullopt;
  present_ = r.label;
  Event e;
  e.stream = stream_;
  e.present = r.label;
  e.frame = r.frame;
  e.stream_time_s = fps_ > 0 ? static_cast<double>(r.frame) / fps_ : 0;
  e.wall_time = wall_time;
  e.stage = r.status;
  e.confidence = ConfidenceOf(r);
  return e;
}

absl::StatusOr<std::unique_ptr<JsonLinesEventSink>> JsonLinesEventSink::Open(
    const std::string& path) {
  if (path == "-") {
    return std::unique_ptr<JsonLinesEventSink>(new JsonLinesEventSink(stdout, "stdout", false));
  }
  std::FILE* f = std::fopen(path.c_str(), "w");
  if (f == nullptr) {
    return absl::InvalidArgumentError(
        fmt::format("cannot create events file '{}': {}", path, std::strerror(errno)));
  }
  return std::unique_ptr<JsonLinesEventSink>(new JsonLinesEventSink(f, path, true));
}

JsonLinesEventSink::~JsonLinesEventSink() {
  if (owned_) std::fclose(file_);
}

void JsonLinesEventSink::Publish(const Event& event) {
  const std::string line = EventToJson(event) + "\n";
  MutexLock lock(&mu_);
  if (std::fputs(line.c_str(), file_) < 0 || std::fflush(file_) != 0) {
    if (!failed_) spdlog::error("cannot write events to '{}': {}", path_, std::strerror(errno));
    failed_ = true;
  }
}

}  // namespace dnoscope::live
