#include "serving/rest/responses.h"

#include "protocol/kserve.h"
#include "serving/rest/rest_handler.h"

namespace dnoscope::serving::rest {

int HttpStatusFor(const absl::Status& status) {
  switch (status.code()) {
    case absl::StatusCode::kOk:
      return 200;
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kFailedPrecondition:
    case absl::StatusCode::kOutOfRange:
      return 400;
    case absl::StatusCode::kNotFound:
      return 404;
    case absl::StatusCode::kResourceExhausted:
      return 429;
    case absl::StatusCode::kUnimplemented:
      return 501;
    case absl::StatusCode::kUnavailable:
      return 503;
    case absl::StatusCode::kDeadlineExceeded:
      return 504;
    default:
      return 500;
  }
}

http::HttpResponse JsonResponse(std::string body, int status) {
  http::HttpResponse response;
  response.status = status;
  response.body = std::move(body);
  return response;
}

http::HttpResponse ErrorResponse(int status, std::string_view message) {
  return JsonResponse(protocol::EncodeError(message), status);
}

http::HttpResponse StatusResponse(const absl::Status& error) {
  return ErrorResponse(HttpStatusFor(error), std::string(error.message()));
}

}  // namespace dnoscope::serving::rest
