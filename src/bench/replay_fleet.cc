#include "bench/replay_fleet.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>

#include "absl/status/status.h"
#include "common/status_macros.h"
#include "fmt/format.h"
#include "labels/label_csv.h"
#include "nlohmann/json.hpp"
#include "serving/http/server.h"
#include "serving/metrics.h"
#include "serving/inference_service.h"
#include "serving/model_manager.h"
#include "serving/rest/rest_handler.h"
#include "video/frame_source.h"
#include "video/synthetic.h"

namespace dnoscope::bench {
namespace {

namespace fs = std::filesystem;

absl::Status WriteText(const fs::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  if (!out) return absl::InternalError(fmt::format("cannot write '{}'", path.string()));
  return absl::OkStatus();
}

std::string ModelConfigJson(const ReplayModelSpec& m) {
  nlohmann::ordered_json j = {{"backend", "replay"}};
  if (m.kind != "detector") j["kind"] = m.kind;
  j["files"] = {{"labels", m.labels_file}};
  j["instance_count"] = m.instance_count;
  if (m.max_batch_size > 0) j["max_batch_size"] = m.max_batch_size;
  j["replay"] = {{"service_time_ms", m.service_time_ms}, {"object_name", m.object_name}};
  return j.dump(2);
}

absl::Status WriteRepository(const fs::path& root, const std::vector<ReplayModelSpec>& models) {
  for (const ReplayModelSpec& m : models) {
    std::error_code ec;
    fs::create_directories(root / m.name / "1", ec);
    if (ec) {
      return absl::InternalError(
          fmt::format("cannot create '{}': {}", (root / m.name).string(), ec.message()));
    }
    DNS_RETURN_IF_ERROR(WriteText(root / m.name / "config.json", ModelConfigJson(m)));
  }
  return absl::OkStatus();
}

// A number in [0, 1) that depends only on (frame, salt): splitmix64.
double FrameUniform(int64_t frame, uint64_t salt) {
  uint64_t z = static_cast<uint64_t>(frame) * 0x9E3779B97F4A7C15ull + salt;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  z ^= z >> 31;
  return static_cast<double>(z >> 11) / static_cast<double>(uint64_t{1} << 53);
}

// Renders the synthetic scene; returns its truth positives.
absl::StatusOr<std::set<int64_t>> RenderScene(const ReplayWorkloadOptions& o, const fs::path& dir,
                                              ReplayWorkload* w) {
  video::SynthOptions synth;
  synth.width = o.width;
  synth.height = o.height;
  synth.frames = o.frames;
  synth.object_name = o.object_name;
  synth.object_rate = 0.02;
  DNS_ASSIGN_OR_RETURN(video::SynthResult scene,
                       video::WriteSyntheticScene(synth, (dir / "scene").string()));
  DNS_ASSIGN_OR_RETURN(std::vector<labels::Detection> truth,
                       labels::ReadLabelCsv(scene.labels_path));
  w->video = scene.video_path;
  w->frames = scene.frames;
  w->width = o.width;
  w->height = o.height;
  w->synthetic = true;
  w->reference_labels = scene.labels_path;
  std::set<int64_t> positive;
  for (const labels::Detection& d : truth) positive.insert(d.frame);
  return positive;
}

// A given video: a pseudo-random third of its frames hold one centred object.
absl::StatusOr<std::set<int64_t>> PseudoLabels(const ReplayWorkloadOptions& o, const fs::path& dir,
                                               ReplayWorkload* w) {
  DNS_ASSIGN_OR_RETURN(video::VideoInfo info, video::ProbeVideo(o.video));
  int64_t frames = o.frames;
  if (info.frame_count > 0)
    frames = frames > 0 ? std::min(frames, info.frame_count) : info.frame_count;
  if (frames <= 0) {
    return absl::InvalidArgumentError(
        fmt::format("'{}' does not declare its frame count; give the number of frames", o.video));
  }
  w->video = o.video;
  w->frames = frames;
  w->width = info.width;
  w->height = info.height;
  std::set<int64_t> positive;
  std::vector<labels::Detection> rows;
  for (int64_t f = 0; f < frames; ++f) {
    if (FrameUniform(f, /*salt=*/17) >= 1.0 / 3) continue;
    positive.insert(f);
    rows.push_back({f, o.object_name, 0.9f, info.width / 4.0f, info.height / 4.0f,
                    info.width * 0.75f, info.height * 0.75f});
  }
  w->reference_labels = (dir / "reference_labels.csv").string();
  DNS_RETURN_IF_ERROR(labels::WriteLabelCsv(w->reference_labels, rows));
  return positive;
}

absl::Status CheckWorkloadOptions(const ReplayWorkloadOptions& o) {
  if (o.frames < 0 || (o.video.empty() && o.frames == 0)) {
    return absl::InvalidArgumentError("frames must be >= 1 for a synthetic video");
  }
  if (o.uncertain_share < 0 || o.uncertain_share > 1) {
    return absl::InvalidArgumentError("uncertain_share must be in [0, 1]");
  }
  if (o.object_name.empty()) return absl::InvalidArgumentError("object_name must be set");
  return absl::OkStatus();
}

}  // namespace

struct ReplayServer::Impl {
  serving::MetricsRegistry metrics;
  std::unique_ptr<serving::ModelManager> manager;
  std::unique_ptr<serving::InferenceService> service;
  std::unique_ptr<serving::rest::RestHandler> handler;
  std::unique_ptr<serving::http::HttpServer> server;
};

ReplayServer::ReplayServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

ReplayServer::~ReplayServer() {
  if (impl_->server) impl_->server->Shutdown();
  if (impl_->manager) impl_->manager->Shutdown();
}

absl::StatusOr<std::unique_ptr<ReplayServer>> ReplayServer::Start(
    const std::string& dir, const std::vector<ReplayModelSpec>& models, int io_threads) {
  const fs::path root = fs::path(dir) / "repo";
  DNS_RETURN_IF_ERROR(WriteRepository(root, models));
  auto impl = std::make_unique<Impl>();
  DNS_ASSIGN_OR_RETURN(impl->manager,
                       serving::ModelManager::Create(root.string(), {}, &impl->metrics));
  for (const ReplayModelSpec& m : models) {
    DNS_ASSIGN_OR_RETURN(const serving::ServedModel* served, impl->manager->Find(m.name));
    if (!served->status.ok()) return served->status;
    DNS_RETURN_IF_ERROR(served->Resolve(-1).status());
  }
  DNS_ASSIGN_OR_RETURN(impl->service, serving::InferenceService::Create({}, impl->manager.get()));
  impl->handler = std::make_unique<serving::rest::RestHandler>(impl->service.get());
  serving::http::HttpServerOptions http;
  http.port = 0;
  http.io_threads = io_threads;
  http.drain_timeout = std::chrono::seconds(5);
  serving::rest::RestHandler* handler = impl->handler.get();
  DNS_ASSIGN_OR_RETURN(impl->server, serving::http::HttpServer::Start(
                                         http, [handler](serving::http::HttpRequest request,
                                                         serving::http::Responder respond) {
                                           handler->Handle(std::move(request), std::move(respond));
                                         }));
  return std::unique_ptr<ReplayServer>(new ReplayServer(std::move(impl)));
}

client::Endpoint ReplayServer::endpoint() const { return {"127.0.0.1", impl_->server->port()}; }

absl::StatusOr<ReplayWorkload> PrepareReplayWorkload(const ReplayWorkloadOptions& options,
                                                     const std::string& dir) {
  DNS_RETURN_IF_ERROR(CheckWorkloadOptions(options));
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return absl::InternalError(fmt::format("cannot create '{}': {}", dir, ec.message()));
  ReplayWorkload w;
  absl::StatusOr<std::set<int64_t>> positive =
      options.video.empty() ? RenderScene(options, dir, &w) : PseudoLabels(options, dir, &w);
  if (!positive.ok()) return positive.status();
  std::vector<labels::Detection> rows;
  for (int64_t f = 0; f < w.frames; ++f) {
    float confidence = 0;
    if (FrameUniform(f, /*salt=*/29) < options.uncertain_share) {
      confidence = 0.5f;
      ++w.uncertain_frames;
    } else if (positive->count(f) > 0) {
      confidence = 0.95f;
    }
    if (confidence > 0) {
      rows.push_back({f, options.object_name, confidence, 0, 0, static_cast<float>(w.width),
                      static_cast<float>(w.height)});
    }
  }
  w.positive_frames = static_cast<int64_t>(positive->size());
  w.classifier_labels = (fs::path(dir) / "classifier_labels.csv").string();
  DNS_RETURN_IF_ERROR(labels::WriteLabelCsv(w.classifier_labels, rows));
  return w;
}

}  // namespace dnoscope::bench
