// Tests of `bench throughput`: option checks, and a toy run on the shared
// person clip with Yolo-Fastest (skipped when ../shared/data is absent):
// three runs, the local and remote cascades label the same test frames the
// same way, and the outputs hold every run. No timing is asserted.
#include "bench/throughput_bench.h"

#include <algorithm>
#include <string>

#include "absl/status/status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "testing/test_env.h"

namespace dnoscope::bench {
namespace {

using ::dnoscope::testing::ScratchDir;
using ::testing::HasSubstr;

TEST(ThroughputBenchTest, RejectsBadTrainShare) {
  ScratchDir dir;
  ThroughputBenchOptions o;
  o.train_share = 1;
  o.scratch_dir = dir.path();
  EXPECT_EQ(RunThroughputBench(o).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(ThroughputBenchTest, MissingDataIsNotFound) {
  ScratchDir dir;
  ThroughputBenchOptions o;
  o.data_dir = dir.File("no-such-data");
  o.scratch_dir = dir.path();
  absl::StatusOr<ThroughputBenchResult> r = RunThroughputBench(o);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(r.status().message(), HasSubstr("no-such-data"));
}

TEST(ThroughputBenchTest, PersonClipLocalAndRemoteAgree) {
  DNS_REQUIRE_SHARED_DATA(video, "videos/one-by-one-person-detection.mp4");
  DNS_REQUIRE_SHARED_DATA(weights, "models/yolo-fastest-1.1/yolo-fastest-1.1.weights");
  ScratchDir dir;
  ThroughputBenchOptions o;
  o.data_dir = *::dnoscope::testing::SharedDataDir();
  o.start = 200;  // both classes in [200, 240)
  o.frames = 80;
  o.epochs = 1;
  o.scratch_dir = dir.path();
  absl::StatusOr<ThroughputBenchResult> r = RunThroughputBench(o);
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->runs.size(), 3u);
  EXPECT_EQ(r->runs[0].mode, "reference");
  EXPECT_EQ(r->runs[0].frames, r->end - r->start);
  EXPECT_DOUBLE_EQ(r->runs[0].speedup, 1);
  const ThroughputRun& local = r->runs[1];
  const ThroughputRun& remote = r->runs[2];
  EXPECT_EQ(local.frames, r->end - r->split);
  EXPECT_EQ(remote.frames, local.frames);
  EXPECT_EQ(remote.status_counts, local.status_counts);
  EXPECT_EQ(remote.false_positives, local.false_positives);
  EXPECT_EQ(remote.false_negatives, local.false_negatives);
  EXPECT_LE(r->c_low, r->c_high);

  const std::string csv = ThroughputBenchCsv(*r);
  EXPECT_EQ(std::count(csv.begin(), csv.end(), '\n'), 4);
  const nlohmann::json json = nlohmann::json::parse(ThroughputBenchJson(*r));
  EXPECT_EQ(json["runs"].size(), 3u);
  EXPECT_THAT(FormatThroughputBench(*r), HasSubstr("remote"));
}

}  // namespace
}  // namespace dnoscope::bench
