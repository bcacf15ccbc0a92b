// End-to-end: the real `dnoscope serve` on 127.0.0.1 (port 0) with curl as
// an independent client, sending requests written from the public protocol
// documents (KServe v2 JSON and binary extension, TF Serving row, columnar
// and b64). Also: a flood past the queue bound gets 503s, and SIGTERM with
// requests in flight completes them.
#include <signal.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <sstream>
#include <thread>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "opencv2/imgcodecs.hpp"
#include "testing/onnx_builder.h"
#include "testing/server_process.h"
#include "testing/test_env.h"

namespace dnoscope {
namespace {

using ::dnoscope::testing::CommandResult;
using ::dnoscope::testing::ReadFileOrEmpty;
using ::dnoscope::testing::RunCommand;
using ::dnoscope::testing::ScratchDir;
using ::dnoscope::testing::ServerProcess;
using ::dnoscope::testing::WriteFile;
using ::testing::HasSubstr;
using Json = nlohmann::json;
namespace fs = std::filesystem;

void AddModel(const ScratchDir& dir, const std::string& name, const std::string& config) {
  fs::create_directories(dir.File("repo/" + name + "/1"));
  WriteFile(dir.File("repo/" + name + "/config.json"), config);
}

struct CurlResult {
  int status = 0;
  std::string body;
  std::string headers;
};

class ServeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (RunCommand("command -v curl").exit_code != 0) GTEST_SKIP() << "curl not installed";
    AddModel(dir_, "echo", R"({"backend": "identity", "max_batch_size": 16})");
    AddModel(dir_, "people", R"({"backend": "hog"})");
    AddModel(dir_, "ref", R"({"backend": "replay", "files": {"labels": "labels.csv"},
                             "replay": {"service_time_ms": 800}})");
    WriteFile(dir_.File("repo/ref/1/labels.csv"),
              "frame,object_name,confidence,xmin,ymin,xmax,ymax\n3,car,0.8,1,2,3,4\n");
    AddModel(dir_, "cnn",
             R"({"backend": "opencv_dnn", "kind": "classifier", "files": {"model": "m.onnx"},
                 "max_batch_size": 8, "dynamic_batching": {"max_queue_delay_us": 2000}})");
    WriteFile(dir_.File("repo/cnn/1/m.onnx"), models::testing::MeanIntensityClassifierOnnx(50, 50));
  }

  void StartServer(std::vector<std::string> args = {}) {
    ASSERT_TRUE(server_.Start(dir_.File("repo"), args, dir_.File("server.log")))
        << server_.error();
  }

  // curl with `args` against `path`; body from stdout, status from -w.
  CurlResult Curl(const std::string& args, const std::string& path) {
    const std::string body = dir_.File("body" + std::to_string(calls_));
    const std::string headers = dir_.File("headers" + std::to_string(calls_++));
    CommandResult r = RunCommand("curl -s --max-time 60 -o " + body + " -D " + headers +
                                 " -w '%{http_code}' " + args + " '" + server_.url() + path + "'");
    CurlResult out;
    out.status = std::atoi(r.output.c_str());
    out.body = ReadFileOrEmpty(body);
    out.headers = ReadFileOrEmpty(headers);
    return out;
  }

  CurlResult PostJson(const std::string& path, const std::string& json) {
    const std::string file = dir_.File("request" + std::to_string(calls_) + ".json");
    WriteFile(file, json);
    return Curl("-H 'Content-Type: application/json' --data-binary @" + file, path);
  }

  ScratchDir dir_;
  ServerProcess server_;
  int calls_ = 0;
};

TEST_F(ServeTest, HealthMetadataAndKserveJsonInferWithCurl) {
  StartServer();
  EXPECT_EQ(Curl("", "/v2/health/live").status, 200);
  EXPECT_EQ(Curl("", "/v2/health/ready").status, 200);
  CurlResult meta = Curl("", "/v2/models/echo");
  ASSERT_EQ(meta.status, 200);
  EXPECT_EQ(Json::parse(meta.body)["inputs"][0]["name"], "INPUT0");
  CurlResult r = PostJson("/v2/models/echo/infer",
                          R"({"id": "42", "inputs": [{"name": "INPUT0", "shape": [1, 3],
                              "datatype": "FP32", "data": [1.5, 2, -3]}]})");
  ASSERT_EQ(r.status, 200) << r.body;
  Json j = Json::parse(r.body);
  EXPECT_EQ(j["id"], "42");
  EXPECT_EQ(j["model_name"], "echo");
  EXPECT_EQ(j["outputs"][0]["data"], Json::parse("[1.5, 2.0, -3.0]"));
  CurlResult bad = PostJson("/v2/models/echo/infer", R"({"inputs": [{"name": "INPUT0"}]})");
  EXPECT_EQ(bad.status, 400);
  EXPECT_TRUE(Json::parse(bad.body).contains("error"));
  EXPECT_EQ(Curl("", "/v2/models/nope").status, 404);
}

TEST_F(ServeTest, KserveBinaryExtensionWithCurl) {
  StartServer();
  // 2 images of 50x50x3: all 0 then all 255, as raw bytes after the JSON.
  const std::string json =
      R"({"inputs": [{"name": "images", "shape": [2, 50, 50, 3], "datatype": "UINT8",
          "parameters": {"binary_data_size": 15000}}],
          "outputs": [{"name": "confidence", "parameters": {"binary_data": true}}]})";
  std::string body = json + std::string(7500, '\0') + std::string(7500, '\xff');
  WriteFile(dir_.File("binary.bin"), body);
  CurlResult r = Curl("-H 'Content-Type: application/octet-stream' -H "
                      "'Inference-Header-Content-Length: " +
                          std::to_string(json.size()) + "' --data-binary @" +
                          dir_.File("binary.bin"),
                      "/v2/models/cnn/infer");
  ASSERT_EQ(r.status, 200) << r.body;
  const size_t pos = r.headers.find("Inference-Header-Content-Length: ");
  ASSERT_NE(pos, std::string::npos) << r.headers;
  const size_t json_length = std::stoul(r.headers.substr(pos + 33));
  Json header = Json::parse(r.body.substr(0, json_length));
  EXPECT_EQ(header["outputs"][0]["parameters"]["binary_data_size"], 8);
  ASSERT_EQ(r.body.size(), json_length + 8);
  float confidences[2];
  std::memcpy(confidences, r.body.data() + json_length, 8);
  EXPECT_NEAR(confidences[0], 0.0f, 1e-4);
  EXPECT_NEAR(confidences[1], 1.0f, 1e-4);
}

TEST_F(ServeTest, TfServingRowColumnarAndB64WithCurl) {
  StartServer();
  CurlResult status = Curl("", "/v1/models/echo");
  ASSERT_EQ(status.status, 200);
  EXPECT_EQ(Json::parse(status.body)["model_version_status"][0]["state"], "AVAILABLE");
  EXPECT_EQ(Curl("", "/v1/models/echo/metadata").status, 200);
  CurlResult row = PostJson("/v1/models/echo:predict", R"({"instances": [[1, 2], [3, 4]]})");
  ASSERT_EQ(row.status, 200) << row.body;
  EXPECT_EQ(Json::parse(row.body)["predictions"], Json::parse("[[1.0, 2.0], [3.0, 4.0]]"));
  CurlResult columnar = PostJson("/v1/models/echo:predict", R"({"inputs": [[5, 6]]})");
  ASSERT_EQ(columnar.status, 200) << columnar.body;
  EXPECT_EQ(Json::parse(columnar.body)["outputs"], Json::parse("[[5.0, 6.0]]"));
  // A JPEG for the HOG detector, base64 in the row format.
  std::vector<uint8_t> jpeg;
  ASSERT_TRUE(cv::imencode(".jpg", cv::Mat(128, 64, CV_8UC3, cv::Scalar(90, 90, 90)), jpeg));
  WriteFile(dir_.File("frame.jpg"), std::string(jpeg.begin(), jpeg.end()));
  CommandResult b64 = RunCommand("base64 -w0 " + dir_.File("frame.jpg"));
  ASSERT_EQ(b64.exit_code, 0);
  CurlResult hog = PostJson("/v1/models/people:predict",
                            R"({"instances": [{"image": {"b64": ")" + b64.output + R"("}}]})");
  ASSERT_EQ(hog.status, 200) << hog.body;
  EXPECT_EQ(Json::parse(hog.body)["predictions"].size(), 1u);
  CurlResult garbage = PostJson("/v1/models/people:predict",
                                R"({"instances": [{"image": {"b64": "@@@"}}]})");
  EXPECT_EQ(garbage.status, 400);
}

TEST_F(ServeTest, RepositoryPollSwapsVersionsAndGzipBodiesWork) {
  StartServer({"--repository-poll-s", "0.2"});
  fs::create_directories(dir_.File("repo/echo/2"));
  fs::remove_all(dir_.File("repo/echo/1"));
  // Wait (bounded) for a poll to load version 2 and unload version 1.
  Json index;
  for (int i = 0; i < 600; ++i) {
    index = Json::parse(Curl("-X POST", "/v2/repository/index").body, nullptr, false);
    bool v2 = false, v1 = false;
    for (const Json& row : index) {
      if (row.value("name", "") != "echo") continue;
      v1 |= row.value("version", "") == "1";
      v2 |= row.value("version", "") == "2" && row.value("state", "") == "READY";
    }
    if (v2 && !v1) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  const std::string plain = dir_.File("infer.json");
  WriteFile(plain, R"({"inputs": [{"name": "INPUT0", "datatype": "FP32", "shape": [1, 2],
                       "data": [1, 2]}]})");
  ASSERT_EQ(RunCommand("gzip -k " + plain).exit_code, 0);
  CurlResult r = Curl("-H 'Content-Encoding: gzip' --compressed --data-binary @" + plain + ".gz",
                      "/v2/models/echo/infer");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_THAT(r.headers, HasSubstr("Content-Encoding: gzip"));
  EXPECT_EQ(Json::parse(r.body)["model_version"], "2");
  CurlResult stats = Curl("", "/v2/models/echo/stats");
  ASSERT_EQ(stats.status, 200) << stats.body;
  EXPECT_EQ(Json::parse(stats.body)["model_stats"][0]["inference_stats"]["success"]["count"], 1);
  EXPECT_THAT(ReadFileOrEmpty(dir_.File("server.log")),
              HasSubstr("model 'echo' version 1 unloaded"));
}

TEST_F(ServeTest, FloodPastTheQueueBoundGets503sAndTheServerStaysUp) {
  StartServer({"--max-queue", "2"});
  const std::string file = dir_.File("replay.json");
  WriteFile(file, R"({"inputs": [{"name": "frame_index", "shape": [1], "datatype": "INT64",
                      "data": [3]}]})");
  // 12 concurrent requests against one instance with 800 ms per request and
  // room for 2 in the queue.
  std::string script;
  for (int i = 0; i < 12; ++i) {
    script += "curl -s -o /dev/null -w '%{http_code}\\n' --max-time 60 --data-binary @" + file +
              " " + server_.url() + "/v2/models/ref/infer & ";
  }
  CommandResult r = RunCommand(script + "wait");
  int n200 = 0, n503 = 0, other = 0;
  std::istringstream lines(r.output);
  for (std::string line; std::getline(lines, line);) {
    if (line == "200") ++n200;
    else if (line == "503") ++n503;
    else ++other;
  }
  EXPECT_EQ(n200 + n503, 12) << r.output;
  EXPECT_EQ(other, 0) << r.output;
  EXPECT_GE(n200, 1);
  EXPECT_GE(n503, 1);
  EXPECT_EQ(Curl("", "/v2/health/live").status, 200);
  CurlResult metrics = Curl("", "/metrics");
  EXPECT_THAT(metrics.body,
              HasSubstr("nv_inference_request_success{model=\"ref\",version=\"1\"} " +
                        std::to_string(n200)));
}

TEST_F(ServeTest, SigtermCompletesRequestsInFlight) {
  StartServer();
  const std::string file = dir_.File("replay.json");
  WriteFile(file, R"({"inputs": [{"name": "frame_index", "shape": [1], "datatype": "INT64",
                      "data": [3]}]})");
  std::string script = "(";
  for (int i = 0; i < 3; ++i) {
    script += "curl -s -o /dev/null -w '%{http_code}\\n' --max-time 60 --data-binary @" + file +
              " " + server_.url() + "/v2/models/ref/infer & ";
  }
  script += "wait)";
  // The curls run in the foreground of this thread: joining it is the signal
  // that every response arrived (or curl gave up).
  CommandResult curls;
  std::jthread client([&] { curls = RunCommand(script); });
  // Wait until the server holds the requests (pending gauge), then SIGTERM.
  // The server is another process and its gauge is only observable by asking
  // it, so this keeps a bounded poll of /metrics (no assert on its timing).
  bool pending = false;
  for (int i = 0; i < 500 && !pending; ++i) {
    CurlResult m = Curl("", "/metrics");
    pending = m.body.find("nv_inference_pending_request_count{model=\"ref\",version=\"1\"} 3") !=
              std::string::npos;
    if (!pending) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ASSERT_TRUE(pending) << "the 3 requests never reached the server";
  EXPECT_EQ(server_.Stop(SIGTERM), 0) << ReadFileOrEmpty(dir_.File("server.log"));
  client.join();
  EXPECT_EQ(curls.output, "200\n200\n200\n");
  EXPECT_THAT(ReadFileOrEmpty(dir_.File("server.log")), HasSubstr("draining"));
}

}  // namespace
}  // namespace dnoscope
