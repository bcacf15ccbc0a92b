// `dnoscope run --streams`: three synthetic streams (one with roi, frames
// and skip overrides) through one process write exactly the CSVs their
// single-stream runs write, with per-stream and aggregate figures in the
// summary JSON; --stream-index runs one entry (an Indexed Job's pod); a bad streams file is one error naming the entry and
// nothing runs; a stream whose video breaks mid-run fails alone (the
// others' CSVs are complete) and the exit status is 1.
#include <filesystem>
#include <fstream>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "labels/label_csv.h"
#include "nlohmann/json.hpp"
#include "testing/replay_models.h"
#include "testing/test_env.h"

namespace dnoscope {
namespace {

namespace fs = std::filesystem;
using testing::CommandResult;
using testing::ReadFileOrEmpty;
using testing::RunDnoscope;
using testing::ScratchDir;
using testing::WriteFile;
using ::testing::HasSubstr;

// prefix + i + suffix (spelled out: GCC 12 warns falsely on "literal" + std::string).
std::string Numbered(const char* prefix, int i, const char* suffix = "") {
  std::string s(prefix);
  s += std::to_string(i);
  s += suffix;
  return s;
}

class StreamsCliTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new ScratchDir();
    for (int i = 0; i < 3; ++i) {
      CommandResult r = RunDnoscope("synth --out " + dir_->File(Numbered("s", i)) +
                            " --frames 120 --width 160 --height 120 --object-rate 0.05 --seed " +
                            std::to_string(40 + i));
      ASSERT_EQ(r.exit_code, 0) << r.output;
    }
    // Replay models of scene 0's labels: a reference, and a specialized
    // classifier unsure (0.5) on every third labeled frame.
    ASSERT_TRUE(testing::WriteUnsureReplayModels(dir_->File("repo"), dir_->File("s0/labels.csv"))
                    .ok());
    WriteFile(dir_->File("cascade.json"),
              R"({"object": "car", "model_repository": "repo",
                  "difference": {"threshold": 2.0},
                  "specialized": {"model": "spec", "c_low": 0.2, "c_high": 0.9},
                  "reference": {"model": "ref"}})");
  }
  static void TearDownTestSuite() { delete dir_; }

  static std::string Video(int i) { return dir_->File(Numbered("s", i, "/video.avi")); }

  // Entry i: stream 1 overrides roi, frames and skip.
  static std::string Entry(int i, const std::string& video = "") {
    const std::string n = std::to_string(i);
    std::string extra = i == 1 ? R"(, "roi": "0,30,160,120", "frames": "10:100", "skip": 2)" : "";
    return R"({"name": "cam)" + n + R"(", "video": ")" + (video.empty() ? Video(i) : video) +
           R"(", "config": "cascade.json", "out": "out/cam)" + n + ".csv\"" + extra + "}";
  }

  static std::string SingleStreamCsv(int i) {
    const std::string out = dir_->File(Numbered("single", i, ".csv"));
    std::string args = "run --progress off --config " + dir_->File("cascade.json") + " --video " +
                       Video(i) + " --out " + out;
    if (i == 1) args += " --roi 0,30,160,120 --frames 10:100 --skip 2";
    CommandResult r = RunDnoscope(args);
    EXPECT_EQ(r.exit_code, 0) << r.output;
    return ReadFileOrEmpty(out);
  }

  static CommandResult RunStreams(const std::string& entries, const std::string& extra = "") {
    WriteFile(dir_->File("streams.json"), "[" + entries + "]");
    fs::create_directories(dir_->File("out"));
    return RunDnoscope("run --progress off --streams " + dir_->File("streams.json") + " " + extra);
  }

  static ScratchDir* dir_;
};
ScratchDir* StreamsCliTest::dir_ = nullptr;

TEST_F(StreamsCliTest, EveryStreamWritesItsSingleStreamCsvAndTheSummaryHasEach) {
  const std::string json = dir_->File("summary.json");
  CommandResult r = RunStreams(Entry(0) + "," + Entry(1) + "," + Entry(2),
                               "--stream-batch 8 --stream-batch-delay-ms 1 --summary-json " + json);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr("cam2"));
  EXPECT_THAT(r.output, HasSubstr("merged across streams"));
  int64_t frames = 0;
  nlohmann::json summary = nlohmann::json::parse(ReadFileOrEmpty(json));
  for (int i = 0; i < 3; ++i) {
    SCOPED_TRACE(i);
    const std::string csv = ReadFileOrEmpty(dir_->File(Numbered("out/cam", i, ".csv")));
    ASSERT_FALSE(csv.empty());
    EXPECT_EQ(csv, SingleStreamCsv(i));
    const nlohmann::json& s = summary["streams"][i];
    EXPECT_EQ(s["name"], Numbered("cam", i));
    EXPECT_EQ(s["status"], "ok");
    frames += s["frames"].get<int64_t>();
  }
  EXPECT_EQ(summary["streams"][1]["frames"], 90);
  EXPECT_EQ(summary["aggregate"]["frames"], frames);
  EXPECT_EQ(summary["aggregate"]["failed_streams"], 0);
  EXPECT_GT(summary["aggregate"]["specialized_batching"]["frames"].get<int64_t>(), 0);
}

TEST_F(StreamsCliTest, StreamIndexRunsOnlyThatEntry) {
  fs::remove(dir_->File("out/cam0.csv"));
  fs::remove(dir_->File("out/cam1.csv"));
  // Entry 0's video is missing: only the chosen entry's files are checked.
  CommandResult r =
      RunStreams(Entry(0, dir_->File("gone.avi")) + "," + Entry(1), "--stream-index 1");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_FALSE(fs::exists(dir_->File("out/cam0.csv")));
  EXPECT_EQ(ReadFileOrEmpty(dir_->File("out/cam1.csv")), SingleStreamCsv(1));
  r = RunStreams(Entry(0), "--stream-index 1");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.output, HasSubstr("--stream-index 1: the streams file"));
}

TEST_F(StreamsCliTest, BadStreamsFileIsOneErrorNamingTheEntryAndNothingRuns) {
  fs::remove(dir_->File("out/cam0.csv"));
  struct Case {
    std::string entries, message;
  };
  const std::vector<Case> cases = {
      {Entry(0) + R"(, {"name": "cam1", "video": "x.avi", "config": "cascade.json"})",
       "entry 2 (\"cam1\"): missing \"out\""},
      {Entry(0) + "," + Entry(0), "entry 2 (\"cam0\"): duplicate name"},
      {Entry(0) + "," + Entry(1, dir_->File("gone.avi")), "entry 2 (\"cam1\"): video"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.message);
    CommandResult r = RunStreams(c.entries);
    EXPECT_EQ(r.exit_code, 1) << r.output;
    EXPECT_THAT(r.output, HasSubstr(c.message));
    EXPECT_FALSE(fs::exists(dir_->File("out/cam0.csv")));
  }
  CommandResult r = RunStreams(Entry(0), "--video " + Video(0));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.output, HasSubstr("--video names one stream"));
}

TEST_F(StreamsCliTest, StreamWhoseVideoBreaksMidRunFailsAloneWithExitStatusOne) {
  // A copy of video 2 cut in half: its header still declares every frame.
  const std::string whole = ReadFileOrEmpty(Video(2));
  const std::string cut = dir_->File("cut.avi");
  WriteFile(cut, whole.substr(0, whole.size() / 2));
  const std::string json = dir_->File("broken.json");
  CommandResult r = RunStreams(Entry(0) + "," + Entry(2, cut), "--summary-json " + json);
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_THAT(r.output, HasSubstr("1 of 2 streams failed; first: 'cam2'"));
  EXPECT_EQ(ReadFileOrEmpty(dir_->File("out/cam0.csv")), SingleStreamCsv(0));
  nlohmann::json summary = nlohmann::json::parse(ReadFileOrEmpty(json));
  EXPECT_EQ(summary["streams"][0]["status"], "ok");
  EXPECT_EQ(summary["streams"][1]["status"], "failed");
  EXPECT_EQ(summary["aggregate"]["failed_streams"], 1);
}

}  // namespace
}  // namespace dnoscope
