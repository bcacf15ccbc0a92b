// gzip/deflate bodies: round trips, the decoded-size limit (zip bombs stop
// at the limit), corrupt and truncated data, and Accept-Encoding choices.
#include "serving/http/content_coding.h"

#include <zlib.h>

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace dnoscope::serving::http {
namespace {

using ::testing::HasSubstr;

std::string Text() {
  std::string text;
  for (int i = 0; i < 2000; ++i) text += "frame " + std::to_string(i) + " person 0.9\n";
  return text;
}

TEST(ContentCodingTest, GzipAndDeflateRoundTrip) {
  const std::string text = Text();
  for (ContentCoding coding : {ContentCoding::kGzip, ContentCoding::kDeflate}) {
    const std::string packed = Compress(coding, text);
    EXPECT_LT(packed.size(), text.size() / 4) << ContentCodingName(coding);
    absl::StatusOr<std::string> unpacked = Decompress(coding, packed, text.size());
    ASSERT_TRUE(unpacked.ok()) << unpacked.status();
    EXPECT_EQ(*unpacked, text);
  }
  // gzip's magic bytes; deflate is the zlib format (0x78 header).
  EXPECT_EQ(Compress(ContentCoding::kGzip, text).substr(0, 2), "\x1f\x8b");
  EXPECT_EQ(Compress(ContentCoding::kDeflate, text)[0], '\x78');
}

TEST(ContentCodingTest, DecodesWhatZlibItselfCompressed) {
  const std::string text = Text();
  uLongf size = compressBound(text.size());
  std::string packed(size, '\0');
  ASSERT_EQ(compress(reinterpret_cast<Bytef*>(packed.data()), &size,
                     reinterpret_cast<const Bytef*>(text.data()), text.size()),
            Z_OK);
  packed.resize(size);
  absl::StatusOr<std::string> unpacked = Decompress(ContentCoding::kDeflate, packed, 1 << 20);
  ASSERT_TRUE(unpacked.ok()) << unpacked.status();
  EXPECT_EQ(*unpacked, text);
}

TEST(ContentCodingTest, StopsInflatingAtTheLimit) {
  // 64 MiB of zeros compress to ~64 KiB: a zip bomb for a 1 MiB limit.
  const std::string bomb = Compress(ContentCoding::kGzip, std::string(64 << 20, '\0'));
  ASSERT_LT(bomb.size(), 1u << 20);
  absl::StatusOr<std::string> out = Decompress(ContentCoding::kGzip, bomb, 1 << 20);
  EXPECT_EQ(out.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(out.status().message(), HasSubstr("1048576"));
  // Exactly at the limit is fine.
  const std::string exact = Compress(ContentCoding::kGzip, std::string(1000, 'x'));
  EXPECT_TRUE(Decompress(ContentCoding::kGzip, exact, 1000).ok());
  EXPECT_EQ(Decompress(ContentCoding::kGzip, exact, 999).status().code(),
            absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(Decompress(ContentCoding::kIdentity, "12345", 4).status().code(),
            absl::StatusCode::kResourceExhausted);
}

TEST(ContentCodingTest, CorruptTruncatedOrTrailingDataIsInvalid) {
  const std::string packed = Compress(ContentCoding::kGzip, Text());
  std::string corrupt = packed;
  corrupt[corrupt.size() / 2] ^= 0x55;
  corrupt[corrupt.size() / 2 + 1] ^= 0x55;
  for (const std::string& bad : {std::string("not gzip at all"), corrupt,
                                 packed.substr(0, packed.size() / 2), packed + "junk",
                                 std::string()}) {
    absl::StatusOr<std::string> out = Decompress(ContentCoding::kGzip, bad, 1 << 20);
    EXPECT_EQ(out.status().code(), absl::StatusCode::kInvalidArgument) << bad.size();
    EXPECT_THAT(out.status().message(), HasSubstr("corrupt gzip body"));
  }
  // gzip data sent as deflate is not deflate.
  EXPECT_EQ(Decompress(ContentCoding::kDeflate, packed, 1 << 20).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(ContentCodingTest, ParsesContentEncodingNames) {
  EXPECT_EQ(*ParseContentEncoding(""), ContentCoding::kIdentity);
  EXPECT_EQ(*ParseContentEncoding("identity"), ContentCoding::kIdentity);
  EXPECT_EQ(*ParseContentEncoding(" GZIP "), ContentCoding::kGzip);
  EXPECT_EQ(*ParseContentEncoding("x-gzip"), ContentCoding::kGzip);
  EXPECT_EQ(*ParseContentEncoding("Deflate"), ContentCoding::kDeflate);
  for (const char* other : {"br", "gzip, deflate", "compress"}) {
    absl::StatusOr<ContentCoding> coding = ParseContentEncoding(other);
    EXPECT_EQ(coding.status().code(), absl::StatusCode::kUnimplemented) << other;
    EXPECT_THAT(coding.status().message(), HasSubstr(other));
  }
}

TEST(ContentCodingTest, NegotiatesGzipThenDeflateHonouringQZero) {
  EXPECT_EQ(NegotiateResponseCoding("gzip"), ContentCoding::kGzip);
  EXPECT_EQ(NegotiateResponseCoding("deflate, gzip;q=0.5"), ContentCoding::kGzip);
  EXPECT_EQ(NegotiateResponseCoding("deflate"), ContentCoding::kDeflate);
  EXPECT_EQ(NegotiateResponseCoding("gzip;q=0, deflate"), ContentCoding::kDeflate);
  EXPECT_EQ(NegotiateResponseCoding("*"), ContentCoding::kGzip);
  EXPECT_EQ(NegotiateResponseCoding("br, identity"), ContentCoding::kIdentity);
  EXPECT_EQ(NegotiateResponseCoding(""), ContentCoding::kIdentity);
}

}  // namespace
}  // namespace dnoscope::serving::http
