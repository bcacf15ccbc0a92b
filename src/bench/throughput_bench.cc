#include "bench/throughput_bench.h"

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <set>

#include "absl/status/status.h"
#include "bench/report_sections.h"
#include "cascade/labeler.h"
#include "client/remote_model.h"
#include "common/status_macros.h"
#include "bench/cascade_run.h"
#include "models/local_stage.h"
#include "client/remote_stage.h"
#include "fmt/format.h"
#include "models/model.h"
#include "models/model_repository.h"
#include "nlohmann/json.hpp"
#include "serving/http/server.h"
#include "serving/metrics.h"
#include "serving/inference_service.h"
#include "serving/model_manager.h"
#include "serving/rest/rest_handler.h"
#include "train/dataset.h"
#include "train/onnx_export.h"
#include "train/repository_writer.h"
#include "train/trainer.h"
#include "video/frame_source.h"

namespace dnoscope::bench {
namespace {

namespace fs = std::filesystem;
using Json = nlohmann::ordered_json;
using SteadyClock = std::chrono::steady_clock;

constexpr char kSpecName[] = "spec";
constexpr char kYoloName[] = "yolo";
constexpr size_t kClassifyBatch = 64;

void Report(const BenchProgress& progress, const std::string& line) {
  if (progress) progress(line);
}

double SecondsSince(SteadyClock::time_point start) {
  return std::chrono::duration<double>(SteadyClock::now() - start).count();
}

absl::Status CheckOptions(const ThroughputBenchOptions& o) {
  if (o.frames < 4 || o.start < 0)
    return absl::InvalidArgumentError("need start >= 0, frames >= 4");
  if (!(o.train_share > 0 && o.train_share < 1)) {
    return absl::InvalidArgumentError("train_share must be in (0, 1)");
  }
  if (o.epochs < 1) return absl::InvalidArgumentError("epochs must be >= 1");
  if (o.fn_target < 0 || o.fn_target >= 1 || o.fp_target < 0 || o.fp_target >= 1) {
    return absl::InvalidArgumentError("fn_target and fp_target must be in [0, 1)");
  }
  if (o.scratch_dir.empty()) return absl::InvalidArgumentError("scratch_dir is required");
  return absl::OkStatus();
}

struct DataFiles {
  std::string video, cfg, weights;
};

absl::StatusOr<DataFiles> FindData(const ThroughputBenchOptions& o) {
  const fs::path data = fs::absolute(o.data_dir);
  const fs::path yolo = data / "models" / "yolo-fastest-1.1";
  DataFiles f{(data / "videos" / o.clip).string(), (yolo / "yolo-fastest-1.1.cfg").string(),
              (yolo / "yolo-fastest-1.1.weights").string()};
  for (const std::string& path : {f.video, f.cfg, f.weights}) {
    if (!fs::exists(path)) return absl::NotFoundError(fmt::format("'{}' not found", path));
  }
  return f;
}

absl::StatusOr<std::unique_ptr<video::FrameSource>> Open(const std::string& video, int64_t start,
                                                         int64_t end) {
  return video::OpenFrameSource({.uri = video, .range = {start, end}});
}

// Step 1: Yolo-Fastest on every frame of [start, end).
struct ReferencePass {
  std::vector<labels::Detection> detections;
  std::set<int64_t> positive_frames;
  int64_t frames = 0;
  double wall_seconds = 0;
};

absl::StatusOr<ReferencePass> RunReference(const DataFiles& files, const std::string& object,
                                           int64_t start, int64_t end) {
  DNS_ASSIGN_OR_RETURN(std::unique_ptr<models::Model> yolo,
                       models::LoadModel({.model = files.cfg, .weights = files.weights}));
  DNS_ASSIGN_OR_RETURN(auto source, Open(files.video, start, end));
  ReferencePass pass;
  labels::LabelFilter filter;
  filter.object_name = object;
  DNS_ASSIGN_OR_RETURN(cascade::LabelRunSummary summary,
                       cascade::LabelVideo(*source, *yolo, filter, Clock::Real(),
                                           [&](const std::vector<labels::Detection>& kept) {
                                             for (const labels::Detection& d : kept) {
                                               pass.positive_frames.insert(d.frame);
                                               pass.detections.push_back(d);
                                             }
                                             return absl::OkStatus();
                                           }));
  pass.frames = summary.frames;
  pass.wall_seconds = summary.wall_seconds;
  return pass;
}

// Lowest c_low / highest c_high keeping the misses within the targets on
// the samples (c <= c_low decides negative, c >= c_high positive).
void FitThresholds(std::vector<float> positives, std::vector<float> negatives,
                   const ThroughputBenchOptions& o, ThroughputBenchResult& result) {
  std::sort(positives.begin(), positives.end());
  std::sort(negatives.begin(), negatives.end(), std::greater<>());
  double c_low = 0, c_high = 1;
  if (!positives.empty()) {
    const size_t k = static_cast<size_t>(o.fn_target * static_cast<double>(positives.size()));
    c_low = std::max(0.0, static_cast<double>(positives[k]) - 1e-6);
  }
  if (!negatives.empty()) {
    const size_t k = static_cast<size_t>(o.fp_target * static_cast<double>(negatives.size()));
    c_high = std::min(1.0, static_cast<double>(negatives[k]) + 1e-6);
  }
  if (c_low > c_high) c_low = c_high = (c_low + c_high) / 2;  // the classes separate
  result.c_low = c_low;
  result.c_high = c_high;
}

// The trained classifier's confidences on the validation split of `data`
// (frames the training did not fit), then the thresholds.
absl::Status FitOnValidation(const std::string& repo, const train::Dataset& data,
                             const ThroughputBenchOptions& o, ThroughputBenchResult& result) {
  DNS_ASSIGN_OR_RETURN(
      std::unique_ptr<models::Model> spec,
      models::LoadModel({.model = kSpecName, .repository = repo, .kind = "classifier"}));
  std::vector<float> positives, negatives;
  const std::vector<int64_t>& samples = data.validation;
  for (size_t i = 0; i < samples.size(); i += kClassifyBatch) {
    std::vector<cv::Mat> batch;
    for (size_t j = i; j < std::min(samples.size(), i + kClassifyBatch); ++j) {
      batch.push_back(data.ImageMat(samples[j]));
    }
    DNS_ASSIGN_OR_RETURN(std::vector<float> c, models::Classify(*spec, batch));
    for (size_t j = 0; j < c.size(); ++j) {
      (data.labels[samples[i + j]] != 0 ? positives : negatives).push_back(c[j]);
    }
  }
  FitThresholds(std::move(positives), std::move(negatives), o, result);
  return absl::OkStatus();
}

// Step 2: trains the specialized model on [start, split) into <repo>/spec
// and fits its thresholds.
absl::Status TrainSpecialized(const DataFiles& files, const ReferencePass& reference,
                              const std::string& repo, const ThroughputBenchOptions& o,
                              ThroughputBenchResult& result) {
  train::DatasetOptions dataset_options;
  dataset_options.filter.object_name = o.object;
  DNS_ASSIGN_OR_RETURN(auto source, Open(files.video, result.start, result.split));
  DNS_ASSIGN_OR_RETURN(train::Dataset data,
                       train::BuildDataset(*source, reference.detections, dataset_options));
  train::TrainOptions t;
  t.conv_layers = {2};
  t.filters = {16};
  t.dense_units = {32};
  t.max_epochs = o.epochs;
  t.patience = o.epochs;
  t.measure_cost = false;
  DNS_ASSIGN_OR_RETURN(train::TrainResult trained, train::TrainGrid(data, t));
  const train::CandidateResult& chosen = trained.candidates[trained.chosen];
  result.architecture = chosen.architecture.Name();
  result.epochs = chosen.epochs;
  result.validation_accuracy = chosen.validation_accuracy;
  result.train_seconds = chosen.train_seconds;
  DNS_ASSIGN_OR_RETURN(std::string onnx, train::ExportOnnx(trained.model));
  DNS_RETURN_IF_ERROR(
      train::WriteModelToRepository({repo, kSpecName, 64}, onnx, data.width, data.height, "{}")
          .status());
  return FitOnValidation(repo, data, o, result);
}

// <repo>/yolo: Yolo-Fastest by absolute paths.
absl::Status WriteYoloConfig(const DataFiles& files, const std::string& repo) {
  const fs::path dir = fs::path(repo) / kYoloName;
  std::error_code ec;
  fs::create_directories(dir / "1", ec);
  const Json config = {{"backend", "opencv_dnn"},
                       {"files", {{"model", files.cfg}, {"weights", files.weights}}}};
  std::ofstream out(dir / "config.json", std::ios::trunc);
  out << config.dump(2);
  if (!out) return absl::InternalError(fmt::format("cannot write '{}'", dir.string()));
  return absl::OkStatus();
}

cascade::CascadeConfig MakeConfig(const std::string& repo, const ThroughputBenchResult& r) {
  cascade::CascadeConfig config;
  config.object = r.object;
  config.model_repository = repo;
  config.diff.threshold = r.diff_threshold;
  config.specialized.model = kSpecName;
  config.c_low = static_cast<float>(r.c_low);
  config.c_high = static_cast<float>(r.c_high);
  config.reference.model = kYoloName;
  return config;
}

// Fills the accuracy fields of `run` from its rows.
void Score(const std::vector<labels::FrameResult>& rows, const std::set<int64_t>& truth,
           ThroughputRun& run) {
  int64_t positives = 0;
  for (const labels::FrameResult& row : rows) {
    const bool positive = truth.contains(row.frame);
    positives += positive ? 1 : 0;
    if (row.label && !positive) ++run.false_positives;
    if (!row.label && positive) ++run.false_negatives;
  }
  const int64_t negatives = static_cast<int64_t>(rows.size()) - positives;
  run.fp_rate = negatives > 0 ? static_cast<double>(run.false_positives) / negatives : 0;
  run.fn_rate = positives > 0 ? static_cast<double>(run.false_negatives) / positives : 0;
}

template <typename AnyCascade>
absl::StatusOr<ThroughputRun> RunCascade(const std::string& mode, AnyCascade& cascade,
                                         const std::string& video, const ThroughputBenchResult& r,
                                         const std::set<int64_t>& truth) {
  DNS_ASSIGN_OR_RETURN(auto source, Open(video, r.split, r.end));
  std::vector<labels::FrameResult> rows;
  const auto start = SteadyClock::now();
  DNS_ASSIGN_OR_RETURN(cascade::CascadeSummary summary,
                       cascade.Run(*source, [&](const labels::FrameResult& row) {
                         rows.push_back(row);
                         return absl::OkStatus();
                       }));
  ThroughputRun run;
  run.mode = mode;
  run.wall_seconds = SecondsSince(start);
  run.frames = summary.frames;
  run.frames_per_second = run.wall_seconds > 0 ? run.frames / run.wall_seconds : 0;
  run.status_counts = summary.status_counts;
  Score(rows, truth, run);
  return run;
}

absl::StatusOr<ThroughputRun> RunLocal(const std::string& repo, const DataFiles& files,
                                       const ThroughputBenchResult& r,
                                       const std::set<int64_t>& truth) {
  const cascade::CascadeConfig config = MakeConfig(repo, r);
  models::ModelSpec spec = config.specialized;
  spec.repository = repo;
  models::ModelSpec ref = config.reference;
  ref.repository = repo;
  DNS_ASSIGN_OR_RETURN(std::unique_ptr<models::Model> spec_model, models::LoadModel(spec));
  DNS_ASSIGN_OR_RETURN(std::unique_ptr<models::Model> ref_model, models::LoadModel(ref));
  DNS_ASSIGN_OR_RETURN(OwnedCascade local,
                       MakeOwnedCascade(config, {}, models::MakeLocalStage(std::move(spec_model)),
                                        models::MakeLocalStage(std::move(ref_model))));
  return RunCascade("local", *local, files.video, r, truth);
}

// One server for every model of a repository, on 127.0.0.1 port 0.
struct RepoServer {
  serving::MetricsRegistry metrics;
  std::unique_ptr<serving::ModelManager> manager;
  std::unique_ptr<serving::InferenceService> service;
  std::unique_ptr<serving::rest::RestHandler> handler;
  std::unique_ptr<serving::http::HttpServer> http;

  ~RepoServer() {
    if (http) http->Shutdown();
    if (manager) manager->Shutdown();
  }
};

absl::StatusOr<std::unique_ptr<RepoServer>> StartServer(const std::string& repo) {
  auto s = std::make_unique<RepoServer>();
  DNS_ASSIGN_OR_RETURN(s->manager, serving::ModelManager::Create(repo, {}, &s->metrics));
  DNS_ASSIGN_OR_RETURN(s->service, serving::InferenceService::Create({}, s->manager.get()));
  s->handler = std::make_unique<serving::rest::RestHandler>(s->service.get());
  serving::http::HttpServerOptions options;
  options.port = 0;
  serving::rest::RestHandler* handler = s->handler.get();
  DNS_ASSIGN_OR_RETURN(
      s->http, serving::http::HttpServer::Start(
                   options, [handler](serving::http::HttpRequest q, serving::http::Responder a) {
                     handler->Handle(std::move(q), std::move(a));
                   }));
  return s;
}

absl::StatusOr<ThroughputRun> RunRemote(const std::string& repo, const DataFiles& files,
                                        const ThroughputBenchResult& r,
                                        const std::set<int64_t>& truth) {
  DNS_ASSIGN_OR_RETURN(std::unique_ptr<RepoServer> server, StartServer(repo));
  const std::vector<client::Endpoint> endpoints = {{"127.0.0.1", server->http->port()}};
  client::RemoteModelOptions spec_options;
  spec_options.model = kSpecName;
  client::RemoteModelOptions ref_options;
  ref_options.model = kYoloName;
  DNS_ASSIGN_OR_RETURN(auto spec_stage, client::ConnectRemoteStage(endpoints, spec_options));
  DNS_ASSIGN_OR_RETURN(auto ref_stage, client::ConnectRemoteStage(endpoints, ref_options));
  DNS_ASSIGN_OR_RETURN(OwnedCascade remote, MakeOwnedCascade(MakeConfig(repo, r), {},
                                                             std::move(spec_stage),
                                                             std::move(ref_stage)));
  return RunCascade("remote", *remote, files.video, r, truth);
}

int64_t CountIn(const std::set<int64_t>& frames, int64_t start, int64_t end) {
  return std::distance(frames.lower_bound(start), frames.lower_bound(end));
}

}  // namespace

absl::StatusOr<ThroughputBenchResult> RunThroughputBench(const ThroughputBenchOptions& o) {
  const auto start = SteadyClock::now();
  DNS_RETURN_IF_ERROR(CheckOptions(o));
  DNS_ASSIGN_OR_RETURN(DataFiles files, FindData(o));
  ThroughputBenchResult result;
  result.video = files.video;
  result.object = o.object;
  result.diff_threshold = o.diff_threshold;
  result.start = o.start;
  Report(o.progress, "throughput: Yolo-Fastest on every frame");
  DNS_ASSIGN_OR_RETURN(ReferencePass reference,
                       RunReference(files, o.object, o.start, o.start + o.frames));
  if (reference.frames < 4) return absl::InvalidArgumentError("the clip has fewer than 4 frames");
  result.end = o.start + reference.frames;
  result.split =
      o.start + std::max<int64_t>(1, static_cast<int64_t>(o.train_share * reference.frames));
  result.train_positives = CountIn(reference.positive_frames, result.start, result.split);
  result.test_positives = CountIn(reference.positive_frames, result.split, result.end);
  {
    DNS_ASSIGN_OR_RETURN(auto probe, Open(files.video, o.start, o.start + 1));
    result.width = probe->info().width;
    result.height = probe->info().height;
  }
  ThroughputRun ref_run;
  ref_run.mode = "reference";
  ref_run.frames = reference.frames;
  ref_run.wall_seconds = reference.wall_seconds;
  ref_run.frames_per_second =
      reference.wall_seconds > 0 ? reference.frames / reference.wall_seconds : 0;
  ref_run.status_counts[static_cast<int>(labels::FrameStatus::kReference)] = reference.frames;
  ref_run.speedup = 1;
  result.runs.push_back(ref_run);

  const std::string repo = (fs::path(o.scratch_dir) / "repo").string();
  Report(o.progress,
         fmt::format("throughput: training on frames [{}, {})", result.start, result.split));
  DNS_RETURN_IF_ERROR(TrainSpecialized(files, reference, repo, o, result));
  DNS_RETURN_IF_ERROR(WriteYoloConfig(files, repo));
  Report(o.progress, "throughput: local cascade");
  DNS_ASSIGN_OR_RETURN(ThroughputRun local,
                       RunLocal(repo, files, result, reference.positive_frames));
  result.runs.push_back(local);
  Report(o.progress, "throughput: remote cascade");
  DNS_ASSIGN_OR_RETURN(ThroughputRun remote,
                       RunRemote(repo, files, result, reference.positive_frames));
  result.runs.push_back(remote);
  for (ThroughputRun& run : result.runs) {
    if (ref_run.frames_per_second > 0)
      run.speedup = run.frames_per_second / ref_run.frames_per_second;
  }
  result.notes.push_back(
      "reference row: Yolo-Fastest on every frame of the whole range (decode included); the "
      "cascades run on the test part only");
  result.total_seconds = SecondsSince(start);
  return result;
}

namespace {

double Share(const ThroughputRun& run, labels::FrameStatus status) {
  return run.frames > 0
             ? static_cast<double>(run.status_counts[static_cast<int>(status)]) / run.frames
             : 0;
}

}  // namespace

std::string FormatThroughputBench(const ThroughputBenchResult& r) {
  std::string out = fmt::format(
      "{} ({}x{}), object '{}': train frames [{}, {}) ({} positive), test frames [{}, {}) ({} "
      "positive)\nspecialized {} ({} epochs, validation accuracy {:.3f}, {:.1f} s), c_low {:.4f} "
      "c_high {:.4f}; difference threshold {}\n\n",
      fs::path(r.video).filename().string(), r.width, r.height, r.object, r.start, r.split,
      r.train_positives, r.split, r.end, r.test_positives, r.architecture, r.epochs,
      r.validation_accuracy, r.train_seconds, r.c_low, r.c_high, r.diff_threshold);
  out += fmt::format("{:<10} {:>6} {:>8} {:>8} {:>6} {:>6} {:>6} {:>5} {:>5} {:>7} {:>7} {:>8}\n",
                     "run", "frames", "wall s", "frames/s", "diff", "spec", "ref", "FP", "FN",
                     "FP rate", "FN rate", "speedup");
  for (const ThroughputRun& run : r.runs) {
    out += fmt::format(
        "{:<10} {:>6} {:>8.2f} {:>8.2f} {:>5.1f}% {:>5.1f}% {:>5.1f}% {:>5} {:>5} {:>7.3f} "
        "{:>7.3f} {:>7.2f}x\n",
        run.mode, run.frames, run.wall_seconds, run.frames_per_second,
        100 * Share(run, labels::FrameStatus::kDiffReused),
        100 * Share(run, labels::FrameStatus::kSpecialized),
        100 * Share(run, labels::FrameStatus::kReference), run.false_positives, run.false_negatives,
        run.fp_rate, run.fn_rate, run.speedup);
  }
  for (const std::string& note : r.notes) out += "note: " + note + "\n";
  out += fmt::format("total {:.1f} s\n", r.total_seconds);
  return out;
}

std::string ThroughputBenchCsv(const ThroughputBenchResult& r) {
  std::string out =
      "run,frames,wall_seconds,frames_per_second,diff_share,specialized_share,reference_share,"
      "false_positives,false_negatives,fp_rate,fn_rate,speedup\n";
  for (const ThroughputRun& run : r.runs) {
    out += fmt::format("{},{},{:.4f},{:.4f},{:.4f},{:.4f},{:.4f},{},{},{:.4f},{:.4f},{:.4f}\n",
                       run.mode, run.frames, run.wall_seconds, run.frames_per_second,
                       Share(run, labels::FrameStatus::kDiffReused),
                       Share(run, labels::FrameStatus::kSpecialized),
                       Share(run, labels::FrameStatus::kReference), run.false_positives,
                       run.false_negatives, run.fp_rate, run.fn_rate, run.speedup);
  }
  return out;
}

std::string ThroughputBenchJson(const ThroughputBenchResult& r) {
  Json runs = Json::array();
  for (const ThroughputRun& run : r.runs) {
    Json statuses = Json::object();
    for (int s = 0; s < labels::kNumFrameStatuses; ++s) {
      statuses[std::string(labels::FrameStatusName(static_cast<labels::FrameStatus>(s)))] =
          run.status_counts[s];
    }
    runs.push_back({{"run", run.mode},
                    {"frames", run.frames},
                    {"wall_seconds", run.wall_seconds},
                    {"frames_per_second", run.frames_per_second},
                    {"status_counts", statuses},
                    {"false_positives", run.false_positives},
                    {"false_negatives", run.false_negatives},
                    {"fp_rate", run.fp_rate},
                    {"fn_rate", run.fn_rate},
                    {"speedup", run.speedup}});
  }
  const Json j = {{"video", r.video},
                  {"object", r.object},
                  {"width", r.width},
                  {"height", r.height},
                  {"train_range", {r.start, r.split}},
                  {"test_range", {r.split, r.end}},
                  {"train_positives", r.train_positives},
                  {"test_positives", r.test_positives},
                  {"architecture", r.architecture},
                  {"epochs", r.epochs},
                  {"validation_accuracy", r.validation_accuracy},
                  {"train_seconds", r.train_seconds},
                  {"c_low", r.c_low},
                  {"c_high", r.c_high},
                  {"diff_threshold", r.diff_threshold},
                  {"runs", runs},
                  {"notes", r.notes},
                  {"total_seconds", r.total_seconds}};
  return j.dump(2) + "\n";
}

void AddThroughputSection(const ThroughputBenchResult& r, const std::string&,
                          ReportBuilder* report) {
  report->AddSection(
      "Real models on a real clip: local vs remote (throughput)",
      fmt::format("Yolo-Fastest 1.1 is the reference and the truth; a specialized CNN trained "
                  "in this run on the first part of the range; both cascades run on the rest. "
                  "Speedup is over Yolo-Fastest on every frame.\n\n{}",
                  Fenced(FormatThroughputBench(r))));
}

}  // namespace dnoscope::bench
