#include "bench/stages_bench.h"

#include <algorithm>
#include <filesystem>
#include <functional>
#include <optional>

#include "absl/status/status.h"
#include "bench/distributed_bench.h"
#include "bench/seed.h"
#include "client/http_client.h"
#include "client/remote_model.h"
#include "client/remote_stage.h"
#include "common/file.h"
#include "common/histogram.h"
#include "common/status_macros.h"
#include "detect/difference_detector.h"
#include "emulation/model_server.h"
#include "fmt/format.h"
#include "models/model.h"
#include "models/model_repository.h"
#include "nlohmann/json.hpp"
#include "train/onnx_export.h"
#include "train/trained_model.h"
#include "video/frame_source.h"
#include "video/preprocess.h"
#include "video/synthetic.h"

namespace dnoscope::bench {
namespace {

namespace fs = std::filesystem;
using Json = nlohmann::ordered_json;

constexpr int kWarmup = 3;

// What one measurement is: the stage, the model, where it ran, the seed's
// figure for the stage.
struct Subject {
  std::string stage;
  std::string model;
  std::string where;
  double seed_seconds = 0;
};

// The measurements and what the run noticed.
struct Measured {
  Table table{.name = "stages",
              .title = "one row per measurement, one request at a time",
              .columns = {{"stage"}, {"model"}, {"where"}, {"count"}, {"p50", "ms", 4},
                          {"p99", "ms", 4}, {"mean", "ms", 4}, {"seed", "ms", 1},
                          {"seed_over_p50", "", 1}}};
  std::string frame_source;
  int width = 0;
  int height = 0;
  std::vector<std::string> notes;
};

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

// Two distinct frames of the person clip, or of a synthetic 640x360 scene.
absl::StatusOr<std::vector<cv::Mat>> LoadFrames(const StagesBenchOptions& o, Measured& result) {
  const std::string video =
      (fs::path(o.data_dir) / "videos" / "one-by-one-person-detection.mp4").string();
  std::vector<cv::Mat> frames = VideoFrames(video);
  if (frames.empty()) {
    result.notes.push_back(fmt::format("'{}' not readable: synthetic frames used", video));
  }
  result.frame_source = frames.empty() ? "synthetic" : video;
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

// Yolo-Fastest's files in the data folder, or none (with a note) when incomplete.
struct YoloFiles {
  std::string cfg, weights, names;
};

std::optional<YoloFiles> FindYolo(const StagesBenchOptions& o, Measured& result) {
  const fs::path dir = fs::absolute(o.data_dir) / "models" / "yolo-fastest-1.1";
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
  DNS_RETURN_IF_ERROR(WriteFile((root / "spec" / "config.json").string(),
                                R"({"backend": "opencv_dnn", "kind": "classifier",
                                    "files": {"model": "model.onnx"}})"));
  DNS_ASSIGN_OR_RETURN(std::string onnx,
                       train::ExportOnnx(train::RandomTrainedModel({2, 32, 128}, 50, 50, 7)));
  DNS_RETURN_IF_ERROR(WriteFile((root / "spec" / "1" / "model.onnx").string(), onnx));
  DNS_RETURN_IF_ERROR(WriteFile((root / "hog" / "config.json").string(), R"({"backend": "hog"})"));
  std::error_code ec;  // a missing folder fails the model's load, which says why
  fs::create_directories(root / "hog" / "1", ec);
  if (yolo) {
    const Json config = {
        {"backend", "opencv_dnn"},
        {"files", {{"model", yolo->cfg}, {"weights", yolo->weights}, {"names", yolo->names}}}};
    DNS_RETURN_IF_ERROR(WriteFile((root / "yolo" / "config.json").string(), config.dump(2)));
    fs::create_directories(root / "yolo" / "1", ec);
  }
  return root.string();
}

// Runs `call(i)` kWarmup times, then up to `repeats` times (or for
// max_time_per_measurement) one after the other, and adds the row.
absl::Status Measure(const StagesBenchOptions& o, const ScenarioEnv& env, const Subject& subject,
                     const std::function<absl::Status(int)>& call, Measured& result) {
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
  const double p50 = h.Percentile(50) / 1000;
  result.table.AddRow({subject.stage, subject.model, subject.where, h.count(), p50,
                       h.Percentile(99) / 1000, h.mean_us() / 1000, 1000 * subject.seed_seconds,
                       p50 > 0 ? 1000 * subject.seed_seconds / p50 : 0.0});
  env.Progress(fmt::format("stages {} {} {}: p50 {:.3f} ms over {}", subject.stage, subject.model,
                           subject.where, p50, h.count()));
  return absl::OkStatus();
}

absl::Status MeasureDifference(const StagesBenchOptions& o, const ScenarioEnv& env,
                               const std::vector<cv::Mat>& frames, Measured& result) {
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
  const Subject mse{"difference", fmt::format("MSE {}x{}", d.width, d.height), "local",
                    kSeedDifferenceSeconds};
  DNS_RETURN_IF_ERROR(Measure(o, env, mse, [&](int i) {
    diff->Process(index++, small[i % 2]);
    return absl::OkStatus();
  }, result));
  cv::Mat resized;
  const Subject resize_mse{"difference",
                           fmt::format("resize {}x{} + MSE", frames[0].cols, frames[0].rows),
                           "local", kSeedDifferenceSeconds};
  return Measure(o, env, resize_mse, [&](int i) {
    video::CropAndResize(frames[i % 2], std::nullopt, d.width, d.height,
                         video::Interpolation::kArea, &resized);
    diff->Process(index++, resized);
    return absl::OkStatus();
  }, result);
}

// `subject.model` (a repository name) in process and through `server`.
absl::Status MeasureModel(const StagesBenchOptions& o, const ScenarioEnv& env,
                          const models::ModelRepository& repo,
                          const emulation::ModelServer& server, Subject subject,
                          const std::vector<std::vector<Tensor>>& inputs, Measured& result) {
  DNS_ASSIGN_OR_RETURN(std::unique_ptr<models::Model> local, repo.Load(subject.model));
  subject.where = "local";
  DNS_RETURN_IF_ERROR(Measure(o, env, subject, [&](int i) {
    return local->Infer(inputs[i % inputs.size()]).status();
  }, result));
  client::RemoteModelOptions remote_options;
  remote_options.model = subject.model;
  DNS_ASSIGN_OR_RETURN(std::unique_ptr<client::RemoteModel> remote,
                       client::ConnectRemoteStage({server.endpoint()}, remote_options));
  subject.where = "remote";
  return Measure(o, env, subject, [&](int i) {
    return remote->Infer({inputs[i % inputs.size()]}).status();
  }, result);
}

absl::Status MeasureNetwork(const StagesBenchOptions& o, const ScenarioEnv& env,
                            const emulation::ModelServer& server, Measured& result) {
  DNS_ASSIGN_OR_RETURN(std::unique_ptr<client::HttpClient> http, client::HttpClient::Create({}));
  return Measure(o, env, {"network", "GET /v2/health/ready", "loopback", kSeedNetworkSeconds},
                 [&](int) { return ReadyRoundTrip(*http, server.endpoint()); }, result);
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

PlotSpec StagesPlot(const Table& t) {
  PlotSpec plot{.name = "stages",
                .title = "Single-request latency p50 (ms, log scale)",
                .ylabel = "ms",
                .log_y = true,
                .style = "histogram"};
  PlotSeries ours{.title = "dnoscope p50"}, seed{.title = "seed"};
  for (size_t i = 0; i < t.rows.size(); ++i) {
    plot.categories.push_back(fmt::format("{} {} {}", std::get<std::string>(t.rows[i][0]),
                                          std::get<std::string>(t.rows[i][1]),
                                          std::get<std::string>(t.rows[i][2])));
    const double x = static_cast<double>(i);
    ours.points.emplace_back(x, std::max(t.Number(i, "p50").value_or(0), 1e-4));
    seed.points.emplace_back(x, std::max(t.Number(i, "seed").value_or(0), 1e-4));
  }
  plot.series = {ours, seed};
  return plot;
}

// Every model: the CNN on a 50x50 crop, the references on full frames.
absl::Status MeasureModels(const StagesBenchOptions& o, const ScenarioEnv& env,
                           const std::vector<cv::Mat>& frames, bool yolo, const std::string& root,
                           Measured& result) {
  DNS_ASSIGN_OR_RETURN(std::unique_ptr<models::ModelRepository> repo,
                       models::ModelRepository::Open(root));
  DNS_ASSIGN_OR_RETURN(auto server, emulation::ModelServer::Start(root));
  DNS_ASSIGN_OR_RETURN(std::unique_ptr<models::Model> cnn, repo->Load("spec"));
  const std::vector<std::vector<Tensor>> crops = CropInputs(frames, cnn->metadata());
  cnn.reset();
  DNS_RETURN_IF_ERROR(MeasureModel(o, env, *repo, *server,
                                   {"specialized", "spec", "", kSeedSpecializedSeconds}, crops, result));
  const std::vector<std::vector<Tensor>> images = ImageInputs(frames);
  DNS_RETURN_IF_ERROR(MeasureModel(o, env, *repo, *server,
                                   {"reference", "hog", "", kSeedReferenceSeconds}, images, result));
  if (yolo) {
    DNS_RETURN_IF_ERROR(MeasureModel(o, env, *repo, *server,
                                     {"reference", "yolo", "", kSeedReferenceSeconds}, images, result));
  }
  return MeasureNetwork(o, env, *server, result);
}

}  // namespace

absl::StatusOr<ScenarioResult> RunStagesBench(const StagesBenchOptions& o, const ScenarioEnv& env) {
  if (o.repeats < 1) return absl::InvalidArgumentError("repeats must be >= 1");
  Measured m;
  DNS_ASSIGN_OR_RETURN(std::vector<cv::Mat> frames, LoadFrames(o, m));
  DNS_RETURN_IF_ERROR(MeasureDifference(o, env, frames, m));
  const std::optional<YoloFiles> yolo = FindYolo(o, m);
  DNS_ASSIGN_OR_RETURN(std::string root, BuildRepository(env.scratch_dir, yolo));
  DNS_RETURN_IF_ERROR(MeasureModels(o, env, frames, yolo.has_value(), root, m));
  ScenarioResult r{.scenario = "stages", .title = "Single-request latency per stage"};
  r.setup = {fmt::format("frames: {} ({}x{}); one request at a time; remote = a model server in "
                         "this process on 127.0.0.1 (KServe binary, raw pixels)",
                         m.frame_source, m.width, m.height),
             "spec = NoScope CNN (2 conv x 32, dense 128, 50x50 input) with random weights; "
             "yolo = Yolo-Fastest 1.1 (320x320); seed = the seed's section 4.4.1"};
  r.tables = {m.table};
  r.plots = {StagesPlot(m.table)};
  r.notes = m.notes;
  return r;
}

}  // namespace dnoscope::bench
