#include "serving/rest/routes.h"

#include <algorithm>
#include <charconv>
#include <optional>
#include <vector>

#include "fmt/format.h"

namespace dnoscope::serving::rest {
namespace {

std::vector<std::string_view> SplitPath(std::string_view path) {
  std::vector<std::string_view> parts;
  size_t start = 0;
  while (start <= path.size()) {
    size_t slash = path.find('/', start);
    if (slash == std::string_view::npos) slash = path.size();
    if (slash > start) parts.push_back(path.substr(start, slash - start));
    start = slash + 1;
  }
  return parts;
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::optional<std::string> PercentDecode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '%') {
      out.push_back(s[i]);
      continue;
    }
    if (i + 2 >= s.size()) return std::nullopt;
    const int hi = HexValue(s[i + 1]), lo = HexValue(s[i + 2]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out.push_back(static_cast<char>(hi * 16 + lo));
    i += 2;
  }
  return out;
}

RouteMatch Error(int status, std::string message) {
  RouteMatch m;
  m.http_status = status;
  m.error = std::move(message);
  return m;
}

RouteMatch Matched(Endpoint endpoint, std::string model = "", int64_t version = -1) {
  RouteMatch m;
  m.route = {endpoint, std::move(model), version};
  return m;
}

// Checks the method of a matched path.
RouteMatch WithMethod(RouteMatch match, std::string_view method, std::string_view wanted,
                      std::string_view path) {
  if (match.http_status == 0 && method != wanted) {
    return Error(405, fmt::format("{} {} is not supported; use {}", method, path, wanted));
  }
  return match;
}

// Parses {m}[/versions/{v}] from parts[first..]; returns the index after it.
RouteMatch ParseModel(const std::vector<std::string_view>& parts, size_t first, size_t* next) {
  std::optional<std::string> name = PercentDecode(parts[first]);
  if (!name || name->empty()) return Error(400, "bad percent-escape in model name");
  RouteMatch m;
  m.route.model = std::move(*name);
  *next = first + 1;
  if (*next < parts.size() && parts[*next] == "versions") {
    if (*next + 1 >= parts.size()) return Error(404, "missing version after /versions/");
    std::string_view v = parts[*next + 1];
    int64_t version = 0;
    auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), version);
    if (ec != std::errc() || end != v.data() + v.size() || version < 1) {
      return Error(400, fmt::format("version must be a positive integer, got '{}'", v));
    }
    m.route.version = version;
    *next += 2;
  }
  return m;
}

RouteMatch MatchV2Model(std::string_view method, const std::vector<std::string_view>& parts,
                        std::string_view path) {
  size_t next = 0;
  RouteMatch m = ParseModel(parts, 2, &next);
  if (m.http_status != 0) return m;
  const size_t rest = parts.size() - next;
  if (rest == 0) m.route.endpoint = Endpoint::kModelMetadata;
  else if (rest == 1 && parts[next] == "ready") m.route.endpoint = Endpoint::kModelReady;
  else if (rest == 1 && parts[next] == "config") m.route.endpoint = Endpoint::kModelConfig;
  else if (rest == 1 && parts[next] == "infer") m.route.endpoint = Endpoint::kInfer;
  else if (rest == 1 && parts[next] == "stats") m.route.endpoint = Endpoint::kStatistics;
  else return Error(404, fmt::format("unknown KServe v2 path '{}'", path));
  return WithMethod(m, method, m.route.endpoint == Endpoint::kInfer ? "POST" : "GET", path);
}

// /v2/repository/index and /v2/repository/models/{m}/load|unload.
RouteMatch MatchRepository(std::string_view method, const std::vector<std::string_view>& parts,
                           std::string_view path) {
  if (parts.size() == 3 && parts[2] == "index") {
    return WithMethod(Matched(Endpoint::kRepositoryIndex), method, "POST", path);
  }
  if (parts.size() == 5 && parts[2] == "models" && (parts[4] == "load" || parts[4] == "unload")) {
    std::optional<std::string> name = PercentDecode(parts[3]);
    if (!name || name->empty()) return Error(400, "bad percent-escape in model name");
    return WithMethod(Matched(parts[4] == "load" ? Endpoint::kRepositoryLoad
                                                 : Endpoint::kRepositoryUnload,
                              std::move(*name)),
                      method, "POST", path);
  }
  return Error(404, fmt::format("unknown repository path '{}'", path));
}

RouteMatch MatchV1Model(std::string_view method, std::vector<std::string_view> parts,
                        std::string_view path) {
  // ":predict" is glued to the last segment.
  bool predict = false;
  std::string_view& last = parts.back();
  const size_t colon = last.rfind(':');
  if (colon != std::string_view::npos) {
    if (last.substr(colon) != ":predict") {
      return Error(404, fmt::format("unsupported TF Serving method '{}' (only :predict)",
                                    last.substr(colon)));
    }
    predict = true;
    last = last.substr(0, colon);
    if (last.empty()) return Error(404, fmt::format("malformed TF Serving path '{}'", path));
  }
  size_t next = 0;
  RouteMatch m = ParseModel(parts, 2, &next);
  if (m.http_status != 0) return m;
  const size_t rest = parts.size() - next;
  if (predict && rest == 0) m.route.endpoint = Endpoint::kTfPredict;
  else if (!predict && rest == 0) m.route.endpoint = Endpoint::kTfStatus;
  else if (!predict && rest == 1 && parts[next] == "metadata") m.route.endpoint = Endpoint::kTfMetadata;
  else return Error(404, fmt::format("unknown TF Serving path '{}'", path));
  return WithMethod(m, method, predict ? "POST" : "GET", path);
}

}  // namespace

RouteMatch MatchRoute(std::string_view method, std::string_view target) {
  const std::string_view path = target.substr(0, target.find('?'));
  const std::vector<std::string_view> parts = SplitPath(path);
  auto exact = [&](std::initializer_list<std::string_view> want) {
    return parts.size() == want.size() && std::equal(want.begin(), want.end(), parts.begin());
  };
  if (exact({"v2", "health", "live"})) return WithMethod(Matched(Endpoint::kLive), method, "GET", path);
  if (exact({"v2", "health", "ready"})) return WithMethod(Matched(Endpoint::kReady), method, "GET", path);
  if (exact({"v2"})) return WithMethod(Matched(Endpoint::kServerMetadata), method, "GET", path);
  if (exact({"metrics"})) return WithMethod(Matched(Endpoint::kMetrics), method, "GET", path);
  if (exact({"v2", "models", "stats"})) {
    return WithMethod(Matched(Endpoint::kStatistics), method, "GET", path);
  }
  if (parts.size() >= 3 && parts[0] == "v2" && parts[1] == "repository") {
    return MatchRepository(method, parts, path);
  }
  if (parts.size() >= 3 && parts[0] == "v2" && parts[1] == "models") {
    return MatchV2Model(method, parts, path);
  }
  if (parts.size() >= 3 && parts[0] == "v1" && parts[1] == "models") {
    return MatchV1Model(method, parts, path);
  }
  return Error(404, fmt::format(
                        "no endpoint {} {} (KServe v2 under /v2, TF Serving under /v1/models, "
                        "Prometheus metrics at /metrics)",
                        method, path));
}

}  // namespace dnoscope::serving::rest
