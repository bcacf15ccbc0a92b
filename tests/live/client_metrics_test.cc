// The client's Prometheus text and its /metrics endpoint.
#include "live/client_metrics.h"

#include <vector>

#include "client/http_client.h"
#include "gtest/gtest.h"
#include "testing/fake_clock.h"

namespace dnoscope::live {
namespace {

using labels::FrameStatus;
using std::chrono::milliseconds;

// A stage whose requests complete when the test says, OK or with an error.
class HeldStage final : public models::ModelStage {
 public:
  const models::ModelMetadata& metadata() const override { return metadata_; }
  std::string Describe() const override { return "held"; }
  void InferAsync(models::StageRequest, Done done) override { held_.push_back(std::move(done)); }
  models::StageStats stats() const override {
    models::StageStats s;
    s.endpoints.push_back({"a:1", 2, 10, 1, 0, false, 4096});
    return s;
  }
  void Shutdown() override {}
  void Complete(size_t i, absl::Status status) {
    if (status.ok()) {
      held_[i](std::vector<Tensor>{});
    } else {
      held_[i](status);
    }
  }

 private:
  models::ModelMetadata metadata_;
  std::vector<Done> held_;
};

bool Has(const std::string& text, const std::string& line) {
  return text.find("\n" + line + "\n") != std::string::npos || text.rfind(line + "\n", 0) == 0;
}

TEST(ClientMetricsTest, EveryFamilyHasHelpAndTypeEvenWithoutSamples) {
  ClientMetrics metrics;
  const std::string text = metrics.RenderPrometheus();
  for (const char* family :
       {"dnoscope_stream_frames_total counter", "dnoscope_stream_lateness_seconds histogram",
        "dnoscope_stream_reconnects_total counter", "dnoscope_stage_in_flight gauge",
        "dnoscope_stage_request_duration_seconds histogram",
        "dnoscope_endpoint_requests_total counter", "dnoscope_webhook_events_total counter"}) {
    EXPECT_TRUE(Has(text, std::string("# TYPE ") + family)) << family << "\n" << text;
  }
}

TEST(ClientMetricsTest, StreamFiguresBucketsAndEscapedLabels) {
  testing::FakeClock clock;
  ClientMetrics metrics(&clock);
  StreamStats* s = metrics.AddStream("cam \"1\"");
  s->RecordRow(FrameStatus::kReference);
  clock.Advance(milliseconds(500));
  s->RecordRow(FrameStatus::kDropped);
  clock.Advance(milliseconds(500));
  s->RecordRow(FrameStatus::kDropped);
  s->RecordLateness(milliseconds(20));
  s->RecordLateness(milliseconds(300));
  s->RecordReconnect(std::chrono::seconds(4));
  const std::string text = metrics.RenderPrometheus();
  const std::string st = R"(stream="cam \"1\"")";
  EXPECT_TRUE(Has(text, "dnoscope_stream_frames_total{" + st + R"(,status="dropped"} 2)")) << text;
  EXPECT_TRUE(Has(text, "dnoscope_stream_frames_total{" + st + R"(,status="reference"} 1)"));
  EXPECT_TRUE(Has(text, "dnoscope_stream_frames_total{" + st + R"(,status="corrupt"} 0)"));
  EXPECT_TRUE(Has(text, "dnoscope_stream_frames_per_second{" + st + "} 2"));  // 2 rows after 1 s
  EXPECT_TRUE(Has(text, "dnoscope_stream_lateness_seconds_bucket{" + st + R"(,le="0.01"} 0)"));
  EXPECT_TRUE(Has(text, "dnoscope_stream_lateness_seconds_bucket{" + st + R"(,le="0.025"} 1)"));
  EXPECT_TRUE(Has(text, "dnoscope_stream_lateness_seconds_bucket{" + st + R"(,le="0.5"} 2)"));
  EXPECT_TRUE(Has(text, "dnoscope_stream_lateness_seconds_bucket{" + st + R"(,le="+Inf"} 2)"));
  EXPECT_TRUE(Has(text, "dnoscope_stream_lateness_seconds_sum{" + st + "} 0.32"));
  EXPECT_TRUE(Has(text, "dnoscope_stream_lateness_seconds_count{" + st + "} 2"));
  EXPECT_TRUE(Has(text, "dnoscope_stream_lateness_last_seconds{" + st + "} 0.3"));
  EXPECT_TRUE(Has(text, "dnoscope_stream_reconnects_total{" + st + "} 1"));
  EXPECT_TRUE(Has(text, "dnoscope_stream_gap_seconds_total{" + st + "} 4"));
}

TEST(ClientMetricsTest, StageRequestsFailuresInFlightAndLatency) {
  testing::FakeClock clock;
  HeldStage inner;
  MeteredStage stage(&inner, &clock);
  ClientMetrics metrics(&clock);
  metrics.AddStage("reference", &stage);
  int done = 0;
  for (int i = 0; i < 4; ++i) stage.InferAsync({}, [&](auto) { ++done; });
  clock.Advance(milliseconds(30));
  inner.Complete(0, absl::OkStatus());
  inner.Complete(1, absl::UnavailableError("down"));
  inner.Complete(2, absl::CancelledError("withdrawn"));  // not a failure
  const std::string text = metrics.RenderPrometheus();
  EXPECT_EQ(done, 3);
  EXPECT_TRUE(Has(text, R"(dnoscope_stage_requests_total{stage="reference"} 4)")) << text;
  EXPECT_TRUE(Has(text, R"(dnoscope_stage_failures_total{stage="reference"} 1)"));
  EXPECT_TRUE(Has(text, R"(dnoscope_stage_in_flight{stage="reference"} 1)"));
  EXPECT_TRUE(
      Has(text, R"(dnoscope_stage_request_duration_seconds_bucket{stage="reference",le="0.025"} 0)"));
  EXPECT_TRUE(
      Has(text, R"(dnoscope_stage_request_duration_seconds_bucket{stage="reference",le="0.05"} 1)"));
  EXPECT_TRUE(Has(text, R"(dnoscope_stage_request_duration_seconds_count{stage="reference"} 1)"));
  EXPECT_TRUE(Has(text, R"(dnoscope_endpoint_requests_total{stage="reference",endpoint="a:1"} 10)"));
  EXPECT_TRUE(Has(text, R"(dnoscope_endpoint_in_flight{stage="reference",endpoint="a:1"} 2)"));
  EXPECT_TRUE(
      Has(text, R"(dnoscope_endpoint_bytes_sent_total{stage="reference",endpoint="a:1"} 4096)"));
  inner.Complete(3, absl::OkStatus());
}

TEST(MetricsServerTest, ServesMetricsOnAFreeLoopbackPort) {
  ClientMetrics metrics;
  metrics.AddStream("cam")->RecordRow(FrameStatus::kSkipped);
  auto server = StartMetricsServer("127.0.0.1", 0, &metrics);
  ASSERT_TRUE(server.ok()) << server.status();
  ASSERT_GT((*server)->port(), 0);
  auto http = client::HttpClient::Create({});
  ASSERT_TRUE(http.ok());
  const client::Endpoint endpoint{"127.0.0.1", (*server)->port()};
  client::HttpCall get;
  get.method = "GET";
  get.target = "/metrics";
  get.content_type.clear();
  auto r = (*http)->SendSync(endpoint, get);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->status, 200);
  ASSERT_NE(r->Header("content-type"), nullptr);
  EXPECT_EQ(*r->Header("content-type"), "text/plain; version=0.0.4; charset=utf-8");
  EXPECT_TRUE(Has(r->body, R"(dnoscope_stream_frames_total{stream="cam",status="skipped"} 1)"));
  get.target = "/other";
  r = (*http)->SendSync(endpoint, get);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 404);
  get.method = "POST";
  get.target = "/metrics";
  r = (*http)->SendSync(endpoint, get);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 405);
  (*http)->Shutdown();
  (*server)->Shutdown();
}

}  // namespace
}  // namespace dnoscope::live
