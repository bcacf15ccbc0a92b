// Answer-change detection and the event JSON.
#include "live/events.h"

#include <cmath>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <vector>

#include "gtest/gtest.h"
#include "live/live_stream.h"

namespace dnoscope::live {
namespace {

using labels::FrameResult;
using labels::FrameStatus;

const float kNaN = std::nanf("");

// 2026-12-05T12:00:00.250Z
std::chrono::system_clock::time_point Wall() {
  return std::chrono::system_clock::time_point(std::chrono::milliseconds(1796472000250));
}

TEST(EventDetectorTest, ReportsEachAnswerChangeOnce) {
  EventDetector d("cam1", 10);
  const std::vector<FrameResult> rows = {
      {0, false, FrameStatus::kReference, kNaN, kNaN, 0.0f},
      {1, true, FrameStatus::kReference, 0.5f, kNaN, 0.9f},       // appeared
      {2, true, FrameStatus::kDiffReused, 0.1f, kNaN, kNaN},
      {3, true, FrameStatus::kDropped, kNaN, kNaN, kNaN},
      {4, false, FrameStatus::kSpecialized, 0.7f, 0.05f, kNaN},   // left
      {5, false, FrameStatus::kSkipped, kNaN, kNaN, kNaN},
      {6, true, FrameStatus::kDiffReused, 0.2f, kNaN, kNaN},      // appeared (reuse)
  };
  std::vector<Event> events;
  for (const FrameResult& r : rows) {
    if (auto e = d.Observe(r, Wall())) events.push_back(*e);
  }
  ASSERT_EQ(events.size(), 3u);
  EXPECT_TRUE(events[0].present);
  EXPECT_EQ(events[0].frame, 1);
  EXPECT_EQ(events[0].stage, FrameStatus::kReference);
  EXPECT_FLOAT_EQ(events[0].confidence, 0.9f);
  EXPECT_FALSE(events[1].present);
  EXPECT_EQ(events[1].frame, 4);
  EXPECT_EQ(events[1].stage, FrameStatus::kSpecialized);
  EXPECT_FLOAT_EQ(events[1].confidence, 0.05f);
  EXPECT_DOUBLE_EQ(events[1].stream_time_s, 0.4);
  EXPECT_EQ(events[2].stage, FrameStatus::kDiffReused);
  EXPECT_TRUE(std::isnan(events[2].confidence));
}

TEST(EventDetectorTest, AStreamStartsAbsent) {
  EventDetector d("cam1", 0);
  auto e = d.Observe({7, true, FrameStatus::kReference, kNaN, kNaN, 0.8f}, Wall());
  ASSERT_TRUE(e.has_value());
  EXPECT_TRUE(e->present);
  EXPECT_EQ(e->stream_time_s, 0);  // unknown frame rate
}

TEST(EventJsonTest, HasTheDocumentedFields) {
  Event e;
  e.stream = "lobby \"north\"";
  e.present = true;
  e.frame = 120;
  e.stream_time_s = 4.8;
  e.wall_time = Wall();
  e.stage = FrameStatus::kReference;
  e.confidence = 0.5f;
  EXPECT_EQ(EventToJson(e),
            R"({"stream":"lobby \"north\"","event":"appeared","frame":120,"stream_time_s":4.8,)"
            R"("wall_time":"2026-12-05T12:00:00.250Z","stage":"reference","confidence":0.5})");
  e.present = false;
  e.confidence = kNaN;
  e.stage = FrameStatus::kDiffReused;
  EXPECT_NE(EventToJson(e).find(R"("event":"left")"), std::string::npos);
  EXPECT_NE(EventToJson(e).find(R"("stage":"diff_reused","confidence":null)"), std::string::npos);
}

TEST(LiveRowsTest, CountsRowsAndWritesEventLines) {
  const std::string path = ::testing::TempDir() + "/events_test.jsonl";
  auto sink = JsonLinesEventSink::Open(path);
  ASSERT_TRUE(sink.ok()) << sink.status();
  StreamStats stats("cam1", Clock::Real());
  LiveRows rows("cam1", 10, &stats, {sink->get()}, [] { return Wall(); });
  rows.OnRow({0, false, FrameStatus::kReference, kNaN, kNaN, 0.0f});
  rows.OnRow({1, true, FrameStatus::kReference, kNaN, kNaN, 0.75f});
  rows.OnRow({2, true, FrameStatus::kDropped, kNaN, kNaN, kNaN});
  rows.OnRow({3, false, FrameStatus::kReference, kNaN, kNaN, 0.0f});
  sink->reset();
  std::ifstream in(path);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_NE(lines[0].find(R"("event":"appeared","frame":1)"), std::string::npos) << lines[0];
  EXPECT_NE(lines[1].find(R"("event":"left","frame":3)"), std::string::npos) << lines[1];
  const StreamStats::Snapshot s = stats.snapshot();
  EXPECT_EQ(s.rows, 4);
  EXPECT_EQ(s.rows_by_status[static_cast<int>(FrameStatus::kDropped)], 1);
  EXPECT_EQ(s.events, 2);
}

TEST(JsonLinesEventSinkTest, UnwritablePathIsAClearError) {
  auto sink = JsonLinesEventSink::Open("/nonexistent-dir/events.jsonl");
  ASSERT_FALSE(sink.ok());
  EXPECT_NE(sink.status().message().find("/nonexistent-dir/events.jsonl"), std::string::npos);
}

}  // namespace
}  // namespace dnoscope::live
