#include "models/local_stage.h"

#include <deque>
#include <optional>
#include <thread>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "common/mutex.h"
#include "fmt/format.h"

namespace dnoscope::models {
namespace {

struct Job {
  StageRequest request;
  ModelStage::Done done;
};

class LocalStage final : public ModelStage {
 public:
  explicit LocalStage(std::vector<std::unique_ptr<Model>> instances)
      : instances_(std::move(instances)) {
    for (size_t i = 0; i < instances_.size(); ++i) {
      workers_.emplace_back([this, i] { Loop(*instances_[i]); });
    }
  }
  ~LocalStage() override { Shutdown(); }

  const ModelMetadata& metadata() const override { return instances_[0]->metadata(); }

  std::string Describe() const override {
    const ModelMetadata& m = metadata();
    return instances_.size() == 1
               ? fmt::format("local '{}' ({})", m.name, m.backend)
               : fmt::format("local '{}' ({}, {} workers)", m.name, m.backend, instances_.size());
  }

  void InferAsync(StageRequest request, Done done) override {
    {
      MutexLock lock(&mu_);
      if (!stopping_) {
        const int q = static_cast<int>(request.priority) == 0 ? 0 : 1;
        queues_[q].push_back({std::move(request), std::move(done)});
        ++requests_;
        cv_.Signal();
        return;
      }
    }
    done(absl::CancelledError("local stage is shut down"));
  }

  StageStats stats() const override {
    MutexLock lock(&mu_);
    StageEndpointStats e;
    e.name = "local";
    e.in_flight = static_cast<int>(queues_[0].size() + queues_[1].size()) + busy_;
    e.requests = requests_;
    e.failures = failures_;
    return {{e}, 0};
  }

  void Shutdown() override {
    std::deque<Job> cancelled;
    {
      MutexLock lock(&mu_);
      stopping_ = true;
      for (std::deque<Job>& q : queues_) {
        for (Job& job : q) cancelled.push_back(std::move(job));
        q.clear();
      }
    }
    cv_.SignalAll();
    for (Job& job : cancelled) job.done(absl::CancelledError("local stage is shut down"));
    for (std::jthread& worker : workers_) {
      if (worker.joinable()) worker.join();
    }
  }

 private:
  // Runs jobs on `model` until shutdown.
  void Loop(Model& model) {
    while (std::optional<Job> job = Take()) {
      const bool withdrawn = job->request.cancelled && job->request.cancelled->load();
      absl::StatusOr<std::vector<Tensor>> result =
          withdrawn ? absl::CancelledError("request withdrawn")
                    : model.InferSelected(job->request.inputs, job->request.outputs);
      {
        MutexLock lock(&mu_);
        --busy_;
        if (!result.ok() && !withdrawn) ++failures_;
      }
      job->done(std::move(result));
    }
  }

  // The next job by priority; nullopt once stopping.
  std::optional<Job> Take() {
    MutexLock lock(&mu_);
    while (!stopping_ && queues_[0].empty() && queues_[1].empty()) cv_.Wait(&mu_);
    if (stopping_) return std::nullopt;
    std::deque<Job>& q = queues_[0].empty() ? queues_[1] : queues_[0];
    Job job = std::move(q.front());
    q.pop_front();
    ++busy_;
    return job;
  }

  const std::vector<std::unique_ptr<Model>> instances_;
  mutable Mutex mu_;
  CondVar cv_;
  // [0]: normal priority, [1]: low.
  std::deque<Job> queues_[2] ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  int busy_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t requests_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t failures_ ABSL_GUARDED_BY(mu_) = 0;
  std::vector<std::jthread> workers_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<ModelStage>> MakeLocalStage(
    std::vector<std::unique_ptr<Model>> instances) {
  if (instances.empty()) return absl::InvalidArgumentError("a local stage needs a model");
  for (const std::unique_ptr<Model>& m : instances) {
    if (m == nullptr) return absl::InvalidArgumentError("a local stage got a null model");
    if (m->metadata().name != instances[0]->metadata().name ||
        m->metadata().version != instances[0]->metadata().version) {
      return absl::InvalidArgumentError(fmt::format(
          "a local stage runs one model; got '{}' and '{}'", instances[0]->metadata().name,
          m->metadata().name));
    }
  }
  return std::unique_ptr<ModelStage>(new LocalStage(std::move(instances)));
}

std::unique_ptr<ModelStage> MakeLocalStage(std::unique_ptr<Model> model) {
  std::vector<std::unique_ptr<Model>> instances;
  instances.push_back(std::move(model));
  return std::unique_ptr<ModelStage>(new LocalStage(std::move(instances)));
}

}  // namespace dnoscope::models
