#include "serving/http/response_head.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "serving/http/server.h"

namespace dnoscope::serving::http {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

TEST(ResponseHeadTest, WritesStatusLineFramingAndExtraHeaders) {
  HttpResponse response;
  response.status = 404;
  response.headers = {{"X-Request-Id", "7"}};
  response.body = "{}";
  std::string head;
  AppendResponseHead(response, ConnectionMode::kKeepAlive, &head);
  EXPECT_EQ(head,
            "HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\nContent-Length: 2\r\n"
            "X-Request-Id: 7\r\n\r\n");
}

TEST(ResponseHeadTest, ConnectionHeaderFollowsTheMode) {
  HttpResponse response;
  std::string close_head;
  AppendResponseHead(response, ConnectionMode::kClose, &close_head);
  EXPECT_THAT(close_head, HasSubstr("Connection: close\r\n"));
  std::string legacy_head;
  AppendResponseHead(response, ConnectionMode::kKeepAliveLegacy, &legacy_head);
  EXPECT_THAT(legacy_head, HasSubstr("Connection: keep-alive\r\n"));
}

TEST(ResponseHeadTest, DropsReservedAndUnsafeHeaders) {
  HttpResponse response;
  response.headers = {{"content-length", "99"},
                      {"Connection", "keep-alive"},
                      {"X-Evil", "a\r\nSet-Cookie: x"},
                      {"Bad Name", "v"},
                      {"X-Good", "ok"}};
  std::string head;
  AppendResponseHead(response, ConnectionMode::kKeepAlive, &head);
  EXPECT_THAT(head, HasSubstr("Content-Length: 0\r\n"));
  EXPECT_THAT(head, Not(HasSubstr("99")));
  EXPECT_THAT(head, Not(HasSubstr("keep-alive")));
  EXPECT_THAT(head, Not(HasSubstr("Set-Cookie")));
  EXPECT_THAT(head, Not(HasSubstr("Bad Name")));
  EXPECT_THAT(head, HasSubstr("X-Good: ok\r\n"));
}

TEST(ResponseHeadTest, OutOfRangeStatusBecomes500) {
  HttpResponse response;
  response.status = 42;
  std::string head;
  AppendResponseHead(response, ConnectionMode::kKeepAlive, &head);
  EXPECT_THAT(head, HasSubstr("HTTP/1.1 500 Internal Server Error\r\n"));
}

TEST(ResponseHeadTest, ErrorResponseEscapesTheMessage) {
  HttpResponse response = ErrorResponse(400, "bad \"x\"\n\x01");
  EXPECT_EQ(response.status, 400);
  EXPECT_EQ(response.content_type, "application/json");
  EXPECT_EQ(response.body, R"({"error": "bad \"x\"\n\u0001"})");
}

TEST(HttpRequestTest, HeaderLookupIsCaseInsensitive) {
  HttpRequest request;
  request.headers = {{"content-type", "text/plain"}, {"x-id", "1"}, {"x-id", "2"}};
  ASSERT_NE(request.Header("Content-Type"), nullptr);
  EXPECT_EQ(*request.Header("Content-Type"), "text/plain");
  EXPECT_EQ(*request.Header("X-ID"), "1");
  EXPECT_EQ(request.Header("missing"), nullptr);
}

}  // namespace
}  // namespace dnoscope::serving::http
