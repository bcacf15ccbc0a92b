// The streams file: a valid list parses with its overrides and resolved
// paths; every bad input (not a list, missing or empty field, unknown field,
// bad roi/frames/skip, duplicate name, duplicate out path, unreadable
// config, missing or undecodable video) is one error naming the entry by
// number and name; URLs are not probed.
#include "streams/stream_list.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "testing/test_env.h"
#include "video/synthetic.h"

namespace dnoscope::streams {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;

std::string Entry(const std::string& name, const std::string& extra = "") {
  return "{\"name\": \"" + name + "\", \"video\": \"" + name + ".avi\", \"config\": \"" + name +
         ".json\", \"out\": \"" + name + ".csv\"" + extra + "}";
}

TEST(StreamListTest, ParsesEntriesWithOverridesAndResolvesPaths) {
  auto entries = ParseStreamList(
      std::string("[") + Entry("gate", R"(, "roi": "0,10,100,90", "frames": "5:50", "skip": 2)") + ", " +
          R"({"name": "yard", "video": "udp://127.0.0.1:5000", "config": "/abs/y.json",
              "out": "out/yard.csv"}, {"name": "lot", "video": "l.avi", "config": "l.json",
              "out": "l.csv", "roi": [1, 2, 30, 40]}])",
      "/data/cams");
  ASSERT_TRUE(entries.ok()) << entries.status();
  ASSERT_EQ(entries->size(), 3u);
  const StreamEntry& gate = (*entries)[0];
  EXPECT_EQ(gate.name, "gate");
  EXPECT_EQ(gate.video, "/data/cams/gate.avi");
  EXPECT_EQ(gate.config, "/data/cams/gate.json");
  EXPECT_EQ(gate.out, "/data/cams/gate.csv");
  ASSERT_TRUE(gate.roi.has_value());
  EXPECT_EQ(gate.roi->y0, 10);
  EXPECT_EQ(gate.roi->x1, 100);
  ASSERT_TRUE(gate.frames.has_value());
  EXPECT_EQ(gate.frames->start, 5);
  EXPECT_EQ(gate.frames->end, 50);
  EXPECT_EQ(gate.skip, 2);
  const StreamEntry& yard = (*entries)[1];
  EXPECT_EQ(yard.video, "udp://127.0.0.1:5000");  // URLs are kept as given
  EXPECT_EQ(yard.config, "/abs/y.json");
  EXPECT_EQ(yard.out, "/data/cams/out/yard.csv");
  EXPECT_FALSE(yard.roi || yard.frames || yard.skip);
  ASSERT_TRUE((*entries)[2].roi.has_value());  // the cascade config's array form
  EXPECT_EQ((*entries)[2].roi->x0, 1);
  EXPECT_EQ((*entries)[2].roi->y1, 40);
}

struct BadCase {
  std::string label;
  std::string json;
  std::vector<std::string> message;  // substrings
};

TEST(StreamListTest, EachBadEntryIsOneErrorNamingTheEntry) {
  const std::string a = Entry("a");
  const std::vector<BadCase> cases = {
      {"not a list", R"({"name": "a"})", {"non-empty JSON list"}},
      {"empty list", "[]", {"non-empty JSON list"}},
      {"invalid JSON", "[{", {"not valid JSON"}},
      {"entry not an object", std::string("[") + a + ", 3]", {"entry 2:", "not a JSON object"}},
      {"missing name", R"([{"video": "v", "config": "c", "out": "o"}])",
       {"entry 1:", "missing \"name\""}},
      {"missing video", std::string("[") + a + R"(, {"name": "b", "config": "c", "out": "o"}])",
       {"entry 2 (\"b\")", "missing \"video\""}},
      {"missing config", R"([{"name": "b", "video": "v", "out": "o"}])",
       {"entry 1 (\"b\")", "missing \"config\""}},
      {"missing out", R"([{"name": "b", "video": "v", "config": "c"}])",
       {"entry 1 (\"b\")", "missing \"out\""}},
      {"empty video", R"([{"name": "b", "video": "", "config": "c", "out": "o"}])",
       {"entry 1 (\"b\")", "\"video\" must be a non-empty string"}},
      {"unknown field", std::string("[") + Entry("b", R"(, "rio": "1,2,3,4")") + "]",
       {"entry 1 (\"b\")", "unknown field \"rio\""}},
      {"bad roi", std::string("[") + Entry("b", R"(, "roi": "1,2,3")") + "]", {"entry 1 (\"b\")", "\"roi\""}},
      {"bad roi array", std::string("[") + Entry("b", R"(, "roi": [1, 2, 3])") + "]",
       {"entry 1 (\"b\")", "\"roi\""}},
      {"bad frames", std::string("[") + Entry("b", R"(, "frames": 7)") + "]",
       {"entry 1 (\"b\")", "\"frames\""}},
      {"bad skip", std::string("[") + Entry("b", R"(, "skip": 0)") + "]", {"entry 1 (\"b\")", "\"skip\""}},
      {"duplicate name", std::string("[") + a + ", " + Entry("b") + ", " + a + "]",
       {"entry 3 (\"a\")", "duplicate name", "entry 1"}},
      {"duplicate out",
       std::string("[") + a + R"(, {"name": "b", "video": "b.avi", "config": "b.json", "out": "a.csv"}])",
       {"entry 2 (\"b\")", "'a.csv'", "entry 1 (\"a\")"}},
  };
  for (const BadCase& c : cases) {
    SCOPED_TRACE(c.label);
    auto entries = ParseStreamList(c.json, "");
    ASSERT_FALSE(entries.ok());
    EXPECT_EQ(entries.status().code(), absl::StatusCode::kInvalidArgument);
    for (const std::string& part : c.message) {
      EXPECT_THAT(std::string(entries.status().message()), HasSubstr(part));
    }
  }
}

class StreamFilesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    video::SynthOptions o;
    o.width = 64;
    o.height = 48;
    o.frames = 3;
    auto synth = video::WriteSyntheticScene(o, dir_.File("scene"));
    ASSERT_TRUE(synth.ok()) << synth.status();
    testing::WriteFile(dir_.File("a.avi"), testing::ReadFileOrEmpty(synth->video_path));
    testing::WriteFile(dir_.File("a.json"), "{}");
    testing::WriteFile(dir_.File("b.json"), "{}");
  }
  absl::Status Read(const std::string& json) {
    testing::WriteFile(dir_.File("streams.json"), json);
    return ReadStreamList(dir_.File("streams.json")).status();
  }
  testing::ScratchDir dir_;
};

TEST_F(StreamFilesTest, ReadsAValidFileRelativeToItsFolder) {
  testing::WriteFile(dir_.File("streams.json"), std::string("[") + Entry("a") + "]");
  auto entries = ReadStreamList(dir_.File("streams.json"));
  ASSERT_TRUE(entries.ok()) << entries.status();
  EXPECT_EQ((*entries)[0].video, dir_.File("a.avi"));
}

TEST_F(StreamFilesTest, UnreadableConfigNamesTheEntry) {
  const absl::Status s =
      Read(std::string("[") + Entry("a") + R"(, {"name": "b", "video": "a.avi", "config": "nope.json",
                                     "out": "b.csv"}])");
  EXPECT_EQ(s.code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(s.message()), AllOf(HasSubstr("entry 2 (\"b\")"), HasSubstr("nope.json")));
}

TEST_F(StreamFilesTest, MissingOrUndecodableVideoNamesTheEntry) {
  absl::Status s = Read(std::string("[") + Entry("a") + R"(, {"name": "b", "video": "gone.avi",
                                                  "config": "b.json", "out": "b.csv"}])");
  EXPECT_FALSE(s.ok());
  EXPECT_THAT(std::string(s.message()), AllOf(HasSubstr("entry 2 (\"b\")"), HasSubstr("gone.avi")));
  testing::WriteFile(dir_.File("text.avi"), "not a video");
  s = Read(R"([{"name": "b", "video": "text.avi", "config": "b.json", "out": "b.csv"}])");
  EXPECT_FALSE(s.ok());
  EXPECT_THAT(std::string(s.message()), HasSubstr("entry 1 (\"b\")"));
}

TEST_F(StreamFilesTest, UrlsAreNotProbed) {
  EXPECT_TRUE(Read(R"([{"name": "b", "video": "udp://127.0.0.1:9", "config": "b.json",
                        "out": "b.csv"}])")
                  .ok());
}

TEST(StreamListTest, MissingStreamsFileIsNotFound) {
  EXPECT_EQ(ReadStreamList("/nonexistent/streams.json").status().code(),
            absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace dnoscope::streams
