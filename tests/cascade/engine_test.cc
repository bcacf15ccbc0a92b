// The engine under several drivers of the one policy: its rows equal a
// frame-at-a-time run of the policy (the oracle below) whatever order its
// stages complete in, with several cascades sharing one stage, and after a
// failed run; errors stop at the first unlabeled frame; the window bounds how
// far decoding runs ahead.
#include <atomic>
#include <cmath>
#include <deque>
#include <random>
#include <thread>

#include "cascade/cascade.h"
#include "cascade/policy.h"
#include "common/mutex.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "models/local_stage.h"
#include "models/signature.h"
#include "testing/fakes.h"
#include "video/synthetic.h"

namespace dnoscope::cascade {
namespace {

using labels::FrameResult;
using labels::FrameStatus;
using models::ModelStage;
using testing::FakeDetector;
using testing::FakeFrameSource;
using ::testing::HasSubstr;

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

// Runs the model at once and completes the requests from worker threads in
// a random order (seeded): completions arrive out of submission order.
class ShuffledStage final : public ModelStage {
 public:
  ShuffledStage(std::unique_ptr<models::Model> model, int threads, uint64_t seed)
      : model_(std::move(model)), rng_(seed) {
    for (int i = 0; i < threads; ++i) workers_.emplace_back([this] { Loop(); });
  }
  ~ShuffledStage() override { Shutdown(); }
  const models::ModelMetadata& metadata() const override { return model_->metadata(); }
  std::string Describe() const override { return "shuffled"; }
  void InferAsync(models::StageRequest request, Done done) override {
    MutexLock lock(&mu_);
    // The model is not thread-safe: run it now, deliver later.
    jobs_.push_back({model_->InferSelected(request.inputs, request.outputs), std::move(done)});
    ++requests_;
    cv_.Signal();
  }
  models::StageStats stats() const override {
    MutexLock lock(&mu_);
    return {{{"shuffled", 0, requests_, 0, 0, false, 0}}, 0};
  }
  void Shutdown() override {
    {
      MutexLock lock(&mu_);
      stop_ = true;
    }
    cv_.SignalAll();
    for (std::jthread& t : workers_) {
      if (t.joinable()) t.join();
    }
  }

 private:
  struct Job {
    absl::StatusOr<std::vector<Tensor>> result;
    Done done;
  };
  void Loop() {
    while (true) {
      Job job;
      {
        MutexLock lock(&mu_);
        while (!stop_ && jobs_.empty()) cv_.Wait(&mu_);
        if (jobs_.empty()) return;
        std::uniform_int_distribution<size_t> pick(0, jobs_.size() - 1);
        auto it = jobs_.begin() + static_cast<std::ptrdiff_t>(pick(rng_));
        job = std::move(*it);
        jobs_.erase(it);
      }
      job.done(std::move(job.result));
    }
  }
  std::unique_ptr<models::Model> model_;
  mutable Mutex mu_;
  CondVar cv_;
  std::deque<Job> jobs_ ABSL_GUARDED_BY(mu_);
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  int64_t requests_ ABSL_GUARDED_BY(mu_) = 0;
  std::mt19937 rng_ ABSL_GUARDED_BY(mu_);
  std::vector<std::jthread> workers_;
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

// The oracle: the policy driven one frame at a time on this thread, with
// the models called directly — what the engine must produce whatever its
// threads and stages do.
std::vector<FrameResult> SequentialRows(const CascadeConfig& config, const Scene& s,
                                        bool specialized) {
  CascadePolicy policy(PolicyOptionsFor(config));
  std::unique_ptr<detect::DifferenceDetector> diff;
  if (config.diff_enabled) diff = *detect::DifferenceDetector::Create(config.diff);
  MeanClassifier classifier;
  std::unique_ptr<FakeDetector> detector = Detector(s);
  std::vector<FrameResult> rows;
  for (const video::Frame& f : s.frames) {
    std::optional<detect::DiffDecision> decision;
    if (diff && f.sampled && !f.corrupt) {
      cv::Mat small;
      video::CropAndResize(f.image, config.roi, config.diff.width, config.diff.height,
                           video::Interpolation::kArea, &small);
      decision = diff->Process(f.index, small);
    }
    const Routing routing = CascadePolicy::RouteFrame(f.sampled, f.corrupt, decision);
    FrameResult r;
    r.frame = f.index;
    r.status = routing.status;
    r.diff_score = routing.diff_score;
    bool ask_reference = routing.route == Route::kModels;
    if (ask_reference && specialized) {
      cv::Mat crop;
      video::CropAndResize(f.image, config.roi, config.specialized_width,
                           config.specialized_height, video::Interpolation::kArea, &crop);
      ask_reference = policy.DecideSpecialized(models::Classify(classifier, {crop})->at(0), &r);
    }
    if (ask_reference) {
      policy.DecideReference(*models::Detect(*detector, f.image, f.index),
                             detector->metadata().class_names, &r);
    }
    EXPECT_TRUE(policy.Complete(routing, &r).ok());
    rows.push_back(r);
  }
  return rows;
}

struct Rows {
  std::vector<FrameResult> rows;
  absl::Status status;
};

Rows RunEngine(Cascade& cascade, video::FrameSource& source) {
  Rows out;
  out.status = cascade
                   .Run(source,
                        [&](const FrameResult& r) {
                          out.rows.push_back(r);
                          return absl::OkStatus();
                        })
                   .status();
  return out;
}

Rows RunEngine(const CascadeConfig& config, const CascadeOptions& options, Stages stages,
               video::FrameSource& source, RunReport* report = nullptr) {
  auto cascade = Cascade::Create(config, options, stages);
  EXPECT_TRUE(cascade.ok()) << cascade.status();
  if (!cascade.ok()) return {{}, cascade.status()};
  Rows out = RunEngine(**cascade, source);
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

TEST(EngineTest, InProcessStagesGiveTheSequentialRowsForEveryVariant) {
  Scene scene = MakeScene(240, 7);
  for (const Variant& v : Variants()) {
    SCOPED_TRACE(v.name);
    Scene s = scene;
    s.frames = Sampled(s.frames, v.config.skip);
    CascadeOptions options;
    options.specialized_batching.max_batch = v.max_batch;
    options.specialized_batching.max_delay = std::chrono::milliseconds(2);
    std::unique_ptr<ModelStage> spec =
        v.specialized ? models::MakeLocalStage(std::make_unique<MeanClassifier>()) : nullptr;
    std::unique_ptr<ModelStage> ref = models::MakeLocalStage(Detector(s));
    FakeFrameSource source(s.frames, s.width, s.height);
    Rows got = RunEngine(v.config, options, {spec.get(), ref.get()}, source);
    ASSERT_TRUE(got.status.ok()) << got.status;
    ExpectSameRows(SequentialRows(v.config, s, v.specialized), got.rows);
  }
}

TEST(EngineTest, OutOfOrderCompletionsStillGiveRowsInFrameOrder) {
  Scene scene = MakeScene(300, 11);
  Variant v = Variants()[5];  // specialized, batches of 4
  const std::vector<FrameResult> want = SequentialRows(v.config, scene, true);
  int references = 0;
  for (const FrameResult& r : want) references += r.status == FrameStatus::kReference;
  ASSERT_GT(references, 5) << "scene too easy to exercise the reference stage";
  CascadeOptions options;
  options.specialized_batching.max_batch = 4;
  options.max_window_frames = 40;
  options.max_model_frames = 12;
  ShuffledStage spec(std::make_unique<MeanClassifier>(), 3, 1);
  ShuffledStage ref(Detector(scene), 4, 2);
  FakeFrameSource source(scene.frames, scene.width, scene.height);
  RunReport report;
  Rows got = RunEngine(v.config, options, {&spec, &ref}, source, &report);
  ASSERT_TRUE(got.status.ok()) << got.status;
  ExpectSameRows(want, got.rows);
  ASSERT_EQ(report.stages.size(), 2u);
  EXPECT_EQ(report.stages[1].stage, "reference");
  EXPECT_EQ(report.stages[1].requests, references);
  EXPECT_EQ(report.stages[1].latency.count, references);
  EXPECT_EQ(report.end_to_end_latency.count, static_cast<int64_t>(scene.frames.size()));
  // Batching: fewer specialized requests than frames sent to it.
  EXPECT_LT(report.stages[0].requests, report.stages[0].frames);
}

TEST(EngineTest, CascadesRunningAtOnceShareStagesAndKeepTheirOwnRows) {
  const Variant v = Variants()[5];
  const Scene a = MakeScene(200, 21);
  const Scene b = MakeScene(150, 22);
  // One detector stage answering both scenes: frame numbers of b are shifted.
  Scene both = a;
  for (const auto& [frame, boxes] : b.boxes) both.boxes[frame + 100000] = boxes;
  Scene b_shifted = b;
  for (video::Frame& f : b_shifted.frames) f.index += 100000;
  ShuffledStage spec(std::make_unique<MeanClassifier>(), 2, 3);
  ShuffledStage ref(Detector(both), 3, 4);
  CascadeOptions options;
  options.specialized_batching.max_batch = 4;
  auto first = Cascade::Create(v.config, options, {&spec, &ref});
  auto second = Cascade::Create(v.config, options, {&spec, &ref});
  ASSERT_TRUE(first.ok() && second.ok());
  FakeFrameSource source_a(a.frames, a.width, a.height);
  FakeFrameSource source_b(b_shifted.frames, b.width, b.height);
  Rows rows_a, rows_b;
  std::thread run_b([&] { rows_b = RunEngine(**second, source_b); });
  rows_a = RunEngine(**first, source_a);
  run_b.join();
  ASSERT_TRUE(rows_a.status.ok()) << rows_a.status;
  ASSERT_TRUE(rows_b.status.ok()) << rows_b.status;
  Scene b_oracle = b_shifted;
  b_oracle.boxes = both.boxes;
  ExpectSameRows(SequentialRows(v.config, a, true), rows_a.rows);
  ExpectSameRows(SequentialRows(v.config, b_oracle, true), rows_b.rows);
}

TEST(EngineTest, FailedReferenceRequestStopsAtThatFrameWithEveryEarlierRow) {
  Scene scene = MakeScene(120, 3);
  CascadeConfig config = SceneConfig();
  config.diff_enabled = false;  // every frame goes to the reference
  auto detector = Detector(scene);
  detector->fail_on_frame = 57;
  ShuffledStage ref(std::move(detector), 4, 5);
  FakeFrameSource source(scene.frames, scene.width, scene.height);
  CascadeOptions options;
  options.max_model_frames = 16;
  Rows out = RunEngine(config, options, {nullptr, &ref}, source);
  ASSERT_FALSE(out.status.ok());
  EXPECT_THAT(out.status.message(), HasSubstr("reference stage failed on frame 57"));
  EXPECT_THAT(out.status.message(), HasSubstr("injected failure"));
  EXPECT_THAT(out.status.message(), HasSubstr("57 rows written"));
  ASSERT_EQ(out.rows.size(), 57u);
  for (size_t i = 0; i < out.rows.size(); ++i) EXPECT_EQ(out.rows[i].frame, static_cast<int64_t>(i));
}

TEST(EngineTest, AFailedRunLeavesTheCascadeAndItsStagesUsable) {
  Scene scene = MakeScene(100, 9);
  const CascadeConfig config = Variants()[4].config;
  std::unique_ptr<ModelStage> spec = models::MakeLocalStage(std::make_unique<MeanClassifier>());
  std::unique_ptr<ModelStage> ref = models::MakeLocalStage(Detector(scene));
  auto cascade = Cascade::Create(config, {}, {spec.get(), ref.get()});
  ASSERT_TRUE(cascade.ok()) << cascade.status();
  FakeFrameSource first(scene.frames, scene.width, scene.height);
  auto failed = (*cascade)->Run(first, [](const FrameResult& r) {
    return r.frame == 30 ? absl::ResourceExhaustedError("disk full") : absl::OkStatus();
  });
  EXPECT_EQ(failed.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(failed.status().message(), HasSubstr("30 rows written"));
  FakeFrameSource again(scene.frames, scene.width, scene.height);
  Rows second = RunEngine(**cascade, again);
  ASSERT_TRUE(second.status.ok()) << second.status;
  ExpectSameRows(SequentialRows(config, scene, true), second.rows);
}

TEST(EngineTest, ReferenceBoxesFromAResizedPayloadAreMatchedInFramePixels) {
  // The detector sees a frame resized to half its size and answers in those
  // pixels; the ROI (right half of the full frame) must apply after scaling.
  class HalfSizeDetector final : public models::Model {
   public:
    HalfSizeDetector() {
      metadata_.name = "half";
      metadata_.class_names = {"person"};
      metadata_.inputs = {{"image", DataType::kUint8, {-1, -1, 3}}};
      metadata_.outputs = {{models::kDetectionsOutput, DataType::kFp32, {-1, 6}}};
    }
    const models::ModelMetadata& metadata() const override { return metadata_; }
    absl::StatusOr<std::vector<Tensor>> Infer(const std::vector<Tensor>& inputs) override {
      EXPECT_EQ(inputs.at(0).shape, (std::vector<int64_t>{60, 80, 3}));
      // A box centred at x = 50 of 80: x = 100 of the 160-pixel frame.
      return std::vector<Tensor>{models::DetectionsToTensor({{0, 0.9f, 45, 10, 55, 20}})};
    }

   private:
    models::ModelMetadata metadata_;
  };
  Scene scene = MakeScene(3, 1);
  CascadeConfig config = SceneConfig();
  config.diff_enabled = false;
  config.roi = Roi{80, 0, 160, 120};
  CascadeOptions options;
  options.reference_payload = {.resize_width = 80, .resize_height = 60};
  std::unique_ptr<ModelStage> ref = models::MakeLocalStage(std::make_unique<HalfSizeDetector>());
  FakeFrameSource source(scene.frames, scene.width, scene.height);
  Rows out = RunEngine(config, options, {nullptr, ref.get()}, source);
  ASSERT_TRUE(out.status.ok()) << out.status;
  ASSERT_EQ(out.rows.size(), 3u);
  for (const FrameResult& r : out.rows) EXPECT_TRUE(r.label) << r.frame;
}

// A frame source that counts the frames pulled and lets a test wait for a count.
class CountingSource final : public video::FrameSource {
 public:
  explicit CountingSource(const Scene& s) : inner_(s.frames, s.width, s.height) {}
  const video::VideoInfo& info() const override { return inner_.info(); }
  absl::StatusOr<std::optional<video::Frame>> Next() override {
    {
      MutexLock lock(&mu_);
      ++pulled_;
    }
    cv_.SignalAll();
    return inner_.Next();
  }
  int64_t corrupt_frames() const override { return 0; }
  void WaitPulled(int64_t n) {
    MutexLock lock(&mu_);
    while (pulled_ < n) cv_.Wait(&mu_);
  }
  int64_t pulled() const {
    MutexLock lock(&mu_);
    return pulled_;
  }

 private:
  FakeFrameSource inner_;
  mutable Mutex mu_;
  CondVar cv_;
  int64_t pulled_ ABSL_GUARDED_BY(mu_) = 0;
};

// Holds every request until opened; a test can wait until N are held.
class GatedStage final : public ModelStage {
 public:
  explicit GatedStage(std::unique_ptr<models::Model> model) : model_(std::move(model)) {}
  ~GatedStage() override { Shutdown(); }
  const models::ModelMetadata& metadata() const override { return model_->metadata(); }
  std::string Describe() const override { return "gated"; }
  void InferAsync(models::StageRequest request, Done done) override {
    auto result = model_->InferSelected(request.inputs, request.outputs);
    {
      MutexLock lock(&mu_);
      if (!open_) {
        held_.emplace_back(std::move(result), std::move(done));
        cv_.SignalAll();
        return;
      }
    }
    done(std::move(result));
  }
  models::StageStats stats() const override { return {}; }
  void Shutdown() override { Open(); }
  void Open() {
    std::vector<std::pair<absl::StatusOr<std::vector<Tensor>>, Done>> held;
    {
      MutexLock lock(&mu_);
      open_ = true;
      held.swap(held_);
    }
    for (auto& [r, d] : held) d(std::move(r));
  }
  void WaitHeld(size_t n) {
    MutexLock lock(&mu_);
    while (held_.size() < n) cv_.Wait(&mu_);
  }
  size_t held() const {
    MutexLock lock(&mu_);
    return held_.size();
  }

 private:
  std::unique_ptr<models::Model> model_;  // called from the submitting thread only
  mutable Mutex mu_;
  CondVar cv_;
  bool open_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<std::pair<absl::StatusOr<std::vector<Tensor>>, Done>> held_ ABSL_GUARDED_BY(mu_);
};

TEST(EngineTest, StalledStageStopsDecodingAtTheWindowBound) {
  Scene scene = MakeScene(400, 5);
  CascadeConfig config = SceneConfig();
  config.diff_enabled = false;
  CascadeOptions options;
  options.queue_capacity = 2;
  options.max_window_frames = 1000;
  options.max_model_frames = 6;
  GatedStage gate(Detector(scene));
  auto cascade = Cascade::Create(config, options, {nullptr, &gate});
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
  // 6 in the stage + 1 waiting for room + 2 queued + 1 being pushed: the
  // decoder blocks at 10 and, while the stage holds, can pull no more.
  gate.WaitHeld(6);
  source.WaitPulled(10);
  EXPECT_EQ(gate.held(), 6u);
  EXPECT_EQ(rows.load(), 0);
  EXPECT_EQ(source.pulled(), 10);
  gate.Open();
  run.join();
  EXPECT_EQ(rows.load(), 400);
}

TEST(EngineTest, WindowBoundAlsoHoldsForReusedFrames) {
  Scene scene = MakeScene(200, 5);
  CascadeConfig config = SceneConfig();
  config.diff.threshold = 1e9;  // everything after frame 0 reuses frame 0
  CascadeOptions options;
  options.queue_capacity = 1;
  options.max_window_frames = 10;
  GatedStage gate(Detector(scene));
  auto cascade = Cascade::Create(config, options, {nullptr, &gate});
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
  // 10 in the window + 1 waiting for room + 1 queued + 1 being pushed.
  gate.WaitHeld(1);
  source.WaitPulled(13);
  EXPECT_EQ(source.pulled(), 13);
  gate.Open();
  run.join();
  ASSERT_EQ(rows.size(), 200u);
  for (const FrameResult& r : rows) EXPECT_EQ(r.label, rows[0].label);
}

TEST(EngineTest, DroppedFramesPassWhileTheModelStagesAreFull) {
  Scene scene = MakeScene(40, 5);
  for (size_t i = 1; i < scene.frames.size(); ++i) {  // a live source fell behind
    scene.frames[i].dropped = true;
    scene.frames[i].image.release();
  }
  CascadeConfig config = SceneConfig();
  CascadeOptions options;
  options.queue_capacity = 2;
  options.max_model_frames = 1;
  GatedStage gate(Detector(scene));
  auto cascade = Cascade::Create(config, options, {nullptr, &gate});
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
  // Frame 0 fills the model stages; the dropped frames need no model and are
  // all taken in (40 frames and the end) while the stage still holds it.
  gate.WaitHeld(1);
  source.WaitPulled(41);
  EXPECT_EQ(gate.held(), 1u);
  gate.Open();
  run.join();
  ASSERT_EQ(rows.size(), 40u);
  EXPECT_EQ(rows[0].status, FrameStatus::kReference);
  for (size_t i = 1; i < rows.size(); ++i) {
    EXPECT_EQ(rows[i].status, FrameStatus::kDropped);
    EXPECT_EQ(rows[i].label, rows[0].label);  // the last label carries over
  }
}

TEST(EngineTest, CreateRejectsInconsistentStagesAndOptions) {
  Scene scene = MakeScene(2, 1);
  CascadeConfig config = SceneConfig();
  std::unique_ptr<ModelStage> classifier =
      models::MakeLocalStage(std::make_unique<MeanClassifier>());
  std::unique_ptr<ModelStage> detector = models::MakeLocalStage(Detector(scene));
  EXPECT_THAT(Cascade::Create(config, {}, {nullptr, nullptr}).status().message(),
              HasSubstr("reference stage"));
  EXPECT_THAT(
      Cascade::Create(config, {}, {classifier.get(), detector.get()}).status().message(),
      HasSubstr("no specialized model"));
  CascadeConfig spec = config;
  spec.specialized.model = "mean";
  EXPECT_THAT(Cascade::Create(spec, {}, {nullptr, detector.get()}).status().message(),
              HasSubstr("no specialized stage"));
  EXPECT_THAT(Cascade::Create(config, {}, {nullptr, classifier.get()}).status().message(),
              HasSubstr("needs a detector"));
  EXPECT_THAT(Cascade::Create(spec, {}, {detector.get(), detector.get()}).status().message(),
              HasSubstr("is a detector"));
  CascadeOptions bad;
  bad.max_window_frames = 0;
  EXPECT_FALSE(Cascade::Create(config, bad, {nullptr, detector.get()}).ok());
  bad = {};
  bad.reference_payload.jpeg_quality = 101;
  EXPECT_FALSE(Cascade::Create(config, bad, {nullptr, detector.get()}).ok());
}

}  // namespace
}  // namespace dnoscope::cascade
