#include "serving/metrics.h"

#include <chrono>
#include <string>

#include "gtest/gtest.h"

namespace dnoscope::serving {
namespace {

using std::chrono::microseconds;
using std::chrono::nanoseconds;

TEST(ModelStatsTest, AccumulatesCountersAndConvertsToMicroseconds) {
  ModelStats stats("m", 1);
  stats.AddPending(3);
  stats.AddPending(-1);
  stats.RecordSuccess(microseconds(10), microseconds(4));
  stats.RecordSuccess(nanoseconds(2500), nanoseconds(600));
  stats.RecordFailure();
  stats.RecordExecution(5, microseconds(7));

  const ModelStats::Snapshot s = stats.snapshot();
  EXPECT_EQ(s.request_success, 2u);
  EXPECT_EQ(s.request_failure, 1u);
  EXPECT_EQ(s.inference_count, 5u);
  EXPECT_EQ(s.exec_count, 1u);
  EXPECT_EQ(s.pending_request_count, 2);
  // Summed in nanoseconds, truncated to microseconds on the way out.
  EXPECT_EQ(s.request_duration_us, 12u);
  EXPECT_EQ(s.queue_duration_us, 4u);
  EXPECT_EQ(s.compute_infer_duration_us, 7u);
}

TEST(MetricsRegistryTest, GetOrCreateReturnsStablePointers) {
  MetricsRegistry registry;
  ModelStats* a1 = registry.GetOrCreate("a", 1);
  ModelStats* a2 = registry.GetOrCreate("a", 2);
  for (int i = 0; i < 100; ++i) registry.GetOrCreate("other" + std::to_string(i), 1);
  EXPECT_NE(a1, a2);
  EXPECT_EQ(registry.GetOrCreate("a", 1), a1);
  EXPECT_EQ(registry.GetOrCreate("a", 2), a2);
  EXPECT_EQ(a2->model(), "a");
  EXPECT_EQ(a2->version(), 2);
}

TEST(MetricsRegistryTest, EscapesLabelValues) {
  EXPECT_EQ(EscapePrometheusLabelValue("plain"), "plain");
  EXPECT_EQ(EscapePrometheusLabelValue("a\\b\"c\nd"), "a\\\\b\\\"c\\nd");
}

TEST(MetricsRegistryTest, RendersExactPrometheusText) {
  MetricsRegistry registry;
  ModelStats* b = registry.GetOrCreate("b", 2);
  b->RecordSuccess(microseconds(30), microseconds(10));
  b->RecordExecution(4, microseconds(15));
  b->AddPending(2);
  ModelStats* odd = registry.GetOrCreate("x\"y\\z\n", 1);
  odd->RecordFailure();

  const std::string expected =
      "# HELP nv_inference_request_success Number of inference requests that succeeded, all "
      "batch sizes\n"
      "# TYPE nv_inference_request_success counter\n"
      "nv_inference_request_success{model=\"b\",version=\"2\"} 1\n"
      "nv_inference_request_success{model=\"x\\\"y\\\\z\\n\",version=\"1\"} 0\n"
      "# HELP nv_inference_request_failure Number of inference requests that failed, all batch "
      "sizes\n"
      "# TYPE nv_inference_request_failure counter\n"
      "nv_inference_request_failure{model=\"b\",version=\"2\"} 0\n"
      "nv_inference_request_failure{model=\"x\\\"y\\\\z\\n\",version=\"1\"} 1\n"
      "# HELP nv_inference_count Number of batch items inferred by successful executions\n"
      "# TYPE nv_inference_count counter\n"
      "nv_inference_count{model=\"b\",version=\"2\"} 4\n"
      "nv_inference_count{model=\"x\\\"y\\\\z\\n\",version=\"1\"} 0\n"
      "# HELP nv_inference_exec_count Number of successful model executions\n"
      "# TYPE nv_inference_exec_count counter\n"
      "nv_inference_exec_count{model=\"b\",version=\"2\"} 1\n"
      "nv_inference_exec_count{model=\"x\\\"y\\\\z\\n\",version=\"1\"} 0\n"
      "# HELP nv_inference_pending_request_count Number of requests queued or executing right "
      "now\n"
      "# TYPE nv_inference_pending_request_count gauge\n"
      "nv_inference_pending_request_count{model=\"b\",version=\"2\"} 2\n"
      "nv_inference_pending_request_count{model=\"x\\\"y\\\\z\\n\",version=\"1\"} 0\n"
      "# HELP nv_inference_request_duration_us Cumulative submit-to-response time of successful "
      "requests in microseconds\n"
      "# TYPE nv_inference_request_duration_us counter\n"
      "nv_inference_request_duration_us{model=\"b\",version=\"2\"} 30\n"
      "nv_inference_request_duration_us{model=\"x\\\"y\\\\z\\n\",version=\"1\"} 0\n"
      "# HELP nv_inference_queue_duration_us Cumulative time successful requests waited in the "
      "queue in microseconds\n"
      "# TYPE nv_inference_queue_duration_us counter\n"
      "nv_inference_queue_duration_us{model=\"b\",version=\"2\"} 10\n"
      "nv_inference_queue_duration_us{model=\"x\\\"y\\\\z\\n\",version=\"1\"} 0\n"
      "# HELP nv_inference_compute_infer_duration_us Cumulative time spent in successful model "
      "executions in microseconds\n"
      "# TYPE nv_inference_compute_infer_duration_us counter\n"
      "nv_inference_compute_infer_duration_us{model=\"b\",version=\"2\"} 15\n"
      "nv_inference_compute_infer_duration_us{model=\"x\\\"y\\\\z\\n\",version=\"1\"} 0\n";
  EXPECT_EQ(registry.RenderPrometheus(), expected);
}

TEST(MetricsRegistryTest, EmptyRegistryRendersOnlyFamilyHeaders) {
  MetricsRegistry registry;
  const std::string text = registry.RenderPrometheus();
  EXPECT_NE(text.find("# TYPE nv_inference_pending_request_count gauge\n"), std::string::npos);
  EXPECT_EQ(text.find('{'), std::string::npos);
}

}  // namespace
}  // namespace dnoscope::serving
