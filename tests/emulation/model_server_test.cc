// ModelServer and ReplayFleet: real servers in this process on 127.0.0.1,
// port 0, answering the project's own client; stopped servers refuse.
#include "emulation/model_server.h"

#include <filesystem>
#include <thread>

#include "client/remote_model.h"
#include "client/remote_stage.h"
#include "emulation/replay_fleet.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "labels/label_csv.h"
#include "models/backends/identity.h"
#include "testing/test_env.h"

namespace dnoscope::emulation {
namespace {

using ::dnoscope::testing::ScratchDir;
using ::dnoscope::testing::WriteFile;
using ::testing::ElementsAre;
namespace fs = std::filesystem;

// A repository with "echo" (identity FP32).
std::string EchoRepository(const ScratchDir& dir) {
  fs::create_directories(dir.File("repo/echo/1"));
  WriteFile(dir.File("repo/echo/config.json"), R"({"backend": "identity", "max_batch_size": 8})");
  return dir.File("repo");
}

absl::StatusOr<std::vector<Tensor>> Echo(const client::Endpoint& endpoint, float value) {
  client::RemoteModelOptions o;
  o.model = "echo";
  auto model = client::ConnectRemoteStage({endpoint}, o);
  if (!model.ok()) return model.status();
  return (*model)->Infer(
      {{Tensor::Fp32(models::kIdentityInput, {1, 2}, std::vector<float>{value, -value})}});
}

TEST(ModelServerTest, ServesTheRepositoryOnLoopbackAndCountsRequests) {
  ScratchDir dir;
  auto server = ModelServer::Start(EchoRepository(dir));
  ASSERT_TRUE(server.ok()) << server.status();
  EXPECT_EQ((*server)->endpoint().host, "127.0.0.1");
  EXPECT_GT((*server)->endpoint().port, 0);
  auto outputs = Echo((*server)->endpoint(), 1.5f);
  ASSERT_TRUE(outputs.ok()) << outputs.status();
  ASSERT_EQ(outputs->size(), 1u);
  EXPECT_THAT((*outputs)[0].Values<float>(), ElementsAre(1.5f, -1.5f));
  EXPECT_EQ((*server)->Counters("echo").request_success, 1u);
  EXPECT_EQ((*server)->Counters("unknown").request_success, 0u);
  EXPECT_TRUE((*server)->models().Find("echo").ok());
}

TEST(ModelServerTest, StoppedServerRefusesAndStopIsIdempotent) {
  ScratchDir dir;
  auto server = ModelServer::Start(EchoRepository(dir), {.drain_timeout = std::chrono::seconds(0)});
  ASSERT_TRUE(server.ok()) << server.status();
  const client::Endpoint endpoint = (*server)->endpoint();
  ASSERT_TRUE(Echo(endpoint, 1).ok());
  std::thread other([&] { (*server)->Stop(); });
  (*server)->Stop();
  other.join();
  EXPECT_EQ((*server)->endpoint(), endpoint);
  EXPECT_EQ(Echo(endpoint, 1).status().code(), absl::StatusCode::kUnavailable);
}

TEST(ModelServerTest, ModelThatDoesNotLoadFailsTheStart) {
  ScratchDir dir;
  fs::create_directories(dir.File("repo/bad/1"));
  WriteFile(dir.File("repo/bad/config.json"), R"({"backend": "no-such-backend"})");
  EXPECT_FALSE(ModelServer::Start(dir.File("repo")).ok());
  EXPECT_EQ(ModelServer::Start(dir.File("missing")).status().code(), absl::StatusCode::kNotFound);
}

TEST(ReplayFleetTest, EveryServerReplaysTheLabelsWithItsOwnServiceTime) {
  ScratchDir dir;
  const std::string labels = dir.File("labels.csv");
  const std::vector<labels::Detection> rows = {{3, "person", 0.9f, 1, 2, 30, 40}};
  ASSERT_TRUE(labels::WriteLabelCsv(labels, rows).ok());
  ReplayModelSpec spec{.name = "ref", .labels_file = labels};
  auto fleet = ReplayFleet::Start(dir.File("fleet"), spec, {0, 7});
  ASSERT_TRUE(fleet.ok()) << fleet.status();
  ASSERT_EQ((*fleet)->size(), 2u);
  const std::vector<client::Endpoint> endpoints = (*fleet)->endpoints();
  ASSERT_EQ(endpoints.size(), 2u);
  EXPECT_NE(endpoints[0], endpoints[1]);
  for (size_t i = 0; i < 2; ++i) {
    auto ref = (*fleet)->server(i).models().Find("ref");
    ASSERT_TRUE(ref.ok()) << ref.status();
    EXPECT_EQ((*ref)->config.replay.service_time_ms, i == 0 ? 0 : 7);
    client::RemoteModelOptions o;
    o.model = "ref";
    auto model = client::ConnectRemoteStage({endpoints[i]}, o);
    ASSERT_TRUE(model.ok()) << model.status();
    auto out = (*model)->Infer({{Tensor::Int64("frame_index", {1}, std::vector<int64_t>{3})}});
    ASSERT_TRUE(out.ok()) << out.status();
    EXPECT_EQ((*out)[0].shape, (std::vector<int64_t>{1, 6})) << "one detection of frame 3";
  }
}

}  // namespace
}  // namespace dnoscope::emulation
