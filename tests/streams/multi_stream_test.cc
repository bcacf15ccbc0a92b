// MultiStreamRun with the stages shared by every stream, as `dnoscope run
// --streams` runs them: 4 synthetic streams whose specialized and reference
// stages are remote, on 2 model servers in this process, the specialized
// one behind a cross-stream BatchingStage; one server is stopped mid-run.
// Each stream's CSV is byte-identical to a single-stream run of it. A
// stream whose video breaks mid-run ends with that error while the others
// finish with their exact rows; one whose source stalls holds nobody up.
// The progress line shows every stream.
#include "streams/multi_stream.h"

#include <atomic>
#include <filesystem>
#include <mutex>
#include <thread>

#include "client/remote_stage.h"
#include "common/mutex.h"
#include "emulation/model_server.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "models/batching_stage.h"
#include "models/local_stage.h"
#include "testing/replay_models.h"
#include "testing/test_env.h"
#include "video/synthetic.h"

namespace dnoscope::streams {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using testing::ReadFileOrEmpty;
using testing::ScratchDir;
using testing::WriteFile;

constexpr int kStreams = 4;

// Fails with DataLoss after `good` frames, as a video that breaks mid-run.
class BreakingSource final : public video::FrameSource {
 public:
  BreakingSource(std::unique_ptr<video::FrameSource> inner, int64_t good)
      : inner_(std::move(inner)), good_(good) {}
  const video::VideoInfo& info() const override { return inner_->info(); }
  absl::StatusOr<std::optional<video::Frame>> Next() override {
    if (served_++ == good_) return absl::DataLossError("video broke mid-run");
    return inner_->Next();
  }
  int64_t corrupt_frames() const override { return inner_->corrupt_frames(); }

 private:
  std::unique_ptr<video::FrameSource> inner_;
  int64_t good_;
  int64_t served_ = 0;
};

// Blocks in Next() after `good` frames until Release() (or 60 s of real
// time, so that a regression fails the test instead of hanging it).
class StallingSource final : public video::FrameSource {
 public:
  StallingSource(std::unique_ptr<video::FrameSource> inner, int64_t good)
      : inner_(std::move(inner)), good_(good) {}
  const video::VideoInfo& info() const override { return inner_->info(); }
  absl::StatusOr<std::optional<video::Frame>> Next() override {
    if (served_++ == good_) {
      const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(60);
      MutexLock lock(&mu_);
      while (!released_ && !cv_.WaitUntil(&mu_, give_up)) {
      }
      timed_out_ = !released_;
    }
    return inner_->Next();
  }
  int64_t corrupt_frames() const override { return inner_->corrupt_frames(); }
  void Release() {
    MutexLock lock(&mu_);
    released_ = true;
    cv_.SignalAll();
  }
  bool timed_out() {
    MutexLock lock(&mu_);
    return timed_out_;
  }

 private:
  std::unique_ptr<video::FrameSource> inner_;
  int64_t good_;
  int64_t served_ = 0;
  Mutex mu_;
  CondVar cv_;
  bool released_ ABSL_GUARDED_BY(mu_) = false;
  bool timed_out_ ABSL_GUARDED_BY(mu_) = false;
};

// Counts rows over every stream and calls `at_rows` once when they reach N.
class CountingSink final : public RowSink {
 public:
  CountingSink(std::unique_ptr<RowSink> inner, std::function<void(int64_t)> on_row,
               std::function<void()> on_close = {})
      : inner_(std::move(inner)), on_row_(std::move(on_row)), on_close_(std::move(on_close)) {}
  absl::Status Write(const labels::FrameResult& row) override {
    on_row_(0);
    return inner_->Write(row);
  }
  absl::Status Close() override {
    absl::Status s = inner_->Close();
    if (on_close_) on_close_();
    return s;
  }

 private:
  std::unique_ptr<RowSink> inner_;
  std::function<void(int64_t)> on_row_;
  std::function<void()> on_close_;
};

class MultiStreamTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (int i = 0; i < kStreams; ++i) {
      video::SynthOptions o;
      o.width = 160;
      o.height = 120;
      o.frames = 150;
      o.seed = 31 + i;
      o.object_rate = 0.05;
      o.object_name = "person";
      auto synth = video::WriteSyntheticScene(o, dir_.File("scene" + std::to_string(i)));
      ASSERT_TRUE(synth.ok()) << synth.status();
      videos_.push_back(synth->video_path);
      if (i == 0) labels_ = synth->labels_path;
    }
    // One repository for both servers: replay models of scene 0's labels
    // (they answer by frame index, so every stream gets a deterministic mix
    // of reference and specialized decisions).
    repo_ = dir_.File("repo");
    ASSERT_TRUE(testing::WriteUnsureReplayModels(
                    repo_, labels_,
                    R"({"backend": "replay", "files": {"labels": "labels.csv"},
                        "instance_count": 2, "replay": {"service_time_ms": 2}})")
                    .ok());
  }

  StreamPlan Plan(int i) const {
    StreamPlan p;
    p.name = "cam" + std::to_string(i);
    p.config.object = "person";
    p.config.model_repository = repo_;
    p.config.diff.threshold = 2.0;
    p.config.reference.model = "ref";
    p.config.specialized.model = "spec";
    p.config.c_low = 0.2f;
    p.config.c_high = 0.9f;
    p.source.uri = videos_[i];
    if (i == 1) p.source.skip = 2;  // per-stream overrides hold
    p.out = dir_.File(p.name + ".csv");
    return p;
  }

  std::unique_ptr<models::ModelStage> Local(const std::string& model) const {
    auto m = models::LoadModel({.model = model, .repository = repo_});
    EXPECT_TRUE(m.ok()) << m.status();
    return models::MakeLocalStage(*std::move(m));
  }

  // The CSV a single-stream run of stream i writes (in-process stages).
  std::string SingleStreamCsv(int i) {
    auto spec = Local("spec");
    auto ref = Local("ref");
    StreamPlan plan = Plan(i);
    plan.out = dir_.File("single" + std::to_string(i) + ".csv");
    auto run = MultiStreamRun::Create({plan}, {spec.get(), ref.get()}, {});
    EXPECT_TRUE(run.ok()) << run.status();
    MultiStreamSummary s = (*run)->Run();
    EXPECT_TRUE(s.streams[0].status.ok()) << s.streams[0].status;
    return ReadFileOrEmpty(plan.out);
  }

  client::RemoteModelOptions Remote(const std::string& model) const {
    client::RemoteModelOptions o;
    o.model = model;
    o.attempt_timeout = std::chrono::milliseconds(20000);
    o.retry_backoff = std::chrono::milliseconds(1);
    o.retry_backoff_max = std::chrono::milliseconds(20);
    o.balancer.eject_base = std::chrono::milliseconds(50);
    o.balancer.eject_max = std::chrono::milliseconds(200);
    o.unavailable_patience = std::chrono::milliseconds(20000);
    return o;
  }

  static std::unique_ptr<emulation::ModelServer> StartServer(const std::string& repo) {
    auto s = emulation::ModelServer::Start(repo, {.drain_timeout = std::chrono::seconds(0)});
    EXPECT_TRUE(s.ok()) << s.status();
    return s.ok() ? *std::move(s) : nullptr;
  }

  ScratchDir dir_;
  std::vector<std::string> videos_;
  std::string labels_;
  std::string repo_;
};

TEST_F(MultiStreamTest, SharedRemoteStagesWithServerStoppedMidRunGiveSingleStreamCsvs) {
  std::vector<std::string> expected;
  for (int i = 0; i < kStreams; ++i) expected.push_back(SingleStreamCsv(i));
  ASSERT_THAT(expected[0], HasSubstr(",reference,"));
  ASSERT_THAT(expected[0], HasSubstr(",specialized,"));

  auto a = StartServer(repo_);
  auto b = StartServer(repo_);
  ASSERT_TRUE(a && b);
  const std::vector<client::Endpoint> endpoints = {a->endpoint(), b->endpoint()};
  auto spec_remote = client::ConnectRemoteStage(endpoints, Remote("spec"));
  ASSERT_TRUE(spec_remote.ok()) << spec_remote.status();
  auto spec = models::BatchingStage::Create(*std::move(spec_remote),
                                            {.max_batch = 16, .max_delay = std::chrono::milliseconds(2)});
  ASSERT_TRUE(spec.ok());
  auto ref = client::ConnectRemoteStage(endpoints, Remote("ref"));
  ASSERT_TRUE(ref.ok()) << ref.status();

  std::vector<StreamPlan> plans;
  for (int i = 0; i < kStreams; ++i) plans.push_back(Plan(i));
  std::atomic<int64_t> rows{0};
  std::thread killer;
  std::once_flag kill_once;
  StreamIo io;
  io.open_sink = [&](const StreamPlan& p) -> absl::StatusOr<std::unique_ptr<RowSink>> {
    auto csv = OpenCsvSink(p.out);
    if (!csv.ok()) return csv.status();
    return std::unique_ptr<RowSink>(new CountingSink(*std::move(csv), [&](int64_t) {
      if (++rows == 120) std::call_once(kill_once, [&] { killer = std::thread([&] { b->Stop(); }); });
    }));
  };
  auto run = MultiStreamRun::Create(plans, {spec->get(), ref->get()}, {}, io);
  ASSERT_TRUE(run.ok()) << run.status();
  int ticks = 0;
  MultiStreamSummary summary = (*run)->Run([&] { ++ticks; });
  if (killer.joinable()) killer.join();

  ASSERT_EQ(summary.streams.size(), static_cast<size_t>(kStreams));
  EXPECT_EQ(summary.failed_streams, 0);
  int64_t spec_frames = 0;
  for (int i = 0; i < kStreams; ++i) {
    SCOPED_TRACE(plans[i].name);
    const StreamOutcome& o = summary.streams[i];
    EXPECT_EQ(o.name, plans[i].name);
    EXPECT_TRUE(o.status.ok()) << o.status;
    EXPECT_EQ(ReadFileOrEmpty(plans[i].out), expected[i]);
    spec_frames += o.report.stages[0].frames;
  }
  EXPECT_GT(rows.load(), 120);  // the server was stopped mid-run
  EXPECT_EQ(summary.frames, rows.load());
  // Every specialized frame of every stream went through the one batching stage.
  EXPECT_EQ((*spec)->figures().rows, spec_frames);
  const std::vector<StreamStatus> statuses = (*run)->Statuses();
  for (const StreamStatus& s : statuses) EXPECT_TRUE(s.finished && !s.failed);
}

TEST_F(MultiStreamTest, StreamWhoseVideoBreaksFailsAloneWithItsRowsWritten) {
  std::vector<std::string> expected;
  for (int i = 0; i < 2; ++i) expected.push_back(SingleStreamCsv(i));
  auto spec = Local("spec");
  auto ref = Local("ref");
  StreamIo io;
  io.open_source = [](const StreamPlan& p) -> absl::StatusOr<std::unique_ptr<video::FrameSource>> {
    auto source = video::OpenFrameSource(p.source);
    if (!source.ok() || p.name != "cam2") return source;
    return std::unique_ptr<video::FrameSource>(new BreakingSource(*std::move(source), 40));
  };
  std::vector<StreamPlan> plans = {Plan(0), Plan(1), Plan(2)};
  auto run = MultiStreamRun::Create(plans, {spec.get(), ref.get()}, {}, io);
  ASSERT_TRUE(run.ok()) << run.status();
  MultiStreamSummary summary = (*run)->Run();
  EXPECT_EQ(summary.failed_streams, 1);
  EXPECT_TRUE(summary.streams[0].status.ok());
  EXPECT_TRUE(summary.streams[1].status.ok());
  EXPECT_EQ(ReadFileOrEmpty(plans[0].out), expected[0]);
  EXPECT_EQ(ReadFileOrEmpty(plans[1].out), expected[1]);
  const StreamOutcome& broken = summary.streams[2];
  EXPECT_EQ(broken.status.code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(broken.summary.frames, 40);
  const std::string json = MultiStreamSummaryToJson(summary);
  EXPECT_THAT(json, HasSubstr("\"failed_streams\": 1"));
  EXPECT_THAT(json, HasSubstr("video broke mid-run"));
  EXPECT_THAT(MultiStreamSummaryToTable(summary), HasSubstr("FAILED: video broke mid-run"));
}

TEST_F(MultiStreamTest, StalledStreamDoesNotHoldUpTheOthers) {
  std::vector<std::string> expected;
  for (int i = 0; i < 3; ++i) expected.push_back(SingleStreamCsv(i));
  auto spec = Local("spec");
  auto ref = Local("ref");
  StallingSource* stalled = nullptr;
  std::atomic<int> others_closed{0};
  StreamIo io;
  io.open_source = [&](const StreamPlan& p) -> absl::StatusOr<std::unique_ptr<video::FrameSource>> {
    auto source = video::OpenFrameSource(p.source);
    if (!source.ok() || p.name != "cam0") return source;
    auto s = std::make_unique<StallingSource>(*std::move(source), 30);
    stalled = s.get();
    return std::unique_ptr<video::FrameSource>(std::move(s));
  };
  // The stalled stream resumes only once the two others wrote every row.
  io.open_sink = [&](const StreamPlan& p) -> absl::StatusOr<std::unique_ptr<RowSink>> {
    auto csv = OpenCsvSink(p.out);
    if (!csv.ok() || p.name == "cam0") return csv;
    return std::unique_ptr<RowSink>(new CountingSink(*std::move(csv), [](int64_t) {}, [&] {
      if (++others_closed == 2) stalled->Release();
    }));
  };
  std::vector<StreamPlan> plans = {Plan(0), Plan(1), Plan(2)};
  auto run = MultiStreamRun::Create(plans, {spec.get(), ref.get()}, {}, io);
  ASSERT_TRUE(run.ok()) << run.status();
  MultiStreamSummary summary = (*run)->Run();
  EXPECT_FALSE(stalled->timed_out()) << "the other streams waited for the stalled one";
  EXPECT_EQ(summary.failed_streams, 0);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(ReadFileOrEmpty(plans[i].out), expected[i]) << i;
}

TEST_F(MultiStreamTest, CreateNamesTheStreamWhoseSourceCannotOpenAndWritesNothing) {
  auto spec = Local("spec");
  auto ref = Local("ref");
  std::vector<StreamPlan> plans = {Plan(0), Plan(1)};
  plans[1].source.uri = dir_.File("missing.avi");
  auto run = MultiStreamRun::Create(plans, {spec.get(), ref.get()}, {});
  ASSERT_FALSE(run.ok());
  EXPECT_THAT(std::string(run.status().message()), HasSubstr("stream 'cam1'"));
  EXPECT_FALSE(fs::exists(plans[0].out));
}

}  // namespace
}  // namespace dnoscope::streams

namespace dnoscope::streams {
namespace {

TEST(ProgressLineTest, ShowsEachStreamsRateLatenessAndStateAndTheRunningTotal) {
  std::vector<StreamStatus> s(3);
  s[0] = {.name = "gate", .frames = 120, .frames_per_second = 40, .lateness_ms = 85};
  s[1] = {.name = "yard", .frames = 60, .frames_per_second = 20};
  s[2] = {.name = "dock", .frames = 10, .frames_per_second = 5, .finished = true, .failed = true};
  EXPECT_EQ(ProgressLine(s),
            "gate 120 f 40.0 f/s late 85 ms | yard 60 f 20.0 f/s late - | "
            "dock 10 f 5.0 f/s late - FAILED | all 60.0 f/s");
}

}  // namespace
}  // namespace dnoscope::streams
