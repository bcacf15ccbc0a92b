#include "protocol/json_writer.h"

#include <limits>
#include <string>

#include "gtest/gtest.h"

namespace dnoscope::protocol {
namespace {

struct StringCase {
  std::string input;
  std::string json;
};

TEST(JsonWriterTest, EscapesStringsAndReplacesInvalidUtf8) {
  const StringCase cases[] = {
      {"plain", R"("plain")"},
      {"q\"b\\", R"("q\"b\\")"},
      {"\n\r\t", R"("\n\r\t")"},
      {std::string("\x01\x00", 2), R"("\u0001\u0000")"},
      {"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", "\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\""},
      {"\xff", "\"\xEF\xBF\xBD\""},
      {"\xc3", "\"\xEF\xBF\xBD\""},                      // Truncated sequence.
      {"\xc0\xaf", "\"\xEF\xBF\xBD\xEF\xBF\xBD\""},      // Overlong.
      {"\xed\xa0\x80", "\"\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\""},  // Surrogate.
  };
  for (const StringCase& c : cases) {
    std::string out;
    AppendJsonString(&out, c.input);
    EXPECT_EQ(out, c.json);
  }
}

TEST(JsonWriterTest, WritesShortestRoundTrippableFloats) {
  const std::pair<float, std::string> cases[] = {
      {0.1f, "0.1"},
      {1.0f, "1"},
      {-0.0f, "-0.0"},
      {3.4028235e38f, "3.4028235e+38"},
      {1e-45f, "1e-45"},
      {16777216.0f, "16777216"},
      {std::numeric_limits<float>::quiet_NaN(), "\"NaN\""},
      {-std::numeric_limits<float>::infinity(), "\"-Infinity\""},
  };
  for (const auto& [value, text] : cases) {
    std::string out;
    AppendFloat(&out, value);
    EXPECT_EQ(out, text);
  }
}

TEST(JsonWriterTest, WritesNestedDataByShape) {
  Tensor t = Tensor::Int64("x", {2, 0}, {});
  std::string out;
  int64_t next = 0;
  AppendNestedData(&out, t, t.shape, &next, BytesStyle::kString);
  EXPECT_EQ(out, "[[],[]]");
}

}  // namespace
}  // namespace dnoscope::protocol
