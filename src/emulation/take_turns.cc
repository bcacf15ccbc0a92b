#include "emulation/take_turns.h"

#include <atomic>
#include <deque>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "common/mutex.h"

namespace dnoscope::emulation {
namespace {

using models::ModelStage;

// The machine the stages share: one request at a time, in submission order.
class Machine : public std::enable_shared_from_this<Machine> {
 public:
  struct Job {
    ModelStage* inner = nullptr;
    models::StageRequest request;
    ModelStage::Done done;
  };

  void Submit(Job job) {
    {
      MutexLock lock(&mu_);
      if (busy_) {
        waiting_.push_back(std::move(job));
        return;
      }
      busy_ = true;
    }
    Start(std::move(job));
  }

  // Fails the waiting requests of `inner` with Cancelled.
  void Cancel(const ModelStage* inner) {
    std::deque<Job> cancelled;
    {
      MutexLock lock(&mu_);
      std::deque<Job> kept;
      for (Job& job : waiting_) (job.inner == inner ? cancelled : kept).push_back(std::move(job));
      waiting_.swap(kept);
    }
    for (Job& job : cancelled) job.done(absl::CancelledError("stage is shut down"));
  }

 private:
  // The machine is busy with `job` until its inner stage completes it.
  void Start(Job job) {
    job.inner->InferAsync(std::move(job.request),
                          [self = shared_from_this(), done = std::move(job.done)](
                              absl::StatusOr<std::vector<Tensor>> result) {
                            done(std::move(result));
                            self->Next();
                          });
  }

  void Next() {
    Job job;
    {
      MutexLock lock(&mu_);
      if (waiting_.empty()) {
        busy_ = false;
        return;
      }
      job = std::move(waiting_.front());
      waiting_.pop_front();
    }
    Start(std::move(job));
  }

  Mutex mu_;
  bool busy_ ABSL_GUARDED_BY(mu_) = false;
  std::deque<Job> waiting_ ABSL_GUARDED_BY(mu_);
};

class TurnStage final : public ModelStage {
 public:
  TurnStage(std::unique_ptr<ModelStage> inner, std::shared_ptr<Machine> machine)
      : inner_(std::move(inner)), machine_(std::move(machine)) {}
  ~TurnStage() override { Shutdown(); }

  const models::ModelMetadata& metadata() const override { return inner_->metadata(); }
  std::string Describe() const override {
    return inner_->Describe() + ", taking turns with the other stages of one node";
  }
  void InferAsync(models::StageRequest request, Done done) override {
    if (stopping_.load()) {
      done(absl::CancelledError("stage is shut down"));
      return;
    }
    machine_->Submit({inner_.get(), std::move(request), std::move(done)});
  }
  models::StageStats stats() const override { return inner_->stats(); }
  void Shutdown() override {
    if (stopping_.exchange(true)) return;
    machine_->Cancel(inner_.get());
    inner_->Shutdown();
  }

 private:
  const std::unique_ptr<ModelStage> inner_;
  const std::shared_ptr<Machine> machine_;
  std::atomic<bool> stopping_{false};
};

}  // namespace

absl::StatusOr<std::vector<std::unique_ptr<ModelStage>>> TakeTurns(
    std::vector<std::unique_ptr<ModelStage>> stages) {
  for (const auto& stage : stages) {
    if (stage == nullptr) return absl::InvalidArgumentError("TakeTurns needs every stage");
  }
  auto machine = std::make_shared<Machine>();
  std::vector<std::unique_ptr<ModelStage>> wrapped;
  for (auto& stage : stages) wrapped.push_back(std::make_unique<TurnStage>(std::move(stage), machine));
  return wrapped;
}

}  // namespace dnoscope::emulation
