// AsyncCascade against the local cascade: same rows for the same models and
// config, whatever order the stages complete in; errors stop at the first
// unlabeled frame; the window bounds how far decoding runs ahead.
#include "distributed/async_cascade.h"

#include <atomic>
#include <cmath>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <random>
#include <thread>

#include "cascade/cascade.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "testing/fakes.h"
#include "video/synthetic.h"

namespace dnoscope::distributed {
namespace {

using cascade::CascadeConfig;
using labels::FrameResult;
using ::testing::HasSubstr;
using testing::FakeDetector;
using testing::FakeFrameSource;

// Confidence = mean intensity of the crop / 255: deterministic per image.
class MeanClassifier final : public models::Model {
 public:
  MeanClassifier() {
    metadata_.name = "mean";
    metadata_.backend = "fake";
    metadata_.kind = models::ModelKind::kClassifier;
    metadata_.inputs = {{"images", DataType::kUint8, {-1, 50, 50, 3}}};
    metadata_.outputs = {{"confidence", DataType::kFp32, {-1, 1}}};
    metadata_.max_batch_size = 16;
  }
  const models::ModelMetadata& metadata() const override { return metadata_; }
  absl::StatusOr<std::vector<Tensor>> Infer(const std::vector<Tensor>& inputs) override {
    const Tensor& in = inputs.at(0);
    const int64_t n = in.shape.at(0);
    const int64_t per = in.NumElements() / n;
    std::vector<float> out;
    for (int64_t i = 0; i < n; ++i) {
      double sum = 0;
      for (int64_t k = 0; k < per; ++k) sum += in.data[i * per + k];
      out.push_back(static_cast<float>(sum / per / 255.0));
    }
    return std::vector<Tensor>{Tensor::Fp32("confidence", {n, 1}, out)};
  }

 private:
  models::ModelMetadata metadata_;
};

// A stage completing each request after a random delay on one of several
// threads, so completions arrive out of order.
class ShuffledStage final : public ModelStage {
 public:
  ShuffledStage(std::unique_ptr<models::Model> model, int threads, uint64_t seed)
      : model_(std::move(model)), rng_(seed) {
    for (int i = 0; i < threads; ++i) workers_.emplace_back([this] { Loop(); });
  }
  ~ShuffledStage() override { Shutdown(); }
  const models::ModelMetadata& metadata() const override { return model_->metadata(); }
  std::string Describe() const override { return "shuffled"; }
  void InferAsync(std::vector<Tensor> inputs, Done done) override {
    std::lock_guard lock(mu_);
    // The model is not thread-safe: run it now, deliver later.
    absl::StatusOr<std::vector<Tensor>> result = model_->Infer(inputs);
    jobs_.push_back({std::move(result), std::move(done),
                     std::chrono::microseconds(std::uniform_int_distribution<int>(0, 3000)(rng_))});
    ++requests_;
    cv_.notify_one();
  }
  StageStats stats() const override {
    std::lock_guard lock(mu_);
    return {{{"shuffled", 0, requests_, 0, 0, false, 0}}, 0};
  }
  void Shutdown() override {
    {
      std::lock_guard lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    for (std::thread& t : workers_) {
      if (t.joinable()) t.join();
    }
  }
  int64_t requests() const {
    std::lock_guard lock(mu_);
    return requests_;
  }

 private:
  struct Job {
    absl::StatusOr<std::vector<Tensor>> result;
    Done done;
    std::chrono::microseconds delay;
  };
  void Loop() {
    while (true) {
      Job job;
      {
        std::unique_lock lock(mu_);
        cv_.wait(lock, [&] { return stop_ || !jobs_.empty(); });
        if (jobs_.empty()) return;
        job = std::move(jobs_.front());
        jobs_.pop_front();
      }
      std::this_thread::sleep_for(job.delay);
      job.done(std::move(job.result));
    }
  }
  std::unique_ptr<models::Model> model_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Job> jobs_;
  bool stop_ = false;
  int64_t requests_ = 0;
  std::mt19937 rng_;
  std::vector<std::thread> workers_;
};

struct Scene {
  std::vector<video::Frame> frames;
  std::map<int64_t, std::vector<models::BoxDetection>> boxes;
  int width = 0, height = 0;
};

// A synthetic street: objects enter, stop and leave; boxes from the truth.
Scene MakeScene(int64_t n, uint64_t seed) {
  video::SynthOptions o;
  o.width = 160;
  o.height = 120;
  o.frames = n;
  o.seed = seed;
  o.object_rate = 0.05;
  o.object_name = "person";
  auto synth = video::SyntheticScene::Create(o);
  EXPECT_TRUE(synth.ok()) << synth.status();
  Scene s{.width = o.width, .height = o.height};
  cv::Mat image;
  std::vector<labels::Detection> truth;
  for (int64_t i = 0; (*synth)->Next(&image, &truth); ++i) {
    video::Frame f;
    f.index = i;
    f.image = image.clone();
    s.frames.push_back(std::move(f));
    for (const labels::Detection& d : truth) {
      s.boxes[i].push_back({0, 0.9f, d.xmin, d.ymin, d.xmax, d.ymax});
    }
  }
  return s;
}

std::unique_ptr<FakeDetector> Detector(const Scene& s) {
  return std::make_unique<FakeDetector>(s.boxes, std::vector<std::string>{"person", "car"});
}

struct Rows {
  std::vector<FrameResult> rows;
  absl::Status status;
};

Rows RunLocal(const CascadeConfig& config, const Scene& scene, bool with_specialized) {
  auto cascade = cascade::Cascade::Create(
      config, {}, with_specialized ? std::make_unique<MeanClassifier>() : nullptr,
      Detector(scene), Clock::Real());
  EXPECT_TRUE(cascade.ok()) << cascade.status();
  FakeFrameSource source(scene.frames, scene.width, scene.height);
  Rows out;
  out.status = (*cascade)
                   ->Run(source,
                         [&](const FrameResult& r) {
                           out.rows.push_back(r);
                           return absl::OkStatus();
                         })
                   .status();
  return out;
}

Rows RunAsync(const CascadeConfig& config, const AsyncCascadeOptions& options,
              std::unique_ptr<ModelStage> specialized, std::unique_ptr<ModelStage> reference,
              video::FrameSource& source, DistributedReport* report = nullptr) {
  auto cascade =
      AsyncCascade::Create(config, options, std::move(specialized), std::move(reference));
  EXPECT_TRUE(cascade.ok()) << cascade.status();
  Rows out;
  if (!cascade.ok()) return out;
  out.status = (*cascade)
                   ->Run(source,
                         [&](const FrameResult& r) {
                           out.rows.push_back(r);
                           return absl::OkStatus();
                         })
                   .status();
  if (report) *report = (*cascade)->report();
  return out;
}

bool SameFloat(float a, float b) { return (std::isnan(a) && std::isnan(b)) || a == b; }

void ExpectSameRows(const std::vector<FrameResult>& want, const std::vector<FrameResult>& got) {
  ASSERT_EQ(want.size(), got.size());
  for (size_t i = 0; i < want.size(); ++i) {
    SCOPED_TRACE(::testing::Message() << "row " << i);
    EXPECT_EQ(want[i].frame, got[i].frame);
    EXPECT_EQ(want[i].label, got[i].label);
    EXPECT_EQ(want[i].status, got[i].status);
    EXPECT_TRUE(SameFloat(want[i].diff_score, got[i].diff_score));
    EXPECT_TRUE(SameFloat(want[i].specialized_confidence, got[i].specialized_confidence));
    EXPECT_TRUE(SameFloat(want[i].reference_confidence, got[i].reference_confidence));
  }
}

CascadeConfig SceneConfig() {
  CascadeConfig c;
  c.object = "person";
  c.diff.threshold = 2.0;
  return c;
}

struct Variant {
  const char* name;
  CascadeConfig config;
  bool specialized;
  int max_batch;
};

std::vector<Variant> Variants() {
  std::vector<Variant> v;
  v.push_back({"anchor", SceneConfig(), false, 1});
  CascadeConfig delta = SceneConfig();
  delta.diff.reference = detect::ReferenceMode::kDelta;
  delta.diff.delta = 3;
  v.push_back({"delta3", delta, false, 1});
  CascadeConfig nodiff = SceneConfig();
  nodiff.diff_enabled = false;
  v.push_back({"nodiff", nodiff, false, 1});
  CascadeConfig skip = SceneConfig();
  skip.skip = 3;
  v.push_back({"skip3", skip, false, 1});
  CascadeConfig spec = SceneConfig();
  spec.specialized.model = "mean";
  spec.c_low = 0.35f;
  spec.c_high = 0.45f;
  v.push_back({"specialized", spec, true, 1});
  v.push_back({"specialized_batch4", spec, true, 4});
  return v;
}

// Applies --skip like the real frame source does: unsampled frames carry no image.
std::vector<video::Frame> Sampled(std::vector<video::Frame> frames, int skip) {
  for (video::Frame& f : frames) {
    if (f.index % skip != 0) {
      f.sampled = false;
      f.image.release();
    }
  }
  return frames;
}

TEST(AsyncCascadeTest, LocalStagesGiveTheLocalCascadesRowsForEveryVariant) {
  Scene scene = MakeScene(240, 7);
  for (const Variant& v : Variants()) {
    SCOPED_TRACE(v.name);
    Scene s = scene;
    s.frames = Sampled(s.frames, v.config.skip);
    Rows local = RunLocal(v.config, s, v.specialized);
    ASSERT_TRUE(local.status.ok()) << local.status;
    AsyncCascadeOptions options;
    options.specialized_batching.max_batch = v.max_batch;
    options.specialized_batching.max_delay = std::chrono::milliseconds(2);
    FakeFrameSource source(s.frames, s.width, s.height);
    Rows async = RunAsync(v.config, options,
                          v.specialized ? MakeLocalStage(std::make_unique<MeanClassifier>()) : nullptr,
                          MakeLocalStage(Detector(s)), source);
    ASSERT_TRUE(async.status.ok()) << async.status;
    ExpectSameRows(local.rows, async.rows);
  }
}

TEST(AsyncCascadeTest, OutOfOrderCompletionsStillGiveRowsInFrameOrder) {
  Scene scene = MakeScene(300, 11);
  Variant v = Variants()[5];  // specialized, batches of 4
  Rows local = RunLocal(v.config, scene, true);
  ASSERT_TRUE(local.status.ok()) << local.status;
  int references = 0;
  for (const FrameResult& r : local.rows) references += r.status == labels::FrameStatus::kReference;
  ASSERT_GT(references, 5) << "scene too easy to exercise the reference stage";
  AsyncCascadeOptions options;
  options.specialized_batching.max_batch = 4;
  options.max_window_frames = 40;
  options.max_model_frames = 12;
  FakeFrameSource source(scene.frames, scene.width, scene.height);
  DistributedReport report;
  Rows async = RunAsync(v.config, options,
                        std::make_unique<ShuffledStage>(std::make_unique<MeanClassifier>(), 3, 1),
                        std::make_unique<ShuffledStage>(Detector(scene), 4, 2), source, &report);
  ASSERT_TRUE(async.status.ok()) << async.status;
  ExpectSameRows(local.rows, async.rows);
  ASSERT_EQ(report.stages.size(), 2u);
  EXPECT_EQ(report.stages[1].stage, "reference");
  EXPECT_EQ(report.stages[1].requests, references);
  EXPECT_EQ(report.stages[1].latency.count, references);
  EXPECT_EQ(report.end_to_end_latency.count, static_cast<int64_t>(scene.frames.size()));
  // Batching: fewer specialized requests than frames sent to it.
  EXPECT_LT(report.stages[0].requests, report.stages[0].frames);
}

TEST(AsyncCascadeTest, FailedReferenceRequestStopsAtThatFrameWithEveryEarlierRow) {
  Scene scene = MakeScene(120, 3);
  CascadeConfig config = SceneConfig();
  config.diff_enabled = false;  // every frame goes to the reference
  auto detector = Detector(scene);
  detector->fail_on_frame = 57;
  FakeFrameSource source(scene.frames, scene.width, scene.height);
  AsyncCascadeOptions options;
  options.max_model_frames = 16;
  Rows out = RunAsync(config, options, nullptr,
                      std::make_unique<ShuffledStage>(std::move(detector), 4, 5), source);
  ASSERT_FALSE(out.status.ok());
  EXPECT_THAT(out.status.message(), HasSubstr("reference stage failed on frame 57"));
  EXPECT_THAT(out.status.message(), HasSubstr("injected failure"));
  EXPECT_THAT(out.status.message(), HasSubstr("57 rows written"));
  ASSERT_EQ(out.rows.size(), 57u);
  for (size_t i = 0; i < out.rows.size(); ++i) EXPECT_EQ(out.rows[i].frame, static_cast<int64_t>(i));
}

// A frame source that counts how many frames were pulled.
class CountingSource final : public video::FrameSource {
 public:
  explicit CountingSource(const Scene& s) : inner_(s.frames, s.width, s.height) {}
  const video::VideoInfo& info() const override { return inner_.info(); }
  absl::StatusOr<std::optional<video::Frame>> Next() override {
    ++pulled;
    return inner_.Next();
  }
  int64_t corrupt_frames() const override { return 0; }
  std::atomic<int64_t> pulled{0};

 private:
  FakeFrameSource inner_;
};

// Holds every request until released.
class GatedStage final : public ModelStage {
 public:
  explicit GatedStage(std::unique_ptr<models::Model> model) : model_(std::move(model)) {}
  ~GatedStage() override { Shutdown(); }
  const models::ModelMetadata& metadata() const override { return model_->metadata(); }
  std::string Describe() const override { return "gated"; }
  void InferAsync(std::vector<Tensor> inputs, Done done) override {
    std::lock_guard lock(mu_);
    auto result = model_->Infer(inputs);
    if (open_) {
      done(std::move(result));
      return;
    }
    held_.emplace_back(std::move(result), std::move(done));
  }
  StageStats stats() const override { return {}; }
  void Shutdown() override { Open(); }
  void Open() {
    std::vector<std::pair<absl::StatusOr<std::vector<Tensor>>, Done>> held;
    {
      std::lock_guard lock(mu_);
      open_ = true;
      held.swap(held_);
    }
    for (auto& [r, d] : held) d(std::move(r));
  }
  size_t held() const {
    std::lock_guard lock(mu_);
    return held_.size();
  }

 private:
  std::unique_ptr<models::Model> model_;
  mutable std::mutex mu_;
  bool open_ = false;
  std::vector<std::pair<absl::StatusOr<std::vector<Tensor>>, Done>> held_;
};

TEST(AsyncCascadeTest, StalledStageStopsDecodingAtTheWindowBound) {
  Scene scene = MakeScene(400, 5);
  CascadeConfig config = SceneConfig();
  config.diff_enabled = false;
  AsyncCascadeOptions options;
  options.queue_capacity = 2;
  options.max_window_frames = 1000;
  options.max_model_frames = 6;
  auto gate = std::make_unique<GatedStage>(Detector(scene));
  GatedStage* gate_ptr = gate.get();
  auto cascade = AsyncCascade::Create(config, options, nullptr, std::move(gate));
  ASSERT_TRUE(cascade.ok()) << cascade.status();
  CountingSource source(scene);
  std::atomic<int64_t> rows{0};
  std::thread run([&] {
    auto summary = (*cascade)->Run(source, [&](const FrameResult&) {
      ++rows;
      return absl::OkStatus();
    });
    EXPECT_TRUE(summary.ok()) << summary.status();
  });
  // Wait until the pipeline is stuck: six frames held in the stage.
  for (int i = 0; i < 2000 && gate_ptr->held() < 6; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_EQ(gate_ptr->held(), 6u);
  EXPECT_EQ(rows.load(), 0);
  // 6 in the stage + 1 waiting for room + 2 queued + 1 being pushed.
  EXPECT_LE(source.pulled.load(), 6 + 1 + 2 + 1);
  gate_ptr->Open();
  run.join();
  EXPECT_EQ(rows.load(), 400);
}

TEST(AsyncCascadeTest, WindowBoundAlsoHoldsForReusedFrames) {
  Scene scene = MakeScene(200, 5);
  CascadeConfig config = SceneConfig();
  config.diff.threshold = 1e9;  // everything after frame 0 reuses frame 0
  AsyncCascadeOptions options;
  options.queue_capacity = 1;
  options.max_window_frames = 10;
  auto gate = std::make_unique<GatedStage>(Detector(scene));
  GatedStage* gate_ptr = gate.get();
  auto cascade = AsyncCascade::Create(config, options, nullptr, std::move(gate));
  ASSERT_TRUE(cascade.ok()) << cascade.status();
  CountingSource source(scene);
  std::vector<FrameResult> rows;
  std::thread run([&] {
    auto summary = (*cascade)->Run(source, [&](const FrameResult& r) {
      rows.push_back(r);
      return absl::OkStatus();
    });
    EXPECT_TRUE(summary.ok()) << summary.status();
  });
  for (int i = 0; i < 2000 && source.pulled.load() < 12; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_LE(source.pulled.load(), 10 + 1 + 1 + 1);
  gate_ptr->Open();
  run.join();
  ASSERT_EQ(rows.size(), 200u);
  for (const FrameResult& r : rows) EXPECT_EQ(r.label, rows[0].label);
}

TEST(AsyncCascadeTest, CreateRejectsInconsistentStagesAndOptions) {
  Scene scene = MakeScene(2, 1);
  CascadeConfig config = SceneConfig();
  EXPECT_THAT(AsyncCascade::Create(config, {}, nullptr, nullptr).status().message(),
              HasSubstr("reference stage"));
  EXPECT_THAT(AsyncCascade::Create(config, {}, MakeLocalStage(std::make_unique<MeanClassifier>()),
                                   MakeLocalStage(Detector(scene)))
                  .status()
                  .message(),
              HasSubstr("no specialized model"));
  CascadeConfig spec = config;
  spec.specialized.model = "mean";
  EXPECT_THAT(AsyncCascade::Create(spec, {}, nullptr, MakeLocalStage(Detector(scene)))
                  .status()
                  .message(),
              HasSubstr("no specialized stage"));
  EXPECT_THAT(AsyncCascade::Create(config, {}, nullptr,
                                   MakeLocalStage(std::make_unique<MeanClassifier>()))
                  .status()
                  .message(),
              HasSubstr("needs a detector"));
  AsyncCascadeOptions bad;
  bad.max_window_frames = 0;
  EXPECT_FALSE(AsyncCascade::Create(config, bad, nullptr, MakeLocalStage(Detector(scene))).ok());
  bad = {};
  bad.reference_payload.jpeg_quality = 101;
  EXPECT_FALSE(AsyncCascade::Create(config, bad, nullptr, MakeLocalStage(Detector(scene))).ok());
}

TEST(LocalStageTest, RunsRequestsInOrderAndCancelsWhatIsLeftAtShutdown) {
  std::unique_ptr<ModelStage> stage = MakeLocalStage(std::make_unique<MeanClassifier>());
  std::mutex mu;
  std::vector<int> order;
  std::atomic<int> cancelled{0};
  for (int i = 0; i < 50; ++i) {
    std::vector<uint8_t> pixels(50 * 50 * 3, static_cast<uint8_t>(i));
    stage->InferAsync({Tensor::Uint8("images", {1, 50, 50, 3}, pixels.data(), pixels.size())},
                      [&, i](auto r) {
                        if (!r.ok()) {
                          EXPECT_EQ(r.status().code(), absl::StatusCode::kCancelled);
                          ++cancelled;
                          return;
                        }
                        std::lock_guard lock(mu);
                        order.push_back(i);
                      });
  }
  stage->Shutdown();
  std::lock_guard lock(mu);
  EXPECT_EQ(static_cast<int>(order.size()) + cancelled.load(), 50);
  for (size_t i = 0; i < order.size(); ++i) EXPECT_EQ(order[i], static_cast<int>(i));
  // After shutdown, requests fail at once.
  absl::Status late;
  stage->InferAsync({}, [&](auto r) { late = r.status(); });
  EXPECT_EQ(late.code(), absl::StatusCode::kCancelled);
}

}  // namespace
}  // namespace dnoscope::distributed
