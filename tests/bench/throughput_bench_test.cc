// `bench throughput`: option checks, and a toy run on the shared person clip
// with Yolo-Fastest (skipped when ../shared/data is absent): three runs,
// the local and remote cascades label the same test frames the same way.
// No timing is asserted.
#include "bench/throughput_bench.h"

#include "absl/status/status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "testing/test_env.h"

namespace dnoscope::bench {
namespace {

using ::dnoscope::testing::ScratchDir;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::NotNull;

TEST(ThroughputBenchTest, RejectsBadTrainShare) {
  ScratchDir dir;
  ThroughputBenchOptions o;
  o.train_share = 1;
  EXPECT_EQ(RunThroughputBench(o, {dir.path()}).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(ThroughputBenchTest, MissingDataIsNotFound) {
  ScratchDir dir;
  ThroughputBenchOptions o;
  o.data_dir = dir.File("no-such-data");
  absl::StatusOr<ScenarioResult> r = RunThroughputBench(o, {dir.path()});
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
  absl::StatusOr<ScenarioResult> r = RunThroughputBench(o, {dir.path()});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_THAT(r->checks, IsEmpty());
  const Table* t = r->table("throughput");
  ASSERT_THAT(t, NotNull());
  ASSERT_EQ(t->rows.size(), 3u);
  EXPECT_EQ(t->Lookup("reference", "frames"), 80);
  EXPECT_EQ(t->Lookup("reference", "speedup"), 1);
  EXPECT_EQ(t->Lookup("local", "frames"), 40);
  for (const char* column :
       {"frames", "diff_reused", "specialized", "reference", "false_positives", "false_negatives"}) {
    EXPECT_EQ(t->Lookup("remote", column), t->Lookup("local", column)) << column;
  }
  const Table* model = r->table("throughput_model");
  ASSERT_THAT(model, NotNull());
  EXPECT_LE(*model->Lookup("c_low", "value"), *model->Lookup("c_high", "value"));
}

}  // namespace
}  // namespace dnoscope::bench
