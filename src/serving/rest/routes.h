// URL routing for the REST front end: which endpoint of the KServe v2
// (Open Inference Protocol) or TF Serving v1 REST API a method and target
// name, with the model name and version they carry.
//
//   GET  /v2/health/live | /v2/health/ready | /v2
//   GET  /v2/models/{m}[/versions/{v}] | .../ready | /v2/models/{m}[/versions/{v}]/config
//   POST /v2/models/{m}[/versions/{v}]/infer
//   GET  /v2/models/stats | /v2/models/{m}[/versions/{v}]/stats   (statistics extension)
//   POST /v2/repository/index | /v2/repository/models/{m}/load | .../unload
//                                                    (repository extension)
//   GET  /v1/models/{m}[/versions/{v}] | .../metadata
//   POST /v1/models/{m}[/versions/{v}]:predict
//   GET  /metrics
//
// Pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace dnoscope::serving::rest {

enum class Endpoint {
  kLive,
  kReady,
  kServerMetadata,
  kModelMetadata,
  kModelReady,
  kModelConfig,
  kInfer,
  kTfStatus,
  kTfMetadata,
  kTfPredict,
  kMetrics,
  kStatistics,
  kRepositoryIndex,
  kRepositoryLoad,
  kRepositoryUnload,
};

struct Route {
  Endpoint endpoint = Endpoint::kLive;
  // Percent-decoded model name; empty for server-level endpoints (and for
  // kStatistics of every model).
  std::string model;
  // -1: not given (the highest ready version is served).
  int64_t version = -1;
};

struct RouteMatch {
  Route route;
  // 0 when matched; else 404 (no such path), 405 (path exists, other
  // method) or 400 (bad version or escape), with `error` saying why.
  int http_status = 0;
  std::string error;
};

// Matches `target` (query string ignored) for `method`.
RouteMatch MatchRoute(std::string_view method, std::string_view target);

}  // namespace dnoscope::serving::rest
