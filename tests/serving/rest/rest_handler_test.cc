// RestHandler without sockets: every endpoint and error path of the KServe v2
// and TF Serving REST APIs through the InferenceService, against a real model
// manager over a scratch repository (identity, HOG, replay, a tiny ONNX
// classifier, a broken model). The schedulers wait on a FakeClock, so a
// request queued behind a batching delay stays queued until a test advances it.
#include "serving/rest/rest_handler.h"

#include <chrono>
#include <filesystem>
#include <future>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "opencv2/imgcodecs.hpp"
#include "protocol/base64.h"
#include "protocol/kserve.h"
#include "serving/http/content_coding.h"
#include "testing/fake_clock.h"
#include "testing/onnx_builder.h"
#include "testing/test_env.h"

namespace dnoscope::serving::rest {
namespace {

using ::dnoscope::testing::FakeClock;
using ::dnoscope::testing::ScratchDir;
using ::dnoscope::testing::WriteFile;
using ::testing::HasSubstr;
using Json = nlohmann::json;
namespace fs = std::filesystem;

void AddModel(const ScratchDir& dir, const std::string& name, const std::string& config,
              std::vector<int> versions) {
  fs::create_directories(dir.File(name));
  WriteFile(dir.File(name + "/config.json"), config);
  for (int v : versions) fs::create_directories(dir.File(name + "/" + std::to_string(v)));
}

// echo (identity FP32, batch 8), held (echo whose partial batches wait a
// minute for company), blob (identity BYTES, batch 4), people (HOG, versions
// 1 and 2, policy all), ref (replay, 300 ms per request), cnn (ONNX mean intensity
// classifier), broken (bad config).
void WriteRepository(const ScratchDir& dir) {
  AddModel(dir, "echo", R"({"backend": "identity", "max_batch_size": 8})", {1});
  AddModel(dir, "held",
           R"({"backend": "identity", "max_batch_size": 8,
               "dynamic_batching": {"max_queue_delay_us": 60000000}})",
           {1});
  AddModel(dir, "blob",
           R"({"backend": "identity", "max_batch_size": 4, "identity": {"datatype": "BYTES"}})",
           {1});
  AddModel(dir, "people", R"({"backend": "hog", "version_policy": {"all": {}}})", {1, 2});
  AddModel(dir, "ref",
           R"({"backend": "replay", "files": {"labels": "labels.csv"},
               "replay": {"service_time_ms": 300}})",
           {1});
  WriteFile(dir.File("ref/1/labels.csv"),
            "frame,object_name,confidence,xmin,ymin,xmax,ymax\n5,person,0.9,10,20,30,40\n");
  AddModel(dir, "cnn",
           R"({"backend": "opencv_dnn", "kind": "classifier", "files": {"model": "m.onnx"}})",
           {1});
  WriteFile(dir.File("cnn/1/m.onnx"), models::testing::MeanIntensityClassifierOnnx(50, 50));
  AddModel(dir, "broken", R"({"backend": "hog", "unknown_key": 1})", {1});
}

class RestHandlerTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new ScratchDir();
    WriteRepository(*dir_);
  }
  static void TearDownTestSuite() {
    delete dir_;
    dir_ = nullptr;
  }

  void SetUp() override { Start({}, {}); }

  void Start(ModelManagerOptions manager_options, RestOptions options) {
    handler_.reset();
    manager_.reset();
    service_.reset();
    metrics_ = std::make_unique<MetricsRegistry>();
    auto manager = ModelManager::Create(dir_->path(), manager_options, metrics_.get(), &clock_);
    ASSERT_TRUE(manager.ok()) << manager.status();
    manager_ = std::move(*manager);
    auto service = InferenceService::Create({}, manager_.get());
    ASSERT_TRUE(service.ok()) << service.status();
    service_ = std::move(*service);
    handler_ = std::make_unique<RestHandler>(service_.get(), options);
  }

  // Hands the request to the handler; waits (bounded) for its response.
  std::future<http::HttpResponse> CallAsync(std::string method, std::string target,
                                            std::string body = "",
                                            std::vector<std::pair<std::string, std::string>> headers = {}) {
    auto promise = std::make_shared<std::promise<http::HttpResponse>>();
    std::future<http::HttpResponse> future = promise->get_future();
    http::HttpRequest request{std::move(method), std::move(target), std::move(headers),
                              std::move(body)};
    handler_->Handle(std::move(request),
                     [promise](http::HttpResponse r) { promise->set_value(std::move(r)); });
    return future;
  }

  http::HttpResponse Call(std::string method, std::string target, std::string body = "",
                          std::vector<std::pair<std::string, std::string>> headers = {}) {
    std::future<http::HttpResponse> f =
        CallAsync(std::move(method), std::move(target), std::move(body), std::move(headers));
    if (f.wait_for(std::chrono::seconds(60)) != std::future_status::ready) {
      ADD_FAILURE() << "no response within 60 s";
      return {};
    }
    return f.get();
  }

  static std::string ErrorOf(const http::HttpResponse& r) {
    auto message = protocol::DecodeError(r.body);
    return message.ok() ? *message : "<not an error body: " + r.body + ">";
  }

  static ScratchDir* dir_;
  FakeClock clock_;
  std::unique_ptr<MetricsRegistry> metrics_;
  std::unique_ptr<ModelManager> manager_;
  std::unique_ptr<InferenceService> service_;
  std::unique_ptr<RestHandler> handler_;
};

ScratchDir* RestHandlerTest::dir_ = nullptr;

constexpr char kEchoRequest[] =
    R"({"id": "r1", "inputs": [{"name": "INPUT0", "datatype": "FP32", "shape": [2, 3],
        "data": [[1, 2, 3], [4, 5, 6.5]]}]})";

// ---- health and metadata ----

TEST_F(RestHandlerTest, LiveIsOkAndStrictReadinessFailsWhileAModelIsBroken) {
  EXPECT_EQ(Call("GET", "/v2/health/live").status, 200);
  EXPECT_EQ(Call("GET", "/v2/health/ready").status, 503);
  Start({.strict_readiness = false}, {});
  EXPECT_EQ(Call("GET", "/v2/health/ready").status, 200);
}

TEST_F(RestHandlerTest, ServerMetadataNamesTheBinaryExtension) {
  http::HttpResponse r = Call("GET", "/v2");
  ASSERT_EQ(r.status, 200);
  auto metadata = protocol::DecodeServerMetadata(r.body);
  ASSERT_TRUE(metadata.ok()) << metadata.status();
  EXPECT_EQ(metadata->name, "dnoscope");
  EXPECT_THAT(metadata->extensions, ::testing::Contains("binary_tensor_data"));
}

TEST_F(RestHandlerTest, ModelMetadataDescribesTensorsAndVersions) {
  http::HttpResponse r = Call("GET", "/v2/models/people");
  ASSERT_EQ(r.status, 200) << r.body;
  auto m = protocol::DecodeModelMetadata(r.body);
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_EQ(m->versions, (std::vector<std::string>{"1", "2"}));
  ASSERT_EQ(m->inputs.size(), 2u);
  EXPECT_EQ(m->inputs[0].name, "image");
  EXPECT_EQ(m->inputs[0].datatype, DataType::kUint8);
  EXPECT_EQ(m->outputs[0].name, "detections");
  EXPECT_EQ(m->class_names, (std::vector<std::string>{"person"}));
  EXPECT_EQ(Call("GET", "/v2/models/people/versions/1").status, 200);
  http::HttpResponse cnn = Call("GET", "/v2/models/cnn");
  auto c = protocol::DecodeModelMetadata(cnn.body);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->inputs[0].shape, (std::vector<int64_t>{-1, 50, 50, 3}));
}

TEST_F(RestHandlerTest, BrokenModelIsUnavailableWithItsReason) {
  http::HttpResponse r = Call("GET", "/v2/models/broken");
  ASSERT_EQ(r.status, 200);
  Json j = Json::parse(r.body);
  EXPECT_EQ(j["state"], "UNAVAILABLE");
  EXPECT_THAT(j["reason"].get<std::string>(), HasSubstr("unknown_key"));
  http::HttpResponse ready = Call("GET", "/v2/models/broken/ready");
  EXPECT_EQ(ready.status, 503);
  EXPECT_THAT(ErrorOf(ready), HasSubstr("unknown_key"));
  http::HttpResponse infer = Call("POST", "/v2/models/broken/infer", kEchoRequest);
  EXPECT_EQ(infer.status, 503);
}

TEST_F(RestHandlerTest, ModelReadyAndConfig) {
  EXPECT_EQ(Call("GET", "/v2/models/echo/ready").status, 200);
  EXPECT_EQ(Call("GET", "/v2/models/echo/versions/1/ready").status, 200);
  http::HttpResponse config = Call("GET", "/v2/models/echo/config");
  ASSERT_EQ(config.status, 200);
  EXPECT_EQ(Json::parse(config.body)["backend"], "identity");
  EXPECT_EQ(Json::parse(config.body)["max_batch_size"], 8);
}

TEST_F(RestHandlerTest, UnknownModelVersionAndRouteAreNotFound) {
  http::HttpResponse model = Call("GET", "/v2/models/nope");
  EXPECT_EQ(model.status, 404);
  EXPECT_THAT(ErrorOf(model), HasSubstr("unknown model 'nope'"));
  EXPECT_THAT(ErrorOf(model), HasSubstr("echo"));
  http::HttpResponse version = Call("POST", "/v2/models/echo/versions/7/infer", kEchoRequest);
  EXPECT_EQ(version.status, 404);
  EXPECT_THAT(ErrorOf(version), HasSubstr("no version 7"));
  EXPECT_EQ(Call("GET", "/v2/models/echo/versions/x").status, 400);
  http::HttpResponse route = Call("GET", "/v3/whatever");
  EXPECT_EQ(route.status, 404);
  EXPECT_THAT(ErrorOf(route), HasSubstr("/v3/whatever"));
  EXPECT_EQ(Call("GET", "/v2/models/echo/infer").status, 405);
  EXPECT_EQ(Call("POST", "/v2/health/live").status, 405);
  EXPECT_EQ(Call("GET", "/v1/models/echo:classify").status, 404);
}

// ---- KServe infer ----

TEST_F(RestHandlerTest, JsonInferReturnsTheTensorAndTheRequestId) {
  http::HttpResponse r = Call("POST", "/v2/models/echo/infer", kEchoRequest);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.content_type, "application/json");
  auto response = protocol::DecodeInferResponse(r.body, std::nullopt);
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(response->model_name, "echo");
  EXPECT_EQ(response->model_version, "1");
  EXPECT_EQ(response->id, "r1");
  ASSERT_EQ(response->outputs.size(), 1u);
  EXPECT_EQ(response->outputs[0].name, "OUTPUT0");
  EXPECT_EQ(response->outputs[0].shape, (std::vector<int64_t>{2, 3}));
  std::span<const float> v = response->outputs[0].Values<float>();
  EXPECT_EQ(std::vector<float>(v.begin(), v.end()), (std::vector<float>{1, 2, 3, 4, 5, 6.5f}));
}

TEST_F(RestHandlerTest, BinaryInferRoundTripsFp32AndBytes) {
  const std::vector<float> values = {0.5f, -1.25f, 3e7f, 7};
  protocol::InferRequest request;
  request.inputs.push_back(Tensor::Fp32("INPUT0", {1, 4}, values));
  request.binary_data_output = true;
  auto encoded = protocol::EncodeInferRequest(request, /*binary_inputs=*/true);
  ASSERT_TRUE(encoded.ok() && encoded->json_length);
  http::HttpResponse r =
      Call("POST", "/v2/models/echo/infer", encoded->body,
           {{"inference-header-content-length", std::to_string(*encoded->json_length)}});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.content_type, "application/octet-stream");
  ASSERT_EQ(r.headers.size(), 1u);
  EXPECT_EQ(r.headers[0].first, "Inference-Header-Content-Length");
  auto response = protocol::DecodeInferResponse(r.body, std::stoul(r.headers[0].second));
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(response->outputs[0].data, request.inputs[0].data);

  protocol::InferRequest bytes;
  bytes.inputs.push_back(Tensor{"INPUT0", DataType::kBytes, {2, 1}, {}, {"ab", std::string("\0z", 2)}});
  auto encoded_bytes = protocol::EncodeInferRequest(bytes, true);
  ASSERT_TRUE(encoded_bytes.ok());
  http::HttpResponse rb =
      Call("POST", "/v2/models/blob/infer", encoded_bytes->body,
           {{"inference-header-content-length", std::to_string(*encoded_bytes->json_length)}});
  ASSERT_EQ(rb.status, 200) << rb.body;
  auto decoded = protocol::DecodeInferResponse(rb.body, std::nullopt);
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_EQ(decoded->outputs[0].bytes, bytes.inputs[0].bytes);
}

TEST_F(RestHandlerTest, ClassifierScoresABatchOfImages) {
  std::vector<uint8_t> pixels(2 * 50 * 50 * 3, 0);
  std::fill(pixels.begin() + pixels.size() / 2, pixels.end(), 255);
  protocol::InferRequest request;
  request.inputs.push_back(Tensor::Uint8("images", {2, 50, 50, 3}, pixels.data(), pixels.size()));
  auto encoded = protocol::EncodeInferRequest(request, true);
  ASSERT_TRUE(encoded.ok());
  http::HttpResponse r =
      Call("POST", "/v2/models/cnn/infer", encoded->body,
           {{"inference-header-content-length", std::to_string(*encoded->json_length)}});
  ASSERT_EQ(r.status, 200) << r.body;
  auto response = protocol::DecodeInferResponse(r.body, std::nullopt);
  ASSERT_TRUE(response.ok()) << response.status();
  ASSERT_EQ(response->outputs[0].shape, (std::vector<int64_t>{2, 1}));
  EXPECT_NEAR(response->outputs[0].Values<float>()[0], 0.0f, 1e-4);
  EXPECT_NEAR(response->outputs[0].Values<float>()[1], 1.0f, 1e-4);
}

TEST_F(RestHandlerTest, DetectorDecodesAJpegAndReplayAnswersByFrameIndex) {
  std::vector<uint8_t> jpeg;
  ASSERT_TRUE(cv::imencode(".jpg", cv::Mat(96, 64, CV_8UC3, cv::Scalar(10, 20, 30)), jpeg));
  protocol::InferRequest request;
  request.inputs.push_back(
      Tensor{"image", DataType::kBytes, {1}, {}, {std::string(jpeg.begin(), jpeg.end())}});
  // Arbitrary bytes need the binary extension (JSON strings must be UTF-8).
  auto encoded = protocol::EncodeInferRequest(request, true);
  ASSERT_TRUE(encoded.ok());
  http::HttpResponse r =
      Call("POST", "/v2/models/people/infer", encoded->body,
           {{"inference-header-content-length", std::to_string(*encoded->json_length)}});
  ASSERT_EQ(r.status, 200) << r.body;
  auto response = protocol::DecodeInferResponse(r.body, std::nullopt);
  ASSERT_TRUE(response.ok());
  EXPECT_EQ(response->outputs[0].shape, (std::vector<int64_t>{0, 6}));

  http::HttpResponse replay = Call("POST", "/v2/models/ref/infer",
                                   R"({"inputs": [{"name": "frame_index", "datatype": "INT64",
                                       "shape": [1], "data": [5]}]})");
  ASSERT_EQ(replay.status, 200) << replay.body;
  Json j = Json::parse(replay.body);
  EXPECT_EQ(j["outputs"][0]["shape"], Json::array({1, 6}));
  EXPECT_EQ(j["outputs"][0]["data"][2], 10.0);
}

constexpr char kBinaryWithoutBytes[] =
    R"({"inputs": [{"name": "INPUT0", "datatype": "FP32", "shape": [1, 2],
        "parameters": {"binary_data_size": 8}}]})";

struct BadRequestCase {
  std::string name;
  std::string target;
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
  int status;
  std::string message;
};

class RestHandlerBadRequestTest : public RestHandlerTest,
                                  public ::testing::WithParamInterface<BadRequestCase> {};

TEST_P(RestHandlerBadRequestTest, AnswersWithTheRightCodeAndAReadableMessage) {
  const BadRequestCase& c = GetParam();
  http::HttpResponse r = Call("POST", c.target, c.body, c.headers);
  EXPECT_EQ(r.status, c.status) << r.body;
  EXPECT_THAT(ErrorOf(r), HasSubstr(c.message));
}

INSTANTIATE_TEST_SUITE_P(
    Errors, RestHandlerBadRequestTest,
    ::testing::Values(
        BadRequestCase{"MalformedJson", "/v2/models/echo/infer", R"({"inputs": [)", {}, 400,
                       "JSON"},
        BadRequestCase{"WrongDatatype", "/v2/models/echo/infer",
                       R"({"inputs": [{"name": "INPUT0", "datatype": "INT32", "shape": [1, 1],
                           "data": [1]}]})",
                       {}, 400, "must be FP32"},
        BadRequestCase{"ShapeDataMismatch", "/v2/models/echo/infer",
                       R"({"inputs": [{"name": "INPUT0", "datatype": "FP32", "shape": [1, 3],
                           "data": [1, 2]}]})",
                       {}, 400, "INPUT0"},
        BadRequestCase{"UnknownInput", "/v2/models/echo/infer",
                       R"({"inputs": [{"name": "X", "datatype": "FP32", "shape": [1, 1],
                           "data": [1]}]})",
                       {}, 400, "has no input 'X'"},
        BadRequestCase{"MissingInput", "/v2/models/ref/infer", R"({"inputs": []})", {}, 400,
                       "needs input 'frame_index'"},
        BadRequestCase{"BatchTooLarge", "/v2/models/cnn/infer",
                       R"({"inputs": [{"name": "images", "datatype": "UINT8", "shape": [65, 50, 50, 3],
                           "parameters": {"binary_data_size": 487500}}]})",
                       {}, 400, ""},
        BadRequestCase{"UnknownOutput", "/v2/models/echo/infer",
                       R"({"inputs": [{"name": "INPUT0", "datatype": "FP32", "shape": [1, 1],
                           "data": [1]}], "outputs": [{"name": "NOPE"}]})",
                       {}, 400, "has no output 'NOPE'"},
        BadRequestCase{"WrongImageShape", "/v2/models/people/infer",
                       R"({"inputs": [{"name": "image", "datatype": "UINT8", "shape": [2, 2],
                           "data": [1, 2, 3, 4]}]})",
                       {}, 400, "must have shape [-1,-1,3]"},
        BadRequestCase{"HeaderLengthNotANumber", "/v2/models/echo/infer", kEchoRequest,
                       {{"inference-header-content-length", "12x"}}, 400,
                       "Inference-Header-Content-Length"},
        BadRequestCase{"HeaderLengthPastTheBody", "/v2/models/echo/infer", kEchoRequest,
                       {{"inference-header-content-length", "100000"}}, 400,
                       "Inference-Header-Content-Length"},
        BadRequestCase{"BinarySizeWithoutBytes", "/v2/models/echo/infer", kBinaryWithoutBytes,
                       {{"inference-header-content-length",
                         std::to_string(std::string_view(kBinaryWithoutBytes).size())}},
                       400, ""},
        BadRequestCase{"TimeoutNotAnInteger", "/v2/models/echo/infer",
                       R"({"parameters": {"timeout": "soon"}, "inputs": [{"name": "INPUT0",
                           "datatype": "FP32", "shape": [1, 1], "data": [1]}]})",
                       {}, 400, "parameter 'timeout'"},
        BadRequestCase{"BadBase64", "/v1/models/blob:predict",
                       R"({"instances": [[{"b64": "!!!"}]]})", {}, 400, "base64"},
        BadRequestCase{"TfUnknownModel", "/v1/models/nope:predict", R"({"instances": [1]})", {},
                       404, "unknown model"},
        BadRequestCase{"TfRaggedInstances", "/v1/models/echo:predict",
                       R"({"instances": [[1, 2], [3]]})", {}, 400, ""},
        BadRequestCase{"TfTwoInstancesForAnUnbatchedModel", "/v1/models/people:predict",
                       R"({"instances": [{"image": {"b64": "AAAA"}}, {"image": {"b64": "AAAA"}}]})",
                       {}, 400, "one instance per request"}),
    [](const ::testing::TestParamInfo<BadRequestCase>& info) { return info.param.name; });

TEST_F(RestHandlerTest, BodyOverTheLimitIs413) {
  Start({}, {.max_body_bytes = 64});
  http::HttpResponse r = Call("POST", "/v2/models/echo/infer", kEchoRequest);
  EXPECT_EQ(r.status, 413);
  EXPECT_THAT(ErrorOf(r), HasSubstr("exceeds the limit of 64 bytes"));
}

TEST_F(RestHandlerTest, FullQueueIs503AtOnceAndTheQueuedRequestCompletes) {
  Start({.max_queue_size = 1}, {});
  // "held" keeps the first request queued (a partial batch waiting for company).
  std::future<http::HttpResponse> queued = CallAsync("POST", "/v2/models/held/infer", kEchoRequest);
  for (int i = 0; i < 3; ++i) {
    std::future<http::HttpResponse> refused =
        CallAsync("POST", "/v2/models/held/infer", kEchoRequest);
    // Answered before Handle returned.
    ASSERT_EQ(refused.wait_for(std::chrono::seconds(0)), std::future_status::ready);
    http::HttpResponse r = refused.get();
    EXPECT_EQ(r.status, 503) << r.body;
    EXPECT_THAT(ErrorOf(r), HasSubstr("queue"));
  }
  EXPECT_NE(queued.wait_for(std::chrono::seconds(0)), std::future_status::ready);
  ASSERT_TRUE(clock_.BlockUntilWaiters(1));
  clock_.Advance(std::chrono::minutes(1));
  ASSERT_EQ(queued.wait_for(std::chrono::seconds(60)), std::future_status::ready);
  EXPECT_EQ(queued.get().status, 200);
}

TEST_F(RestHandlerTest, RequestPastItsTimeoutWhileQueuedIs504) {
  const std::string hurried = R"({"parameters": {"timeout": 1000},
      "inputs": [{"name": "INPUT0", "datatype": "FP32", "shape": [1, 1], "data": [1]}]})";
  const Clock::TimePoint sent = clock_.Now();
  std::future<http::HttpResponse> response = CallAsync("POST", "/v2/models/held/infer", hurried);
  // The scheduler waits for the request's deadline, 1000 us after it was
  // sent, not for the minute-long batching delay.
  ASSERT_TRUE(clock_.BlockUntilWaiters(1));
  EXPECT_EQ(clock_.NextDeadline(), sent + std::chrono::microseconds(1000));
  clock_.Advance(std::chrono::microseconds(1000));
  ASSERT_EQ(response.wait_for(std::chrono::seconds(60)), std::future_status::ready);
  http::HttpResponse r = response.get();
  EXPECT_EQ(r.status, 504) << r.body;
}

// ---- TF Serving ----

TEST_F(RestHandlerTest, TfStatusListsVersionsAndReportsBrokenModels) {
  http::HttpResponse r = Call("GET", "/v1/models/people");
  ASSERT_EQ(r.status, 200) << r.body;
  Json j = Json::parse(r.body);
  ASSERT_EQ(j["model_version_status"].size(), 2u);
  EXPECT_EQ(j["model_version_status"][1]["version"], "2");
  EXPECT_EQ(j["model_version_status"][1]["state"], "AVAILABLE");
  EXPECT_EQ(Json::parse(Call("GET", "/v1/models/people/versions/1").body)["model_version_status"].size(), 1u);
  Json broken = Json::parse(Call("GET", "/v1/models/broken").body);
  EXPECT_EQ(broken["model_version_status"][0]["state"], "END");
  EXPECT_THAT(broken["model_version_status"][0]["status"]["error_message"].get<std::string>(),
              HasSubstr("unknown_key"));
  EXPECT_EQ(Call("GET", "/v1/models/people/versions/9").status, 404);
}

TEST_F(RestHandlerTest, TfMetadataDescribesTheSignature) {
  http::HttpResponse r = Call("GET", "/v1/models/echo/metadata");
  ASSERT_EQ(r.status, 200) << r.body;
  Json j = Json::parse(r.body);
  EXPECT_EQ(j["model_spec"]["name"], "echo");
  Json sig = j["metadata"]["signature_def"]["signature_def"]["serving_default"];
  EXPECT_EQ(sig["inputs"]["INPUT0"]["dtype"], "DT_FLOAT");
}

TEST_F(RestHandlerTest, TfPredictRowColumnarAndB64) {
  http::HttpResponse row = Call("POST", "/v1/models/echo:predict", R"({"instances": [[1, 2], [3, 4]]})");
  ASSERT_EQ(row.status, 200) << row.body;
  EXPECT_EQ(Json::parse(row.body)["predictions"], Json::parse("[[1.0, 2.0], [3.0, 4.0]]"));
  http::HttpResponse columnar =
      Call("POST", "/v1/models/echo/versions/1:predict", R"({"inputs": {"INPUT0": [[1.5]]}})");
  ASSERT_EQ(columnar.status, 200) << columnar.body;
  EXPECT_EQ(Json::parse(columnar.body)["outputs"], Json::parse("[[1.5]]"));
  const std::string b64 = protocol::Base64Encode("hello");
  http::HttpResponse blob = Call("POST", "/v1/models/blob:predict",
                                 R"({"instances": [[{"b64": ")" + b64 + R"("}]]})");
  ASSERT_EQ(blob.status, 200) << blob.body;
  EXPECT_EQ(Json::parse(blob.body)["predictions"][0][0]["b64"], b64);

  std::vector<uint8_t> png;
  ASSERT_TRUE(cv::imencode(".png", cv::Mat(64, 48, CV_8UC3, cv::Scalar(1, 2, 3)), png));
  http::HttpResponse hog =
      Call("POST", "/v1/models/people:predict",
           R"({"instances": [{"image": {"b64": ")" +
               protocol::Base64Encode(std::string(png.begin(), png.end())) + R"("}}]})");
  ASSERT_EQ(hog.status, 200) << hog.body;
  EXPECT_EQ(Json::parse(hog.body)["predictions"].size(), 1u);
}

TEST(RestHandlerRawOutputTest, DetectorReturnsItsRawLayersWhenARequestNamesThem) {
  DNS_REQUIRE_SHARED_DATA(cfg, "models/yolo-fastest-1.1/yolo-fastest-1.1.cfg");
  DNS_REQUIRE_SHARED_DATA(weights, "models/yolo-fastest-1.1/yolo-fastest-1.1.weights");
  ScratchDir dir;
  AddModel(dir, "yolo",
           R"({"backend": "opencv_dnn", "files": {"model": ")" + cfg + R"(", "weights": ")" +
               weights + R"("}})",
           {1});
  MetricsRegistry metrics;
  auto manager = ModelManager::Create(dir.path(), {}, &metrics);
  ASSERT_TRUE(manager.ok()) << manager.status();
  auto service = InferenceService::Create({}, manager->get());
  ASSERT_TRUE(service.ok()) << service.status();
  RestHandler handler(service->get());
  auto version = (*(*manager)->Find("yolo"))->Resolve(-1);
  ASSERT_TRUE(version.ok()) << version.status();
  const models::ModelMetadata& meta = (*version)->metadata;
  ASSERT_GE(meta.outputs.size(), 2u);
  const std::string raw = meta.outputs[1].name;
  std::vector<uint8_t> frame(240 * 320 * 3, 90);
  protocol::InferRequest request;
  request.inputs.push_back(Tensor::Uint8("image", {240, 320, 3}, frame.data(), frame.size()));
  request.outputs = {{raw, true}, {"detections", false}};
  auto encoded = protocol::EncodeInferRequest(request, true);
  ASSERT_TRUE(encoded.ok());
  std::promise<http::HttpResponse> promise;
  handler.Handle({"POST", "/v2/models/yolo/infer",
                  {{"inference-header-content-length", std::to_string(*encoded->json_length)}},
                  encoded->body},
                 [&](http::HttpResponse r) { promise.set_value(std::move(r)); });
  http::HttpResponse r = promise.get_future().get();
  ASSERT_EQ(r.status, 200) << r.body;
  auto response = protocol::DecodeInferResponse(r.body, std::stoul(r.headers[0].second));
  ASSERT_TRUE(response.ok()) << response.status();
  ASSERT_EQ(response->outputs.size(), 2u);
  EXPECT_EQ(response->outputs[0].name, raw);
  EXPECT_EQ(response->outputs[0].shape, meta.outputs[1].shape);
  EXPECT_EQ(response->outputs[1].name, "detections");
}

// ---- metrics ----

TEST_F(RestHandlerTest, MetricsCountSuccessesFailuresAndInferences) {
  ASSERT_EQ(Call("POST", "/v2/models/echo/infer", kEchoRequest).status, 200);
  ASSERT_EQ(Call("POST", "/v2/models/echo/infer", kEchoRequest).status, 200);
  ASSERT_EQ(Call("POST", "/v2/models/echo/infer", R"({"inputs": 5})").status, 400);
  http::HttpResponse r = Call("GET", "/metrics");
  ASSERT_EQ(r.status, 200);
  EXPECT_THAT(r.content_type, HasSubstr("text/plain"));
  EXPECT_THAT(r.body, HasSubstr("nv_inference_request_success{model=\"echo\",version=\"1\"} 2"));
  EXPECT_THAT(r.body, HasSubstr("nv_inference_request_failure{model=\"echo\",version=\"1\"} 1"));
  EXPECT_THAT(r.body, HasSubstr("nv_inference_count{model=\"echo\",version=\"1\"} 4"));
  EXPECT_THAT(r.body, HasSubstr("# TYPE nv_inference_pending_request_count gauge"));
}

// ---- compressed bodies ----

TEST_F(RestHandlerTest, GzipAndDeflateRequestBodiesAreDecoded) {
  for (http::ContentCoding coding : {http::ContentCoding::kGzip, http::ContentCoding::kDeflate}) {
    const std::string name(http::ContentCodingName(coding));
    http::HttpResponse r = Call("POST", "/v2/models/echo/infer",
                                http::Compress(coding, kEchoRequest), {{"content-encoding", name}});
    ASSERT_EQ(r.status, 200) << name << ": " << r.body;
    auto response = protocol::DecodeInferResponse(r.body, std::nullopt);
    ASSERT_TRUE(response.ok()) << response.status();
    EXPECT_EQ(response->id, "r1");
  }
}

TEST_F(RestHandlerTest, BodyLimitAppliesAfterDecompression) {
  Start({}, {.max_body_bytes = 4096});
  // Small on the wire, far over the limit once inflated.
  std::string big = kEchoRequest;
  big.insert(big.size() - 1, std::string(256 << 10, ' '));
  const std::string packed = http::Compress(http::ContentCoding::kGzip, big);
  ASSERT_LT(packed.size(), 4096u);
  http::HttpResponse r =
      Call("POST", "/v2/models/echo/infer", packed, {{"content-encoding", "gzip"}});
  EXPECT_EQ(r.status, 413);
  EXPECT_THAT(ErrorOf(r), HasSubstr("exceeds the limit of 4096 bytes once decompressed"));
}

TEST_F(RestHandlerTest, CorruptGzipIs400AndAnUnknownCodingIs415) {
  std::string corrupt = http::Compress(http::ContentCoding::kGzip, kEchoRequest);
  corrupt.resize(corrupt.size() / 2);
  http::HttpResponse r =
      Call("POST", "/v2/models/echo/infer", corrupt, {{"content-encoding", "gzip"}});
  EXPECT_EQ(r.status, 400);
  EXPECT_THAT(ErrorOf(r), HasSubstr("corrupt gzip body"));
  r = Call("POST", "/v2/models/echo/infer", kEchoRequest, {{"content-encoding", "br"}});
  EXPECT_EQ(r.status, 415);
  EXPECT_THAT(ErrorOf(r), HasSubstr("unsupported Content-Encoding 'br'"));
}

TEST_F(RestHandlerTest, ResponsesAreCompressedWhenTheClientAcceptsIt) {
  http::HttpResponse r = Call("POST", "/v2/models/echo/infer", kEchoRequest,
                              {{"accept-encoding", "deflate, gzip"}});
  ASSERT_EQ(r.status, 200);
  ASSERT_EQ(r.headers.size(), 1u);
  EXPECT_EQ(r.headers[0], (std::pair<std::string, std::string>{"Content-Encoding", "gzip"}));
  absl::StatusOr<std::string> body = http::Decompress(http::ContentCoding::kGzip, r.body, 1 << 20);
  ASSERT_TRUE(body.ok()) << body.status();
  auto response = protocol::DecodeInferResponse(*body, std::nullopt);
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(response->id, "r1");
  // Errors too; and nothing is compressed for a client that did not ask.
  r = Call("GET", "/v2/models/nope", "", {{"accept-encoding", "deflate"}});
  EXPECT_EQ(r.status, 404);
  ASSERT_EQ(r.headers.size(), 1u);
  EXPECT_EQ(r.headers[0].second, "deflate");
  EXPECT_TRUE(Call("GET", "/v2/models/echo").headers.empty());
}

// ---- repository and statistics extensions ----

TEST_F(RestHandlerTest, RepositoryIndexListsEveryVersionOrOnlyReadyOnes) {
  http::HttpResponse r = Call("POST", "/v2/repository/index");
  ASSERT_EQ(r.status, 200) << r.body;
  const Json all = Json::parse(r.body);
  ASSERT_TRUE(all.is_array());
  auto find = [](const Json& index, const std::string& name, const std::string& version) {
    for (const Json& row : index) {
      if (row["name"] == name && row.value("version", "") == version) return row;
    }
    return Json();
  };
  EXPECT_EQ(find(all, "people", "1")["state"], "READY");
  EXPECT_EQ(find(all, "people", "2")["state"], "READY");
  EXPECT_FALSE(find(all, "people", "1").contains("reason"));
  const Json broken = find(all, "broken", "");
  EXPECT_EQ(broken["state"], "UNAVAILABLE");
  EXPECT_THAT(broken["reason"].get<std::string>(), HasSubstr("unknown_key"));

  const Json ready = Json::parse(Call("POST", "/v2/repository/index", R"({"ready": true})").body);
  EXPECT_TRUE(find(ready, "broken", "").is_null());
  EXPECT_EQ(find(ready, "echo", "1")["state"], "READY");
  EXPECT_EQ(Call("POST", "/v2/repository/index", R"({"ready": 1})").status, 400);
  EXPECT_EQ(Call("GET", "/v2/repository/index").status, 405);
}

TEST_F(RestHandlerTest, UnloadAndLoadThroughTheRepositoryExtension) {
  http::HttpResponse r = Call("POST", "/v2/repository/models/echo/unload");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.body, "");
  EXPECT_EQ(Call("POST", "/v2/models/echo/infer", kEchoRequest).status, 503);
  EXPECT_EQ(Call("GET", "/v2/models/echo/ready").status, 503);
  r = Call("POST", "/v2/repository/models/echo/load");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(Call("POST", "/v2/models/echo/infer", kEchoRequest).status, 200);
  EXPECT_EQ(Call("POST", "/v2/repository/models/nope/load").status, 404);
  EXPECT_EQ(Call("POST", "/v2/repository/models/nope/unload").status, 404);
  r = Call("POST", "/v2/repository/models/broken/load");
  EXPECT_EQ(r.status, 400);
  EXPECT_THAT(ErrorOf(r), HasSubstr("unknown_key"));
  EXPECT_EQ(Call("GET", "/v2/repository/models/echo/load").status, 405);
}

TEST_F(RestHandlerTest, StatisticsAsTritonReportsThem) {
  ASSERT_EQ(Call("POST", "/v2/models/echo/infer", kEchoRequest).status, 200);
  ASSERT_EQ(Call("POST", "/v2/models/echo/infer", R"({"inputs": []})").status, 400);
  http::HttpResponse r = Call("GET", "/v2/models/echo/stats");
  ASSERT_EQ(r.status, 200) << r.body;
  const Json stats = Json::parse(r.body);
  ASSERT_EQ(stats["model_stats"].size(), 1u);
  const Json& echo = stats["model_stats"][0];
  EXPECT_EQ(echo["name"], "echo");
  EXPECT_EQ(echo["version"], "1");
  EXPECT_GT(echo["last_inference"].get<int64_t>(), 0);
  EXPECT_EQ(echo["inference_count"], 2);  // one request of batch 2
  EXPECT_EQ(echo["execution_count"], 1);
  EXPECT_EQ(echo["inference_stats"]["success"]["count"], 1);
  EXPECT_EQ(echo["inference_stats"]["fail"]["count"], 1);
  EXPECT_EQ(echo["inference_stats"]["queue"]["count"], 1);
  EXPECT_EQ(echo["inference_stats"]["compute_infer"]["count"], 1);
  EXPECT_TRUE(echo["inference_stats"]["success"].contains("ns"));

  const Json people = Json::parse(Call("GET", "/v2/models/people/versions/2/stats").body);
  ASSERT_EQ(people["model_stats"].size(), 1u);
  EXPECT_EQ(people["model_stats"][0]["version"], "2");
  const Json all = Json::parse(Call("GET", "/v2/models/stats").body);
  EXPECT_GE(all["model_stats"].size(), 7u);  // every version of every model
  EXPECT_EQ(Call("GET", "/v2/models/people/versions/9/stats").status, 404);
  EXPECT_EQ(Call("GET", "/v2/models/nope/stats").status, 404);
  EXPECT_EQ(Call("POST", "/v2/models/stats").status, 405);
}

}  // namespace
}  // namespace dnoscope::serving::rest
