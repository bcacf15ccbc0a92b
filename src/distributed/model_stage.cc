#include "distributed/model_stage.h"

#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "fmt/format.h"

namespace dnoscope::distributed {
namespace {

// One worker thread runs the model; requests wait in a FIFO. The model is
// touched by that thread only (models are not thread-safe).
class LocalStage final : public ModelStage {
 public:
  explicit LocalStage(std::unique_ptr<models::Model> model)
      : model_(std::move(model)), thread_([this](std::stop_token stop) { Loop(stop); }) {}
  ~LocalStage() override { Shutdown(); }

  const models::ModelMetadata& metadata() const override { return model_->metadata(); }

  std::string Describe() const override {
    return fmt::format("local '{}' ({})", model_->metadata().name, model_->metadata().backend);
  }

  void InferAsync(std::vector<Tensor> inputs, Done done) override {
    {
      std::lock_guard lock(mu_);
      if (!stopping_) {
        queue_.emplace_back(std::move(inputs), std::move(done));
        ++requests_;
        cv_.notify_one();
        return;
      }
    }
    done(absl::CancelledError("local stage is shut down"));
  }

  StageStats stats() const override {
    std::lock_guard lock(mu_);
    StageEndpointStats e;
    e.name = "local";
    e.in_flight = static_cast<int>(queue_.size()) + (busy_ ? 1 : 0);
    e.requests = requests_;
    e.failures = failures_;
    return {{e}, 0};
  }

  void Shutdown() override {
    std::deque<std::pair<std::vector<Tensor>, Done>> cancelled;
    {
      std::lock_guard lock(mu_);
      stopping_ = true;
      cancelled.swap(queue_);
    }
    cv_.notify_all();
    for (auto& [inputs, done] : cancelled) done(absl::CancelledError("local stage is shut down"));
    if (thread_.joinable()) {
      thread_.request_stop();
      thread_.join();
    }
  }

 private:
  void Loop(std::stop_token stop) {
    while (true) {
      std::pair<std::vector<Tensor>, Done> job;
      {
        std::unique_lock lock(mu_);
        cv_.wait(lock, [&] { return stopping_ || stop.stop_requested() || !queue_.empty(); });
        if (queue_.empty()) return;
        job = std::move(queue_.front());
        queue_.pop_front();
        busy_ = true;
      }
      absl::StatusOr<std::vector<Tensor>> result = model_->Infer(job.first);
      {
        std::lock_guard lock(mu_);
        busy_ = false;
        if (!result.ok()) ++failures_;
      }
      job.second(std::move(result));
    }
  }

  std::unique_ptr<models::Model> model_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::pair<std::vector<Tensor>, Done>> queue_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  bool busy_ ABSL_GUARDED_BY(mu_) = false;
  int64_t requests_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t failures_ ABSL_GUARDED_BY(mu_) = 0;
  std::jthread thread_;
};

}  // namespace

std::unique_ptr<ModelStage> MakeLocalStage(std::unique_ptr<models::Model> model) {
  return std::make_unique<LocalStage>(std::move(model));
}

}  // namespace dnoscope::distributed
