#include "bench/throughput_bench.h"

#include <algorithm>
#include <filesystem>
#include <functional>
#include <iterator>
#include <set>

#include "absl/status/status.h"
#include "bench/cascade_run.h"
#include "cascade/labeler.h"
#include "client/remote_stage.h"
#include "common/file.h"
#include "common/status_macros.h"
#include "emulation/model_server.h"
#include "fmt/format.h"
#include "models/local_stage.h"
#include "models/model.h"
#include "nlohmann/json.hpp"
#include "train/dataset.h"
#include "train/onnx_export.h"
#include "train/repository_writer.h"
#include "train/trainer.h"
#include "video/frame_source.h"

namespace dnoscope::bench {
namespace {

namespace fs = std::filesystem;

constexpr char kSpecName[] = "spec";
constexpr char kYoloName[] = "yolo";
constexpr size_t kClassifyBatch = 64;

absl::Status CheckOptions(const ThroughputBenchOptions& o) {
  if (o.frames < 4 || o.start < 0) return absl::InvalidArgumentError("need start >= 0, frames >= 4");
  if (!(o.train_share > 0 && o.train_share < 1)) {
    return absl::InvalidArgumentError("train_share must be in (0, 1)");
  }
  if (o.epochs < 1) return absl::InvalidArgumentError("epochs must be >= 1");
  if (o.fn_target < 0 || o.fn_target >= 1 || o.fp_target < 0 || o.fp_target >= 1) {
    return absl::InvalidArgumentError("fn_target and fp_target must be in [0, 1)");
  }
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

// The trained specialized model and its thresholds.
struct Trained {
  train::CandidateResult model;
  double c_low = 0;
  double c_high = 1;
};

// Lowest c_low / highest c_high keeping the misses within the targets on
// the samples (c <= c_low decides negative, c >= c_high positive).
void FitThresholds(std::vector<float> positives, std::vector<float> negatives,
                   const ThroughputBenchOptions& o, Trained& t) {
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
  t.c_low = c_low;
  t.c_high = c_high;
}

// The trained classifier's confidences on the validation split of `data`
// (frames the training did not fit), then the thresholds.
absl::Status FitOnValidation(const std::string& repo, const train::Dataset& data,
                             const ThroughputBenchOptions& o, Trained& t) {
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
  FitThresholds(std::move(positives), std::move(negatives), o, t);
  return absl::OkStatus();
}

// The range's parts: training [start, split), test [split, end).
struct Ranges {
  int64_t start = 0, split = 0, end = 0;
};

// Step 2: trains the specialized model on the training part into
// <repo>/spec and fits its thresholds.
absl::StatusOr<Trained> TrainSpecialized(const DataFiles& files, const ReferencePass& reference,
                                         const std::string& repo, const Ranges& ranges,
                                         const ThroughputBenchOptions& o) {
  train::DatasetOptions dataset_options;
  dataset_options.filter.object_name = o.object;
  DNS_ASSIGN_OR_RETURN(auto source, Open(files.video, ranges.start, ranges.split));
  DNS_ASSIGN_OR_RETURN(train::Dataset data,
                       train::BuildDataset(*source, reference.detections, dataset_options));
  train::TrainOptions options;
  options.conv_layers = {2};
  options.filters = {16};
  options.dense_units = {32};
  options.max_epochs = o.epochs;
  options.patience = o.epochs;
  options.measure_cost = false;
  DNS_ASSIGN_OR_RETURN(train::TrainResult trained, train::TrainGrid(data, options));
  Trained t{.model = trained.candidates[trained.chosen]};
  DNS_ASSIGN_OR_RETURN(std::string onnx, train::ExportOnnx(trained.model));
  DNS_RETURN_IF_ERROR(
      train::WriteModelToRepository({repo, kSpecName, 64}, onnx, data.width, data.height, "{}")
          .status());
  DNS_RETURN_IF_ERROR(FitOnValidation(repo, data, o, t));
  return t;
}

// <repo>/yolo: Yolo-Fastest by absolute paths.
absl::Status WriteYoloConfig(const DataFiles& files, const std::string& repo) {
  const fs::path dir = fs::path(repo) / kYoloName;
  std::error_code ec;  // a missing folder fails the model's load, which says why
  fs::create_directories(dir / "1", ec);
  const nlohmann::ordered_json config = {
      {"backend", "opencv_dnn"}, {"files", {{"model", files.cfg}, {"weights", files.weights}}}};
  return WriteFile((dir / "config.json").string(), config.dump(2));
}

cascade::CascadeConfig MakeConfig(const std::string& repo, const ThroughputBenchOptions& o,
                                  const Trained& t) {
  cascade::CascadeConfig config;
  config.object = o.object;
  config.model_repository = repo;
  config.diff.threshold = o.diff_threshold;
  config.specialized.model = kSpecName;
  config.c_low = static_cast<float>(t.c_low);
  config.c_high = static_cast<float>(t.c_high);
  config.reference.model = kYoloName;
  return config;
}

// False positives and negatives of `rows` against `truth`.
struct Score {
  int64_t fp = 0, fn = 0, positives = 0, negatives = 0;
};

Score ScoreRows(const std::vector<labels::FrameResult>& rows, const std::set<int64_t>& truth) {
  Score s;
  for (const labels::FrameResult& row : rows) {
    const bool positive = truth.contains(row.frame);
    (positive ? s.positives : s.negatives) += 1;
    if (row.label && !positive) ++s.fp;
    if (!row.label && positive) ++s.fn;
  }
  return s;
}

// The cascade on the test part: both models in process, or both served by
// one server on 127.0.0.1.
absl::StatusOr<CascadeRunStats> RunTest(bool remote, const std::string& repo,
                                        const cascade::CascadeConfig& config,
                                        const DataFiles& files, const Ranges& ranges,
                                        std::vector<labels::FrameResult>* rows) {
  CascadeSetup setup{.config = config};
  std::unique_ptr<emulation::ModelServer> server;
  if (remote) {
    DNS_ASSIGN_OR_RETURN(server, emulation::ModelServer::Start(repo));
    client::RemoteModelOptions spec, ref;
    spec.model = kSpecName;
    ref.model = kYoloName;
    DNS_ASSIGN_OR_RETURN(setup.specialized, client::ConnectRemoteStage({server->endpoint()}, spec));
    DNS_ASSIGN_OR_RETURN(setup.reference, client::ConnectRemoteStage({server->endpoint()}, ref));
  } else {
    models::ModelSpec spec_spec = config.specialized, ref_spec = config.reference;
    spec_spec.repository = ref_spec.repository = repo;
    DNS_ASSIGN_OR_RETURN(auto spec, models::LoadModel(spec_spec));
    DNS_ASSIGN_OR_RETURN(auto ref, models::LoadModel(ref_spec));
    setup.specialized = models::MakeLocalStage(std::move(spec));
    setup.reference = models::MakeLocalStage(std::move(ref));
  }
  return RunCascade(setup, {.uri = files.video, .range = {ranges.split, ranges.end}}, rows);
}

int64_t CountIn(const std::set<int64_t>& frames, int64_t start, int64_t end) {
  return std::distance(frames.lower_bound(start), frames.lower_bound(end));
}

// The reference pass as a run: every frame decided by the reference.
CascadeRunStats ReferenceRun(const ReferencePass& pass) {
  CascadeRunStats run;
  run.frames = pass.frames;
  run.wall_seconds = pass.wall_seconds;
  run.frames_per_second = pass.wall_seconds > 0 ? pass.frames / pass.wall_seconds : 0;
  run.status_counts[static_cast<int>(labels::FrameStatus::kReference)] = pass.frames;
  return run;
}

Table RunsTable(const std::vector<KeyedRun>& runs, const std::vector<Score>& scores) {
  Table t = RunTable("throughput", "one row per way of labeling", {"run"}, runs, "",
                     {"frames", "wall", "rate", "diff_reused", "specialized", "reference"});
  std::vector<Cell> fp, fn, fp_rate, fn_rate, speedup;
  for (size_t i = 0; i < runs.size(); ++i) {
    const Score& s = scores[i];
    fp.push_back(s.fp);
    fn.push_back(s.fn);
    fp_rate.push_back(s.negatives > 0 ? 1.0 * s.fp / s.negatives : 0.0);
    fn_rate.push_back(s.positives > 0 ? 1.0 * s.fn / s.positives : 0.0);
    const double base = runs[0].run.frames_per_second;
    speedup.push_back(base > 0 ? runs[i].run.frames_per_second / base : 0.0);
  }
  t.AddColumn({"false_positives"}, std::move(fp));
  t.AddColumn({"false_negatives"}, std::move(fn));
  t.AddColumn({"fp_rate", "", 3}, std::move(fp_rate));
  t.AddColumn({"fn_rate", "", 3}, std::move(fn_rate));
  t.AddColumn({"speedup"}, std::move(speedup));
  t.notes.push_back("reference: Yolo-Fastest on every frame of the whole range (decode "
                    "included), scored against itself; the cascades run on the test part only");
  return t;
}

Table ModelTable(const Trained& t) {
  Table table = FigureTable("throughput_model", "the specialized model trained in this run");
  AddFigure(table, "epochs", t.model.epochs, "");
  AddFigure(table, "validation_accuracy", t.model.validation_accuracy, "");
  AddFigure(table, "train_time", t.model.train_seconds, "s");
  AddFigure(table, "c_low", t.c_low, "");
  AddFigure(table, "c_high", t.c_high, "");
  table.notes.push_back("architecture " + t.model.architecture.Name());
  return table;
}

std::vector<std::string> Setup(const ThroughputBenchOptions& o, const DataFiles& files,
                               const Ranges& r, const ReferencePass& pass) {
  return {fmt::format("{}, object '{}': train frames [{}, {}) ({} positive), test frames [{}, {}) "
                      "({} positive)",
                      fs::path(files.video).filename().string(), o.object, r.start, r.split,
                      CountIn(pass.positive_frames, r.start, r.split), r.split, r.end,
                      CountIn(pass.positive_frames, r.split, r.end)),
          fmt::format("Yolo-Fastest 1.1 is the reference and the truth; a specialized CNN trained "
                      "in this run on the training part; difference threshold {}; local = every "
                      "model in process, remote = both served by one server on 127.0.0.1",
                      o.diff_threshold)};
}

}  // namespace

absl::StatusOr<ScenarioResult> RunThroughputBench(const ThroughputBenchOptions& o,
                                                  const ScenarioEnv& env) {
  DNS_RETURN_IF_ERROR(CheckOptions(o));
  DNS_ASSIGN_OR_RETURN(DataFiles files, FindData(o));
  env.Progress("throughput: Yolo-Fastest on every frame");
  DNS_ASSIGN_OR_RETURN(ReferencePass pass,
                       RunReference(files, o.object, o.start, o.start + o.frames));
  if (pass.frames < 4) return absl::InvalidArgumentError("the clip has fewer than 4 frames");
  const Ranges ranges{o.start,
                      o.start + std::max<int64_t>(1, static_cast<int64_t>(o.train_share * pass.frames)),
                      o.start + pass.frames};
  const std::string repo = env.scratch_dir + "/repo";
  env.Progress(fmt::format("throughput: training on frames [{}, {})", ranges.start, ranges.split));
  DNS_ASSIGN_OR_RETURN(Trained trained, TrainSpecialized(files, pass, repo, ranges, o));
  DNS_RETURN_IF_ERROR(WriteYoloConfig(files, repo));
  std::vector<KeyedRun> runs = {{"reference", ReferenceRun(pass)}};
  std::vector<Score> scores = {{.positives = static_cast<int64_t>(pass.positive_frames.size()),
                                .negatives = pass.frames -
                                             static_cast<int64_t>(pass.positive_frames.size())}};
  ScenarioResult r{.scenario = "throughput",
                   .title = "Real models on a real clip: local vs remote"};
  for (bool remote : {false, true}) {
    env.Progress(remote ? "throughput: remote cascade" : "throughput: local cascade");
    std::vector<labels::FrameResult> rows;
    DNS_ASSIGN_OR_RETURN(CascadeRunStats run, RunTest(remote, repo, MakeConfig(repo, o, trained),
                                                      files, ranges, &rows));
    runs.push_back({remote ? "remote" : "local", std::move(run)});
    scores.push_back(ScoreRows(rows, pass.positive_frames));
  }
  AddChecks({"run"}, runs, &r.checks);
  r.setup = Setup(o, files, ranges, pass);
  r.tables = {RunsTable(runs, scores), ModelTable(trained)};
  return r;
}

}  // namespace dnoscope::bench
