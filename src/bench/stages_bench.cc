#include "bench/stages_bench.h"

#include <filesystem>
#include <fstream>
#include <functional>
#include <optional>

#include "absl/status/status.h"
#include "client/http_client.h"
#include "client/remote_model.h"
#include "client/remote_stage.h"
#include "common/histogram.h"
#include "common/status_macros.h"
#include "detect/difference_detector.h"
#include "fmt/format.h"
#include "models/model.h"
#include "models/model_repository.h"
#include "nlohmann/json.hpp"
#include "serving/http/server.h"
#include "serving/metrics.h"
#include "serving/inference_service.h"
#include "serving/model_manager.h"
#include "serving/rest/rest_handler.h"
#include "train/onnx_export.h"
#include "train/trained_model.h"
#include "video/frame_source.h"
#include "video/preprocess.h"
#include "video/synthetic.h"

namespace dnoscope::bench {
namespace {

namespace fs = std::filesystem;
using Json = nlohmann::ordered_json;

// The seed's section 4.4.1, seconds.
constexpr double kSeedDifference = 0.013;
constexpr double kSeedSpecialized = 0.026;
constexpr double kSeedReference = 4.26;
constexpr double kSeedNetwork = 0.2;

constexpr int kWarmup = 3;

void Report(const BenchProgress& progress, const std::string& line) {
  if (progress) progress(line);
}

StageLatencyRow Row(std::string stage, std::string model, std::string where, double seed_seconds) {
  StageLatencyRow row;
  row.stage = std::move(stage);
  row.model = std::move(model);
  row.where = std::move(where);
  row.seed_seconds = seed_seconds;
  return row;
}

absl::Status WriteText(const fs::path& path, const std::string& text) {
  std::error_code ec;
  fs::create_directories(path.parent_path(), ec);
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  if (!out) return absl::InternalError(fmt::format("cannot write '{}'", path.string()));
  return absl::OkStatus();
}

// Keeps the first and the last of the frames offered.
void KeepFirstAndLast(const cv::Mat& frame, std::vector<cv::Mat>& frames) {
  if (frames.size() < 2) {
    frames.push_back(frame.clone());
  } else {
    frames[1] = frame.clone();
  }
}

// The first and the 30th (or last) frame of `path`; empty when unreadable.
std::vector<cv::Mat> VideoFrames(const std::string& path) {
  std::vector<cv::Mat> frames;
  absl::StatusOr<std::unique_ptr<video::FrameSource>> source =
      video::OpenFrameSource({.uri = path});
  for (int i = 0; source.ok() && i < 30; ++i) {
    absl::StatusOr<std::optional<video::Frame>> frame = (*source)->Next();
    if (!frame.ok() || !frame->has_value()) break;
    if (!(*frame)->image.empty()) KeepFirstAndLast((*frame)->image, frames);
  }
  if (frames.size() < 2) frames.clear();
  return frames;
}

// Two distinct frames of the video, or of a synthetic 640x360 scene.
absl::StatusOr<std::vector<cv::Mat>> LoadFrames(const StagesBenchOptions& o,
                                                StagesBenchResult& result) {
  std::vector<cv::Mat> frames;
  if (!o.video.empty()) {
    frames = VideoFrames(o.video);
    if (frames.empty()) {
      result.notes.push_back(fmt::format("'{}' not readable: synthetic frames used", o.video));
    }
  }
  result.frame_source = frames.empty() ? "synthetic" : o.video;
  if (frames.empty()) {
    DNS_ASSIGN_OR_RETURN(std::unique_ptr<video::SyntheticScene> scene,
                         video::SyntheticScene::Create({.frames = 30, .object_rate = 0.2}));
    cv::Mat frame;
    std::vector<labels::Detection> truth;
    while (scene->Next(&frame, &truth)) KeepFirstAndLast(frame, frames);
  }
  result.width = frames[0].cols;
  result.height = frames[0].rows;
  return frames;
}

// Yolo-Fastest's files in `dir`, or empty (with a note) when incomplete.
struct YoloFiles {
  std::string cfg, weights, names;
};

std::optional<YoloFiles> FindYolo(const StagesBenchOptions& o, StagesBenchResult& result) {
  if (o.yolo_dir.empty()) {
    result.notes.push_back("Yolo-Fastest skipped: no folder given");
    return std::nullopt;
  }
  const fs::path dir = fs::absolute(o.yolo_dir);
  YoloFiles f{(dir / "yolo-fastest-1.1.cfg").string(), (dir / "yolo-fastest-1.1.weights").string(),
              (dir / "coco.names").string()};
  for (const std::string& path : {f.cfg, f.weights, f.names}) {
    if (!fs::exists(path)) {
      result.notes.push_back(fmt::format("Yolo-Fastest skipped: '{}' not found", path));
      return std::nullopt;
    }
  }
  return f;
}

// <scratch>/repo: "spec" (the CNN), "hog" and, with `yolo`, "yolo"; one
// instance each, no dynamic batching delay.
absl::StatusOr<std::string> BuildRepository(const std::string& scratch,
                                            const std::optional<YoloFiles>& yolo) {
  const fs::path root = fs::path(scratch) / "repo";
  DNS_RETURN_IF_ERROR(WriteText(root / "spec" / "config.json",
                                R"({"backend": "opencv_dnn", "kind": "classifier",
                                    "files": {"model": "model.onnx"}})"));
  DNS_ASSIGN_OR_RETURN(std::string onnx,
                       train::ExportOnnx(train::RandomTrainedModel({2, 32, 128}, 50, 50, 7)));
  DNS_RETURN_IF_ERROR(WriteText(root / "spec" / "1" / "model.onnx", onnx));
  DNS_RETURN_IF_ERROR(WriteText(root / "hog" / "config.json", R"({"backend": "hog"})"));
  std::error_code ec;
  fs::create_directories(root / "hog" / "1", ec);
  if (yolo) {
    const Json config = {
        {"backend", "opencv_dnn"},
        {"files", {{"model", yolo->cfg}, {"weights", yolo->weights}, {"names", yolo->names}}}};
    DNS_RETURN_IF_ERROR(WriteText(root / "yolo" / "config.json", config.dump(2)));
    fs::create_directories(root / "yolo" / "1", ec);
  }
  if (ec)
    return absl::InternalError(fmt::format("cannot create '{}': {}", root.string(), ec.message()));
  return root.string();
}

// A model server over `root` on 127.0.0.1, port 0.
struct StageServer {
  serving::MetricsRegistry metrics;
  std::unique_ptr<serving::ModelManager> manager;
  std::unique_ptr<serving::InferenceService> service;
  std::unique_ptr<serving::rest::RestHandler> handler;
  std::unique_ptr<serving::http::HttpServer> http;

  ~StageServer() {
    if (http) http->Shutdown();
    if (manager) manager->Shutdown();
  }
  client::Endpoint endpoint() const { return {"127.0.0.1", http->port()}; }
};

absl::StatusOr<std::unique_ptr<StageServer>> StartServer(const std::string& root) {
  auto s = std::make_unique<StageServer>();
  DNS_ASSIGN_OR_RETURN(s->manager, serving::ModelManager::Create(root, {}, &s->metrics));
  DNS_ASSIGN_OR_RETURN(s->service, serving::InferenceService::Create({}, s->manager.get()));
  s->handler = std::make_unique<serving::rest::RestHandler>(s->service.get());
  serving::http::HttpServerOptions options;
  options.port = 0;
  options.io_threads = 1;
  serving::rest::RestHandler* handler = s->handler.get();
  DNS_ASSIGN_OR_RETURN(s->http, serving::http::HttpServer::Start(
                                    options, [handler](serving::http::HttpRequest request,
                                                       serving::http::Responder respond) {
                                      handler->Handle(std::move(request), std::move(respond));
                                    }));
  return s;
}

// Runs `call(i)` kWarmup times, then up to `repeats` times (or for
// max_time_per_measurement) one after the other, and appends the row.
absl::Status Measure(const StagesBenchOptions& o, StageLatencyRow row,
                     const std::function<absl::Status(int)>& call, StagesBenchResult& result) {
  for (int i = 0; i < kWarmup; ++i) DNS_RETURN_IF_ERROR(call(i));
  LatencyHistogram h;
  const Clock::TimePoint start = Clock::Real()->Now();
  for (int i = 0; i < o.repeats; ++i) {
    const Clock::TimePoint t0 = Clock::Real()->Now();
    DNS_RETURN_IF_ERROR(call(i));
    const Clock::TimePoint t1 = Clock::Real()->Now();
    h.Record(t1 - t0);
    if (t1 - start > o.max_time_per_measurement) break;
  }
  row.count = h.count();
  row.p50_ms = h.Percentile(50) / 1000;
  row.p99_ms = h.Percentile(99) / 1000;
  row.mean_ms = h.mean_us() / 1000;
  Report(o.progress, fmt::format("stages {} {} {}: p50 {:.3f} ms over {}", row.stage, row.model,
                                 row.where, row.p50_ms, row.count));
  result.rows.push_back(std::move(row));
  return absl::OkStatus();
}

absl::Status MeasureDifference(const StagesBenchOptions& o, const std::vector<cv::Mat>& frames,
                               StagesBenchResult& result) {
  DNS_ASSIGN_OR_RETURN(std::unique_ptr<detect::DifferenceDetector> diff,
                       detect::DifferenceDetector::Create({}));
  const detect::DiffOptions& d = diff->options();
  std::vector<cv::Mat> small(2);
  for (int k = 0; k < 2; ++k) {
    video::CropAndResize(frames[k], std::nullopt, d.width, d.height, video::Interpolation::kArea,
                         &small[k]);
  }
  // Alternating frames: every frame is "changed" and becomes the anchor,
  // the costlier path.
  int64_t index = 0;
  DNS_RETURN_IF_ERROR(Measure(
      o, Row("difference", fmt::format("MSE {}x{}", d.width, d.height), "local", kSeedDifference),
      [&](int i) {
        diff->Process(index++, small[i % 2]);
        return absl::OkStatus();
      },
      result));
  cv::Mat resized;
  return Measure(
      o,
      Row("difference", fmt::format("resize {}x{} + MSE", frames[0].cols, frames[0].rows), "local",
          kSeedDifference),
      [&](int i) {
        video::CropAndResize(frames[i % 2], std::nullopt, d.width, d.height,
                             video::Interpolation::kArea, &resized);
        diff->Process(index++, resized);
        return absl::OkStatus();
      },
      result);
}

// `model` (a repository name) in process and through `server`.
absl::Status MeasureModel(const StagesBenchOptions& o, const models::ModelRepository& repo,
                          const StageServer& server, const StageLatencyRow& row,
                          const std::vector<std::vector<Tensor>>& inputs,
                          StagesBenchResult& result) {
  DNS_ASSIGN_OR_RETURN(std::unique_ptr<models::Model> local, repo.Load(row.model));
  StageLatencyRow local_row = row;
  local_row.where = "local";
  DNS_RETURN_IF_ERROR(Measure(
      o, local_row, [&](int i) { return local->Infer(inputs[i % inputs.size()]).status(); },
      result));
  client::RemoteModelOptions remote_options;
  remote_options.model = row.model;
  DNS_ASSIGN_OR_RETURN(std::unique_ptr<client::RemoteModel> remote,
                       client::ConnectRemoteStage({server.endpoint()}, remote_options));
  StageLatencyRow remote_row = row;
  remote_row.where = "remote";
  return Measure(
      o, remote_row, [&](int i) { return remote->Infer({inputs[i % inputs.size()]}).status(); },
      result);
}

absl::Status MeasureNetwork(const StagesBenchOptions& o, const StageServer& server,
                            StagesBenchResult& result) {
  DNS_ASSIGN_OR_RETURN(std::unique_ptr<client::HttpClient> http, client::HttpClient::Create({}));
  client::HttpCall call;
  call.method = "GET";
  call.target = "/v2/health/ready";
  call.content_type.clear();
  return Measure(
      o, Row("network", "GET /v2/health/ready", "loopback", kSeedNetwork),
      [&](int) -> absl::Status {
        DNS_ASSIGN_OR_RETURN(client::HttpResult r, http->SendSync(server.endpoint(), call));
        if (r.status != 200) return absl::UnavailableError("server not ready");
        return absl::OkStatus();
      },
      result);
}

std::vector<std::vector<Tensor>> ImageInputs(const std::vector<cv::Mat>& frames) {
  std::vector<std::vector<Tensor>> inputs;
  for (const cv::Mat& f : frames) inputs.push_back({models::ImageToTensor(f)});
  return inputs;
}

// One 50x50 crop per frame, as the cascade sends the specialized model.
std::vector<std::vector<Tensor>> CropInputs(const std::vector<cv::Mat>& frames,
                                            const models::ModelMetadata& cnn) {
  std::vector<std::vector<Tensor>> inputs;
  for (const cv::Mat& f : frames) {
    cv::Mat crop;
    video::CropAndResize(f, std::nullopt, 50, 50, video::Interpolation::kArea, &crop);
    inputs.push_back({models::ImagesToBatchTensor({crop}, cnn.inputs[0].name)});
  }
  return inputs;
}

}  // namespace

absl::StatusOr<StagesBenchResult> RunStagesBench(const StagesBenchOptions& o) {
  if (o.repeats < 1 || o.scratch_dir.empty()) {
    return absl::InvalidArgumentError("repeats >= 1 and a scratch_dir are needed");
  }
  StagesBenchResult result;
  DNS_ASSIGN_OR_RETURN(std::vector<cv::Mat> frames, LoadFrames(o, result));
  DNS_RETURN_IF_ERROR(MeasureDifference(o, frames, result));
  const std::optional<YoloFiles> yolo = FindYolo(o, result);
  DNS_ASSIGN_OR_RETURN(std::string root, BuildRepository(o.scratch_dir, yolo));
  DNS_ASSIGN_OR_RETURN(std::unique_ptr<models::ModelRepository> repo,
                       models::ModelRepository::Open(root));
  DNS_ASSIGN_OR_RETURN(std::unique_ptr<StageServer> server, StartServer(root));
  DNS_ASSIGN_OR_RETURN(std::unique_ptr<models::Model> cnn, repo->Load("spec"));
  const std::vector<std::vector<Tensor>> crops = CropInputs(frames, cnn->metadata());
  cnn.reset();
  DNS_RETURN_IF_ERROR(MeasureModel(
      o, *repo, *server, Row("specialized", "spec", "", kSeedSpecialized), crops, result));
  const std::vector<std::vector<Tensor>> images = ImageInputs(frames);
  DNS_RETURN_IF_ERROR(
      MeasureModel(o, *repo, *server, Row("reference", "hog", "", kSeedReference), images, result));
  if (yolo) {
    DNS_RETURN_IF_ERROR(MeasureModel(o, *repo, *server,
                                     Row("reference", "yolo", "", kSeedReference), images, result));
  }
  DNS_RETURN_IF_ERROR(MeasureNetwork(o, *server, result));
  return result;
}

std::string FormatStagesBench(const StagesBenchResult& r) {
  std::string out = fmt::format(
      "frames: {} ({}x{}); one request at a time; remote = a model server in this process on "
      "127.0.0.1 (KServe binary, raw pixels)\n"
      "spec = NoScope CNN (2 conv x 32, dense 128, 50x50 input) with random weights; "
      "yolo = Yolo-Fastest 1.1 (320x320)\n\n",
      r.frame_source, r.width, r.height);
  out +=
      fmt::format("{:<12} {:<22} {:<9} {:>6} {:>10} {:>10} {:>10} {:>10} {:>10}\n", "stage",
                  "model", "where", "count", "p50 ms", "p99 ms", "mean ms", "seed ms", "seed/p50");
  for (const StageLatencyRow& row : r.rows) {
    out += fmt::format(
        "{:<12} {:<22} {:<9} {:>6} {:>10.4f} {:>10.4f} {:>10.4f} {:>10.1f} {:>9.1f}x\n", row.stage,
        row.model, row.where, row.count, row.p50_ms, row.p99_ms, row.mean_ms,
        1000 * row.seed_seconds, row.p50_ms > 0 ? 1000 * row.seed_seconds / row.p50_ms : 0);
  }
  for (const std::string& note : r.notes) out += "note: " + note + "\n";
  return out;
}

std::string StagesBenchCsv(const StagesBenchResult& r) {
  std::string out = "stage,model,where,count,p50_ms,p99_ms,mean_ms,seed_ms\n";
  for (const StageLatencyRow& row : r.rows) {
    out += fmt::format("{},{},{},{},{:.4f},{:.4f},{:.4f},{:.1f}\n", row.stage, row.model, row.where,
                       row.count, row.p50_ms, row.p99_ms, row.mean_ms, 1000 * row.seed_seconds);
  }
  return out;
}

std::string StagesBenchJson(const StagesBenchResult& r) {
  Json rows = Json::array();
  for (const StageLatencyRow& row : r.rows) {
    rows.push_back({{"stage", row.stage},
                    {"model", row.model},
                    {"where", row.where},
                    {"count", row.count},
                    {"p50_ms", row.p50_ms},
                    {"p99_ms", row.p99_ms},
                    {"mean_ms", row.mean_ms},
                    {"seed_seconds", row.seed_seconds}});
  }
  Json j = {{"frame_source", r.frame_source},
            {"width", r.width},
            {"height", r.height},
            {"rows", rows},
            {"notes", r.notes}};
  return j.dump(2) + "\n";
}

}  // namespace dnoscope::bench
