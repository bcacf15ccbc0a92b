// Building HTTP responses in the REST front end (internal to serving/rest).
// Pure functions; thread-safe.
#pragma once

#include <string>

#include "absl/status/status.h"
#include "serving/http/server.h"

namespace dnoscope::serving::rest {

// 200 (or `status`) with a JSON body.
http::HttpResponse JsonResponse(std::string body, int status = 200);
// `status` with {"error": message}.
http::HttpResponse ErrorResponse(int status, std::string_view message);
// The HTTP status HttpStatusFor gives `error`, with its message.
http::HttpResponse StatusResponse(const absl::Status& error);

}  // namespace dnoscope::serving::rest
