#include "protocol/base64.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace dnoscope::protocol {
namespace {

using ::testing::HasSubstr;

struct Vector {
  std::string plain;
  std::string encoded;
};

// RFC 4648 section 10.
const Vector kRfc4648Vectors[] = {
    {"", ""},         {"f", "Zg=="},         {"fo", "Zm8="},         {"foo", "Zm9v"},
    {"foob", "Zm9vYg=="}, {"fooba", "Zm9vYmE="}, {"foobar", "Zm9vYmFy"},
};

TEST(Base64Test, EncodesRfc4648Vectors) {
  for (const Vector& v : kRfc4648Vectors) EXPECT_EQ(Base64Encode(v.plain), v.encoded) << v.plain;
}

TEST(Base64Test, DecodesRfc4648Vectors) {
  for (const Vector& v : kRfc4648Vectors) {
    auto decoded = Base64Decode(v.encoded);
    ASSERT_TRUE(decoded.ok()) << v.encoded << ": " << decoded.status();
    EXPECT_EQ(*decoded, v.plain);
  }
}

TEST(Base64Test, RoundTripsEveryByteValue) {
  std::string all;
  for (int i = 0; i < 256; ++i) all.push_back(static_cast<char>(i));
  for (size_t len : {0u, 1u, 2u, 3u, 255u, 256u}) {
    const std::string plain = all.substr(0, len);
    auto decoded = Base64Decode(Base64Encode(plain));
    ASSERT_TRUE(decoded.ok()) << decoded.status();
    EXPECT_EQ(*decoded, plain);
  }
}

struct BadInput {
  std::string text;
  std::string message;
};

TEST(Base64Test, RejectsMalformedInputWithClearMessage) {
  const BadInput cases[] = {
      {"Zg=", "not a multiple of 4"},
      {"Zm9vY", "not a multiple of 4"},
      {"Zm9v!A==", "character 0x21 at offset 4"},
      {"Zm 9", "character 0x20 at offset 2"},
      {"Zg==Zg==", "offset 2"},
      {"Z===", "offset 1"},
      {"====", "offset 0"},
      {"Zh==", "non-zero padding bits"},
      {"Zm9=", "non-zero padding bits"},
      {std::string("Zm\x80v", 4), "character 0x80"},
  };
  for (const BadInput& c : cases) {
    auto decoded = Base64Decode(c.text);
    ASSERT_FALSE(decoded.ok()) << c.text;
    EXPECT_EQ(decoded.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(std::string(decoded.status().message()), HasSubstr(c.message)) << c.text;
  }
}

}  // namespace
}  // namespace dnoscope::protocol
