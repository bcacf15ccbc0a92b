// The cascade with remote stages against real model servers in this process
// (emulation::ModelServer on 127.0.0.1, port 0): the
// rows equal those with in-process stages on a synthetic video for every protocol,
// with batching, with a real ONNX specialized model, through failing
// endpoints and a server killed mid-run; when every server is gone the run
// fails naming the first unlabeled frame. With ../shared/data, the same
// equality holds on the person clip with Yolo-Fastest as the reference.
#include <atomic>
#include <filesystem>
#include <thread>

#include "cascade/cascade.h"
#include "common/mutex.h"
#include "emulation/model_server.h"
#include "client/remote_stage.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "labels/label_csv.h"
#include "models/local_stage.h"
#include "serving/http/server.h"
#include "testing/onnx_builder.h"
#include "testing/replay_models.h"
#include "testing/test_env.h"
#include "video/synthetic.h"

namespace dnoscope::cascade {
namespace {

using models::ModelStage;
using models::StageEndpointStats;
using labels::FrameResult;
using ::testing::HasSubstr;
using testing::ScratchDir;
using testing::WriteFile;
namespace fs = std::filesystem;

// A model server over `repository` in this process (REST, and gRPC on a
// second port); when stopped it drops the requests it holds, as a killed
// server would.
std::unique_ptr<emulation::ModelServer> StartServer(const std::string& repository) {
  auto server = emulation::ModelServer::Start(
      repository, {.drain_timeout = std::chrono::seconds(0), .grpc = true});
  EXPECT_TRUE(server.ok()) << server.status();
  return server.ok() ? *std::move(server) : nullptr;
}

// Answers every request with `status` (0: holds it until shutdown).
class FaultyServer {
 public:
  explicit FaultyServer(int status) : status_(status) {
    serving::http::HttpServerOptions options;
    options.port = 0;
    options.drain_timeout = std::chrono::seconds(0);
    server_ = *serving::http::HttpServer::Start(
        options, [this](serving::http::HttpRequest, serving::http::Responder respond) {
          if (status_ == 0) {
            MutexLock lock(&mu_);
            held_.push_back(std::move(respond));
            return;
          }
          serving::http::HttpResponse r;
          r.status = status_;
          r.body = R"({"error":"injected"})";
          respond(std::move(r));
        });
  }
  ~FaultyServer() {
    server_->Shutdown();
    MutexLock lock(&mu_);
    held_.clear();
  }
  client::Endpoint endpoint() const { return {"127.0.0.1", server_->port()}; }

 private:
  const int status_;
  Mutex mu_;
  std::vector<serving::http::Responder> held_ ABSL_GUARDED_BY(mu_);
  std::unique_ptr<serving::http::HttpServer> server_;
};

client::Endpoint RefusingEndpoint() {
  auto probe = serving::http::HttpServer::Start({.port = 0}, [](auto, auto) {});
  const int port = (*probe)->port();
  (*probe)->Shutdown();
  return {"127.0.0.1", port};
}

// A synthetic scene on disk and a repository serving:
//   ref   replay detector of the scene's labels (service time `ref_ms`)
//   spec  replay classifier: 0.5 (unsure) on every third labeled frame, 1 otherwise
//   mean  ONNX classifier: mean intensity of the 50x50 crop
class RemoteCascadeTest : public ::testing::Test {
 protected:
  void SetUp() override { Build(/*ref_ms=*/0); }

  void Build(int ref_ms) {
    video::SynthOptions o;
    o.width = 160;
    o.height = 120;
    o.frames = 200;
    o.seed = 21;
    o.object_rate = 0.05;
    o.object_name = "person";
    auto synth = video::WriteSyntheticScene(o, dir_.File("scene"));
    ASSERT_TRUE(synth.ok()) << synth.status();
    video_ = synth->video_path;
    const std::string repo = dir_.File("repo");
    ASSERT_TRUE(testing::WriteUnsureReplayModels(
                    repo, synth->labels_path,
                    "{\"backend\": \"replay\", \"files\": {\"labels\": \"labels.csv\"}, "
                    "\"instance_count\": 2, \"replay\": {\"service_time_ms\": " +
                        std::to_string(ref_ms) + "}}")
                    .ok());
    fs::create_directories(repo + "/mean/1");
    WriteFile(repo + "/mean/1/model.onnx", models::testing::MeanIntensityClassifierOnnx(50, 50));
    WriteFile(repo + "/mean/config.json",
              R"({"backend": "opencv_dnn", "kind": "classifier", "max_batch_size": 16, "files": {"model": "model.onnx"}})");
    repo_ = repo;
  }

  CascadeConfig Config(const std::string& specialized = "") const {
    CascadeConfig c;
    c.object = "person";
    c.model_repository = repo_;
    c.diff.threshold = 2.0;
    c.reference.model = "ref";
    if (!specialized.empty()) {
      c.specialized.model = specialized;
      c.c_low = specialized == "mean" ? 0.40f : 0.2f;
      c.c_high = specialized == "mean" ? 0.45f : 0.9f;
    }
    return c;
  }

  std::unique_ptr<ModelStage> LocalStage(models::ModelSpec spec) const {
    spec.repository = repo_;
    auto model = models::LoadModel(spec);
    EXPECT_TRUE(model.ok()) << model.status();
    return model.ok() ? models::MakeLocalStage(*std::move(model)) : nullptr;
  }

  std::vector<FrameResult> RunLocal(const CascadeConfig& config, CascadeOptions options = {}) {
    std::unique_ptr<ModelStage> reference = LocalStage(config.reference);
    std::unique_ptr<ModelStage> specialized =
        config.specialized_enabled() ? LocalStage(config.specialized) : nullptr;
    auto cascade = cascade::Cascade::Create(config, options, {specialized.get(), reference.get()});
    EXPECT_TRUE(cascade.ok()) << cascade.status();
    if (!cascade.ok()) return {};
    auto source = video::OpenFrameSource({.uri = video_});
    EXPECT_TRUE(source.ok());
    std::vector<FrameResult> rows;
    auto summary = (*cascade)->Run(**source, [&](const FrameResult& r) {
      rows.push_back(r);
      return absl::OkStatus();
    });
    EXPECT_TRUE(summary.ok()) << summary.status();
    return rows;
  }

  // Short timeouts where a test injects failures (set before RunRemote);
  // generous ones otherwise, so that slow builds (TSan) do not time out.
  bool fast_failover_ = false;

  client::RemoteModelOptions Remote(const std::string& model) const {
    client::RemoteModelOptions o;
    o.model = model;
    o.attempt_timeout = std::chrono::milliseconds(fast_failover_ ? 500 : 20000);
    o.retry_backoff = std::chrono::milliseconds(1);
    o.retry_backoff_max = std::chrono::milliseconds(20);
    o.balancer.eject_base = std::chrono::milliseconds(50);
    o.balancer.eject_max = std::chrono::milliseconds(200);
    o.unavailable_patience = std::chrono::milliseconds(fast_failover_ ? 500 : 20000);
    return o;
  }

  struct Outcome {
    std::vector<FrameResult> rows;
    absl::Status status;
    RunReport report;
  };

  Outcome RunRemote(const CascadeConfig& config, std::vector<client::Endpoint> spec_endpoints,
                    std::vector<client::Endpoint> ref_endpoints,
                    client::WireFormat format = client::WireFormat::kKserveBinary,
                    CascadeOptions options = {},
                    const std::function<void(int64_t)>& after_row = {}) {
    Outcome out;
    std::unique_ptr<ModelStage> spec;
    if (config.specialized_enabled()) {
      auto s = client::ConnectRemoteStage(spec_endpoints, Remote(config.specialized.model), {.format = format});
      EXPECT_TRUE(s.ok()) << s.status();
      if (!s.ok()) return out;
      spec = *std::move(s);
    }
    // TF Serving metadata has no class names: the client supplies them.
    client::RemoteModelOptions ref_options = Remote("ref");
    if (format == client::WireFormat::kTfServing) ref_options.class_names = {"person"};
    auto ref = client::ConnectRemoteStage(ref_endpoints, ref_options, {.format = format});
    EXPECT_TRUE(ref.ok()) << ref.status();
    if (!ref.ok()) return out;
    auto cascade = cascade::Cascade::Create(config, options, {spec.get(), ref->get()});
    EXPECT_TRUE(cascade.ok()) << cascade.status();
    auto source = video::OpenFrameSource({.uri = video_});
    EXPECT_TRUE(source.ok());
    out.status = (*cascade)
                     ->Run(**source,
                           [&](const FrameResult& r) {
                             out.rows.push_back(r);
                             if (after_row) after_row(static_cast<int64_t>(out.rows.size()));
                             return absl::OkStatus();
                           })
                     .status();
    out.report = (*cascade)->report();
    return out;
  }

  static std::string Csv(const std::vector<FrameResult>& rows, bool audit_column = false) {
    std::string out;
    for (const FrameResult& r : rows) out += labels::FormatPredictionRow(r, audit_column) + "\n";
    return out;
  }

  ScratchDir dir_;
  std::string video_;
  std::string repo_;
};

TEST_F(RemoteCascadeTest, RemoteRowsEqualLocalRowsForEveryProtocol) {
  const CascadeConfig config = Config("spec");
  const std::string local = Csv(RunLocal(config));
  ASSERT_FALSE(local.empty());
  ASSERT_THAT(local, HasSubstr(",reference,"));
  ASSERT_THAT(local, HasSubstr(",specialized,"));
  auto a = StartServer(repo_);
  auto b = StartServer(repo_);
  for (client::WireFormat f : {client::WireFormat::kKserveBinary, client::WireFormat::kKserveJson,
                               client::WireFormat::kTfServing, client::WireFormat::kKserveGrpc}) {
    SCOPED_TRACE(std::string(client::WireFormatName(f)));
    CascadeOptions options;
    options.specialized_batching.max_batch = 4;
    // gRPC is served on each server's second port.
    auto at = [f](const emulation::ModelServer& s) {
      return f == client::WireFormat::kKserveGrpc ? s.grpc_endpoint() : s.endpoint();
    };
    Outcome out = RunRemote(config, {at(*a)}, {at(*a), at(*b)}, f, options);
    ASSERT_TRUE(out.status.ok()) << out.status;
    EXPECT_EQ(Csv(out.rows), local);
    ASSERT_EQ(out.report.stages.size(), 2u);
    const StageReport& ref = out.report.stages[1];
    EXPECT_GT(ref.requests, 0);
    EXPECT_GT(ref.bytes_sent, ref.requests * 160 * 120 * 3 - 1)
        << "raw payload: at least the frame's pixels per request";
    int64_t attempts = 0;
    for (const StageEndpointStats& e : ref.stats.endpoints) attempts += e.requests;
    EXPECT_EQ(attempts, ref.requests + ref.stats.retries);
  }
}

TEST_F(RemoteCascadeTest, RealOnnxSpecializedModelBatchedRemotelyEqualsLocal) {
  const CascadeConfig config = Config("mean");
  const std::vector<FrameResult> local_rows = RunLocal(config);
  const std::string local = Csv(local_rows);
  ASSERT_THAT(local, HasSubstr(",specialized,"));
  auto a = StartServer(repo_);
  CascadeOptions options;
  options.specialized_batching.max_batch = 8;
  options.specialized_batching.max_delay = std::chrono::milliseconds(2);
  Outcome out = RunRemote(config, {a->endpoint()}, {a->endpoint()},
                          client::WireFormat::kKserveBinary, options);
  ASSERT_TRUE(out.status.ok()) << out.status;
  EXPECT_EQ(Csv(out.rows), local);
}

TEST_F(RemoteCascadeTest, AuditSamplesTheSameFramesLocallyAndRemotely) {
  const CascadeConfig config = Config("spec");
  CascadeOptions options;
  options.audit.rate = 0.3;
  options.audit.seed = 5;
  const std::vector<FrameResult> local_rows = RunLocal(config, options);
  const std::string local = Csv(local_rows, /*audit_column=*/true);
  ASSERT_THAT(local, HasSubstr(",specialized,"));
  int audited = 0;
  for (const FrameResult& r : local_rows) audited += r.audited ? 1 : 0;
  EXPECT_GT(audited, 0);
  auto a = StartServer(repo_);
  Outcome out = RunRemote(config, {a->endpoint()}, {a->endpoint()},
                          client::WireFormat::kKserveBinary, options);
  ASSERT_TRUE(out.status.ok()) << out.status;
  EXPECT_EQ(Csv(out.rows, /*audit_column=*/true), local);
  // Without the audit, the same rows but for the flag.
  EXPECT_EQ(Csv(RunLocal(config)), Csv(local_rows));
}

TEST_F(RemoteCascadeTest, CompressedPayloadsReachTheServerAndShrinkTheBytes) {
  const CascadeConfig config = Config();
  const std::string local = Csv(RunLocal(config));
  auto a = StartServer(repo_);
  int64_t raw_bytes = 0;
  for (PayloadFormat p : {PayloadFormat::kRaw, PayloadFormat::kJpeg, PayloadFormat::kPng}) {
    SCOPED_TRACE(std::string(PayloadFormatName(p)));
    CascadeOptions options;
    options.reference_payload.format = p;
    Outcome out = RunRemote(config, {}, {a->endpoint()}, client::WireFormat::kKserveBinary, options);
    ASSERT_TRUE(out.status.ok()) << out.status;
    // The replay reference answers by frame index, so labels do not depend on pixels.
    EXPECT_EQ(Csv(out.rows), local);
    const int64_t bytes = out.report.stages[0].bytes_sent;
    if (p == PayloadFormat::kRaw) {
      raw_bytes = bytes;
    } else {
      EXPECT_LT(bytes, raw_bytes);
    }
  }
}

TEST_F(RemoteCascadeTest, RefusingFailingAndHangingEndpointsLoseNoFrame) {
  fast_failover_ = true;
  const CascadeConfig config = Config();
  const std::string local = Csv(RunLocal(config));
  auto good = StartServer(repo_);
  FaultyServer unavailable(503), hanging(0);
  Outcome out = RunRemote(config, {},
                          {RefusingEndpoint(), unavailable.endpoint(), hanging.endpoint(),
                           good->endpoint()});
  ASSERT_TRUE(out.status.ok()) << out.status;
  EXPECT_EQ(Csv(out.rows), local);
  const StageReport& ref = out.report.stages[0];
  EXPECT_GT(ref.stats.retries, 0);
  int64_t failures = 0;
  for (const StageEndpointStats& e : ref.stats.endpoints) {
    if (e.name != good->endpoint().ToString()) failures += e.failures;
  }
  EXPECT_GT(failures, 0);
}

TEST_F(RemoteCascadeTest, ServerKilledMidRunLosesNoFrame) {
  fast_failover_ = true;
  Build(/*ref_ms=*/3);
  CascadeConfig config = Config();
  config.diff_enabled = false;  // every frame goes to the reference: a long run
  const std::string local = Csv(RunLocal(config));
  auto a = StartServer(repo_);
  auto b = StartServer(repo_);
  std::thread killer;
  Outcome out = RunRemote(config, {}, {a->endpoint(), b->endpoint()},
                          client::WireFormat::kKserveBinary, {}, [&](int64_t rows) {
                            if (rows == 40) killer = std::thread([&] { b->Stop(); });
                          });
  if (killer.joinable()) killer.join();
  ASSERT_TRUE(out.status.ok()) << out.status;
  EXPECT_EQ(Csv(out.rows), local);
}

TEST_F(RemoteCascadeTest, EveryServerDownFailsNamingTheFirstUnlabeledFrame) {
  fast_failover_ = true;
  Build(/*ref_ms=*/3);
  CascadeConfig config = Config();
  config.diff_enabled = false;
  const std::vector<FrameResult> local = RunLocal(config);
  auto a = StartServer(repo_);
  std::thread killer;
  Outcome out = RunRemote(config, {}, {a->endpoint()}, client::WireFormat::kKserveBinary, {},
                          [&](int64_t rows) {
                            if (rows == 30) killer = std::thread([&] { a->Stop(); });
                          });
  if (killer.joinable()) killer.join();
  ASSERT_FALSE(out.status.ok());
  const size_t n = out.rows.size();
  ASSERT_GE(n, 30u);
  ASSERT_LT(n, local.size());
  EXPECT_THAT(out.status.message(),
              HasSubstr("reference stage failed on frame " + std::to_string(n)));
  EXPECT_THAT(out.status.message(), HasSubstr(std::to_string(n) + " rows written"));
  // What was written is the local run's prefix, in order.
  EXPECT_EQ(Csv(out.rows), Csv(std::vector<FrameResult>(local.begin(), local.begin() + n)));
}

TEST_F(RemoteCascadeTest, UnknownModelOrNoServerFailsBeforeTheRun) {
  auto a = StartServer(repo_);
  auto tf = client::ConnectRemoteStage({a->endpoint()}, Remote("ref"),
                            {.format = client::WireFormat::kTfServing});
  ASSERT_TRUE(tf.ok()) << tf.status();
  EXPECT_THAT(cascade::Cascade::Create(Config(), {}, {nullptr, tf->get()}).status().message(),
              HasSubstr("--reference-names"));
  auto missing = client::ConnectRemoteStage({a->endpoint()}, Remote("nope"));
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound) << missing.status();
  auto nobody = client::ConnectRemoteStage({RefusingEndpoint()}, Remote("ref"));
  EXPECT_EQ(nobody.status().code(), absl::StatusCode::kUnavailable) << nobody.status();
  EXPECT_THAT(client::ParseEndpointList("http://a:1, http://b:2").value().size(), 2u);
  EXPECT_THAT(client::ParseEndpointList("http://a:1,ftp://b").status().message(), HasSubstr("ftp://b"));
  EXPECT_FALSE(client::ParseEndpointList(" , ").ok());
}

// With ../shared/data: Yolo-Fastest as the reference on the person clip,
// served vs in-process.
TEST(RemoteCascadeSharedDataTest, PersonClipRemoteEqualsLocalWithYoloFastest) {
  DNS_REQUIRE_SHARED_DATA(video, "videos/one-by-one-person-detection.mp4");
  DNS_REQUIRE_SHARED_DATA(cfg, "models/yolo-fastest-1.1/yolo-fastest-1.1.cfg");
  DNS_REQUIRE_SHARED_DATA(weights, "models/yolo-fastest-1.1/yolo-fastest-1.1.weights");
  ScratchDir dir;
  const std::string repo = dir.File("repo");
  fs::create_directories(repo + "/yolo/1");
  fs::copy_file(cfg, repo + "/yolo/1/model.cfg");
  fs::copy_file(weights, repo + "/yolo/1/model.weights");
  WriteFile(repo + "/yolo/config.json",
            R"({"backend": "opencv_dnn", "files": {"model": "model.cfg", "weights": "model.weights"}})");
  CascadeConfig config;
  config.object = "person";
  config.model_repository = repo;
  config.reference.model = "yolo";
  config.diff.threshold = 20;
  const video::FrameSourceOptions source_options{.uri = video, .range = {0, 240}};

  auto local_model = models::LoadModel({.model = "yolo", .repository = repo});
  ASSERT_TRUE(local_model.ok()) << local_model.status();
  std::unique_ptr<ModelStage> local_stage = models::MakeLocalStage(*std::move(local_model));
  auto local = cascade::Cascade::Create(config, {}, {nullptr, local_stage.get()});
  ASSERT_TRUE(local.ok()) << local.status();
  std::string local_csv, remote_csv;
  auto source = video::OpenFrameSource(source_options);
  ASSERT_TRUE(source.ok()) << source.status();
  ASSERT_TRUE((*local)
                  ->Run(**source,
                        [&](const FrameResult& r) {
                          local_csv += labels::FormatPredictionRow(r) + "\n";
                          return absl::OkStatus();
                        })
                  .ok());
  ASSERT_THAT(local_csv, HasSubstr(",reference,"));

  auto server = StartServer(repo);
  client::RemoteModelOptions o;
  o.model = "yolo";
  auto stage = client::ConnectRemoteStage({server->endpoint()}, o);
  ASSERT_TRUE(stage.ok()) << stage.status();
  auto remote = cascade::Cascade::Create(config, {}, {nullptr, stage->get()});
  ASSERT_TRUE(remote.ok()) << remote.status();
  source = video::OpenFrameSource(source_options);
  ASSERT_TRUE(source.ok());
  auto summary = (*remote)->Run(**source, [&](const FrameResult& r) {
    remote_csv += labels::FormatPredictionRow(r) + "\n";
    return absl::OkStatus();
  });
  ASSERT_TRUE(summary.ok()) << summary.status();
  EXPECT_EQ(remote_csv, local_csv);
}

}  // namespace
}  // namespace dnoscope::cascade
