#include "emulation/replay_fleet.h"

#include <filesystem>

#include "common/file.h"
#include "common/status_macros.h"
#include "fmt/format.h"
#include "nlohmann/json.hpp"

namespace dnoscope::emulation {
namespace {

namespace fs = std::filesystem;

std::string ModelConfigJson(const ReplayModelSpec& m) {
  nlohmann::ordered_json j = {{"backend", "replay"}};
  if (m.kind != "detector") j["kind"] = m.kind;
  j["files"] = {{"labels", m.labels_file}};
  j["instance_count"] = m.instance_count;
  if (m.max_batch_size > 0) j["max_batch_size"] = m.max_batch_size;
  j["replay"] = {{"service_time_ms", m.service_time_ms}, {"object_name", m.object_name}};
  return j.dump(2);
}

}  // namespace

absl::Status WriteReplayRepository(const std::string& root,
                                   const std::vector<ReplayModelSpec>& models) {
  for (const ReplayModelSpec& m : models) {
    const fs::path dir = fs::path(root) / m.name;
    std::error_code ec;
    fs::create_directories(dir / "1", ec);
    if (ec) {
      return absl::InternalError(
          fmt::format("cannot create '{}': {}", (dir / "1").string(), ec.message()));
    }
    DNS_RETURN_IF_ERROR(WriteFile((dir / "config.json").string(), ModelConfigJson(m)));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<ReplayFleet>> ReplayFleet::Start(
    const std::string& dir, const ReplayModelSpec& model, const std::vector<double>& service_ms,
    const ModelServerOptions& options) {
  std::unique_ptr<ReplayFleet> fleet(new ReplayFleet());
  for (size_t i = 0; i < service_ms.size(); ++i) {
    ReplayModelSpec spec = model;
    spec.service_time_ms = service_ms[i];
    const std::string root = fmt::format("{}/server{}", dir, i);
    DNS_RETURN_IF_ERROR(WriteReplayRepository(root, {spec}));
    DNS_ASSIGN_OR_RETURN(std::unique_ptr<ModelServer> server, ModelServer::Start(root, options));
    fleet->servers_.push_back(std::move(server));
  }
  return fleet;
}

std::vector<client::Endpoint> ReplayFleet::endpoints() const {
  std::vector<client::Endpoint> endpoints;
  for (const auto& server : servers_) endpoints.push_back(server->endpoint());
  return endpoints;
}

}  // namespace dnoscope::emulation
