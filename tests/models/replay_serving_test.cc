// The replay classifier behind the model server's own path: a ModelManager
// over a scratch repository, KServe v2 requests through the RestHandler and
// the InferenceService (tensor checks against the metadata, the scheduler,
// dynamic batching that concatenates both inputs along dim 0 and splits the
// output back). The schedulers wait on a FakeClock that no test advances, so
// a partial batch can only run by growing to the preferred size.
// Lives with the models tests because it checks the replay backend's
// contract; it links the serving libraries on top.
#include <chrono>
#include <filesystem>
#include <future>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "models/model.h"
#include "protocol/kserve.h"
#include "serving/inference_service.h"
#include "serving/metrics.h"
#include "serving/model_manager.h"
#include "serving/rest/rest_handler.h"
#include "testing/fake_clock.h"
#include "testing/test_env.h"

namespace dnoscope::serving {
namespace {

using ::dnoscope::testing::FakeClock;
using ::dnoscope::testing::ScratchDir;
using ::dnoscope::testing::WriteFile;
using ::testing::ElementsAre;
using ::testing::FloatEq;
using ::testing::HasSubstr;
namespace fs = std::filesystem;

constexpr char kLabels[] =
    "frame,object_name,confidence,xmin,ymin,xmax,ymax\n"
    "0,person,0.6,10,20,30,40\n"
    "0,person,0.9,50,20,70,40\n"
    "2,person,0.7,50,60,70,80\n";

// "spec": a replay classifier whose batches of 3 run at once and smaller
// ones wait (a minute of fake time that never passes) for more requests.
class ReplayClassifierServingTest : public ::testing::Test {
 protected:
  void SetUp() override {
    fs::create_directories(dir_.File("spec/1"));
    WriteFile(dir_.File("spec/config.json"),
              R"({"backend": "replay", "kind": "classifier", "max_batch_size": 4,
                  "files": {"labels": "labels.csv"},
                  "dynamic_batching": {"max_queue_delay_us": 60000000,
                                       "preferred_batch_sizes": [3]}})");
    WriteFile(dir_.File("spec/1/labels.csv"), kLabels);
    auto manager = ModelManager::Create(dir_.path(), {}, &metrics_, &clock_);
    ASSERT_TRUE(manager.ok()) << manager.status();
    manager_ = std::move(*manager);
    auto service = InferenceService::Create({}, manager_.get());
    ASSERT_TRUE(service.ok()) << service.status();
    service_ = std::move(*service);
    handler_ = std::make_unique<rest::RestHandler>(service_.get());
  }

  // `images` blank 8x8 images and the frame numbers `frames`.
  static std::vector<Tensor> Inputs(int64_t images, const std::vector<int64_t>& frames) {
    const std::vector<uint8_t> pixels(static_cast<size_t>(images) * 8 * 8 * 3, 0);
    std::vector<Tensor> inputs;
    inputs.push_back(
        Tensor::Uint8(models::kImageInput, {images, 8, 8, 3}, pixels.data(), pixels.size()));
    inputs.push_back(
        Tensor::Int64(models::kFrameIndexInput, {static_cast<int64_t>(frames.size())}, frames));
    return inputs;
  }

  // POSTs `inputs` as a KServe binary request to "spec".
  std::future<http::HttpResponse> Post(std::vector<Tensor> inputs) {
    protocol::InferRequest request;
    request.inputs = std::move(inputs);
    auto encoded = protocol::EncodeInferRequest(request, true);
    EXPECT_TRUE(encoded.ok()) << encoded.status();
    auto promise = std::make_shared<std::promise<http::HttpResponse>>();
    std::future<http::HttpResponse> future = promise->get_future();
    handler_->Handle({"POST",
                      "/v2/models/spec/infer",
                      {{"inference-header-content-length", std::to_string(*encoded->json_length)}},
                      encoded->body},
                     [promise](http::HttpResponse r) { promise->set_value(std::move(r)); });
    return future;
  }

  std::future<http::HttpResponse> InferAsync(const std::vector<int64_t>& frames) {
    return Post(Inputs(static_cast<int64_t>(frames.size()), frames));
  }

  // Waits (bounded) for a response.
  static http::HttpResponse Get(std::future<http::HttpResponse> future) {
    if (future.wait_for(std::chrono::seconds(60)) != std::future_status::ready) {
      ADD_FAILURE() << "no response within 60 s";
      return {};
    }
    return future.get();
  }

  // The response's "confidence" values; checks status 200 and shape [N,1].
  static std::vector<float> Confidences(std::future<http::HttpResponse> future, int64_t n) {
    http::HttpResponse r = Get(std::move(future));
    EXPECT_EQ(r.status, 200) << r.body;
    auto response = protocol::DecodeInferResponse(r.body, std::nullopt);
    EXPECT_TRUE(response.ok()) << response.status();
    if (!response.ok() || response->outputs.size() != 1) return {};
    const Tensor& out = response->outputs[0];
    EXPECT_EQ(out.name, "confidence");
    EXPECT_EQ(out.shape, (std::vector<int64_t>{n, 1}));
    std::span<const float> values = out.Values<float>();
    return {values.begin(), values.end()};
  }

  ModelStats::Snapshot Stats() { return metrics_.GetOrCreate("spec", 1)->snapshot(); }

  ScratchDir dir_;
  FakeClock clock_;
  MetricsRegistry metrics_;
  std::unique_ptr<ModelManager> manager_;
  std::unique_ptr<InferenceService> service_;
  std::unique_ptr<rest::RestHandler> handler_;
};

TEST_F(ReplayClassifierServingTest, ABatchOfThreeRowsGetsEachFramesConfidence) {
  EXPECT_THAT(Confidences(InferAsync({2, 1, 0}), 3),
              ElementsAre(FloatEq(0.7f), 0.0f, FloatEq(0.9f)));
  EXPECT_EQ(Stats().exec_count, 1u);
  EXPECT_EQ(Stats().inference_count, 3u);
}

TEST_F(ReplayClassifierServingTest, RequestsOfOneAndTwoRowsRunAsOneBatchOfThree) {
  std::future<http::HttpResponse> first = InferAsync({2});
  std::future<http::HttpResponse> second = InferAsync({0, 1});
  EXPECT_THAT(Confidences(std::move(first), 1), ElementsAre(FloatEq(0.7f)));
  EXPECT_THAT(Confidences(std::move(second), 2), ElementsAre(FloatEq(0.9f), 0.0f));
  EXPECT_EQ(Stats().exec_count, 1u);  // concatenated along dim 0, not run twice
  EXPECT_EQ(Stats().inference_count, 3u);
}

TEST_F(ReplayClassifierServingTest, MismatchedRowsAndAMissingFrameIndexAre400BeforeRunning) {
  http::HttpResponse mismatched = Get(Post(Inputs(3, {0, 1})));
  EXPECT_EQ(mismatched.status, 400) << mismatched.body;
  EXPECT_THAT(mismatched.body, HasSubstr("batch size"));
  std::vector<Tensor> image_only = Inputs(1, {0});
  image_only.pop_back();
  http::HttpResponse missing = Get(Post(std::move(image_only)));
  EXPECT_EQ(missing.status, 400) << missing.body;
  EXPECT_THAT(missing.body, HasSubstr("frame_index"));
  EXPECT_EQ(Stats().exec_count, 0u);
}

}  // namespace
}  // namespace dnoscope::serving
