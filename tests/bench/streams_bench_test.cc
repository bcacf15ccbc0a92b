// `bench streams`: bad options are refused; a toy run (3 small streams)
// gives the three runs over every frame, unmerged requests carry one frame
// each, merged ones at least one, and the cross-checks (same rows merged and
// unmerged, every frame) hold. No timing is asserted.
#include "bench/streams_bench.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "testing/test_env.h"

namespace dnoscope::bench {
namespace {

using ::dnoscope::testing::ScratchDir;
using ::testing::IsEmpty;

TEST(StreamsBenchTest, RejectsBadOptions) {
  ScratchDir dir;
  StreamsBenchOptions o;
  o.streams = 0;
  EXPECT_EQ(RunStreamsBench(o, {dir.path()}).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(StreamsBenchTest, ToyRunMeasuresEveryFrameAndRowsAgree) {
  ScratchDir dir;
  StreamsBenchOptions o;
  o.streams = 3;
  o.size = {30, 96, 64};
  absl::StatusOr<ScenarioResult> r = RunStreamsBench(o, {dir.path()});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_THAT(r->checks, IsEmpty());
  const Table* t = r->table("streams");
  ASSERT_NE(t, nullptr);
  for (const char* run : {"decode-only", "merged", "unmerged"}) {
    EXPECT_EQ(t->Lookup(run, "frames"), 90) << run;
  }
  EXPECT_EQ(t->Lookup("unmerged", "spec_batch"), 1.0);
  EXPECT_GE(t->Lookup("merged", "spec_batch").value_or(0), 1.0);
}

}  // namespace
}  // namespace dnoscope::bench
