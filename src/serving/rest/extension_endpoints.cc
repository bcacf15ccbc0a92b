// Triton's repository and statistics extensions of RestHandler (JSON as
// Triton's HTTP API has it).
#include "nlohmann/json.hpp"
#include "serving/rest/responses.h"
#include "serving/rest/rest_handler.h"

namespace dnoscope::serving::rest {
namespace {

using Json = nlohmann::ordered_json;

Json DurationJson(const Duration& d) { return {{"count", d.count}, {"ns", d.ns}}; }

Json StatisticsJson(const std::vector<VersionStatistics>& statistics) {
  Json models = Json::array();
  for (const VersionStatistics& s : statistics) {
    const Duration none;
    models.push_back({{"name", s.name},
                      {"version", std::to_string(s.version)},
                      {"last_inference", s.last_inference_ms},
                      {"inference_count", s.inference_count},
                      {"execution_count", s.execution_count},
                      {"inference_stats",
                       {{"success", DurationJson(s.success)},
                        {"fail", DurationJson(s.fail)},
                        {"queue", DurationJson(s.queue)},
                        {"compute_input", DurationJson(s.compute_input)},
                        {"compute_infer", DurationJson(s.compute_infer)},
                        {"compute_output", DurationJson(s.compute_output)},
                        {"cache_hit", DurationJson(none)},
                        {"cache_miss", DurationJson(none)}}},
                      {"batch_stats", Json::array()}});
  }
  return {{"model_stats", models}};
}

// The index request's {"ready": bool}; false for an empty body.
absl::StatusOr<bool> ReadyOnly(const std::string& body) {
  if (body.empty()) return false;
  const nlohmann::json request = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (!request.is_object()) {
    return absl::InvalidArgumentError("repository index request must be a JSON object");
  }
  auto ready = request.find("ready");
  if (ready == request.end()) return false;
  if (!ready->is_boolean()) {
    return absl::InvalidArgumentError("repository index 'ready' must be a boolean");
  }
  return ready->get<bool>();
}

}  // namespace

void RestHandler::HandleStatistics(const Route& route, const http::Responder& respond) const {
  absl::StatusOr<std::vector<VersionStatistics>> statistics =
      service_->Statistics(route.model, route.version);
  if (!statistics.ok()) return respond(StatusResponse(statistics.status()));
  respond(JsonResponse(StatisticsJson(*statistics).dump()));
}

void RestHandler::HandleRepositoryIndex(const http::HttpRequest& request,
                                        const http::Responder& respond) const {
  absl::StatusOr<bool> ready_only = ReadyOnly(request.body);
  if (!ready_only.ok()) return respond(StatusResponse(ready_only.status()));
  absl::StatusOr<std::vector<RepositoryModel>> index = service_->RepositoryIndex(*ready_only);
  if (!index.ok()) return respond(StatusResponse(index.status()));
  Json models = Json::array();
  for (const RepositoryModel& m : *index) {
    Json row = {{"name", m.name}};
    if (!m.version.empty()) row["version"] = m.version;
    row["state"] = m.state;
    if (!m.reason.empty()) row["reason"] = m.reason;
    models.push_back(std::move(row));
  }
  respond(JsonResponse(models.dump()));
}

}  // namespace dnoscope::serving::rest
