#include "serving/scheduler.h"

#include <algorithm>
#include <utility>

#include "common/status_macros.h"
#include "fmt/format.h"
#include "serving/tensor_batching.h"

namespace dnoscope::serving {
namespace {

absl::Status ValidateOptions(const SchedulerOptions& options,
                             const ModelScheduler::ModelFactory& factory, const Clock* clock) {
  if (clock == nullptr) return absl::InvalidArgumentError("scheduler needs a clock");
  if (!factory) return absl::InvalidArgumentError("scheduler needs a model factory");
  if (options.instance_count < 1) {
    return absl::InvalidArgumentError(
        fmt::format("instance_count must be >= 1, got {}", options.instance_count));
  }
  if (options.max_queue_size < 1) return absl::InvalidArgumentError("max_queue_size must be >= 1");
  return absl::OkStatus();
}

// True when `b` may run in the same execution as `a`.
bool Mergeable(const InferenceJob& a, const InferenceJob& b) {
  return a.requested_outputs == b.requested_outputs && CanBatchTogether(a.inputs, b.inputs);
}

absl::StatusOr<std::vector<std::unique_ptr<models::Model>>> CreateModels(
    const ModelScheduler::ModelFactory& factory, int count) {
  std::vector<std::unique_ptr<models::Model>> models;
  for (int i = 0; i < count; ++i) {
    DNS_ASSIGN_OR_RETURN(std::unique_ptr<models::Model> model, factory());
    if (model == nullptr) return absl::InternalError("model factory returned null");
    models.push_back(std::move(model));
  }
  return models;
}

}  // namespace

absl::StatusOr<std::unique_ptr<ModelScheduler>> ModelScheduler::Create(
    const SchedulerOptions& options, ModelFactory factory, ModelStats* stats, Clock* clock) {
  DNS_RETURN_IF_ERROR(ValidateOptions(options, factory, clock));
  DNS_ASSIGN_OR_RETURN(
      BatchPolicy policy,
      BatchPolicy::Create({.max_batch_size = options.max_batch_size,
                           .max_queue_delay = options.max_queue_delay,
                           .preferred_batch_sizes = options.preferred_batch_sizes}));
  DNS_ASSIGN_OR_RETURN(auto models, CreateModels(factory, options.instance_count));
  const models::ModelMetadata& metadata = models.front()->metadata();
  if (options.max_batch_size > metadata.max_batch_size) {
    return absl::InvalidArgumentError(
        fmt::format("max_batch_size {} exceeds model '{}' limit of {}", options.max_batch_size,
                    metadata.name, metadata.max_batch_size));
  }
  std::unique_ptr<ModelScheduler> scheduler(
      new ModelScheduler(options, std::move(policy), std::move(models), stats, clock));
  {
    MutexLock lock(&scheduler->shutdown_mu_);
    for (const auto& model : scheduler->models_) {
      scheduler->threads_.emplace_back(
          [s = scheduler.get(), m = model.get()] { s->InstanceLoop(*m); });
    }
  }
  return scheduler;
}

ModelScheduler::ModelScheduler(const SchedulerOptions& options, BatchPolicy policy,
                               std::vector<std::unique_ptr<models::Model>> models,
                               ModelStats* stats, Clock* clock)
    : options_(options),
      policy_(std::move(policy)),
      models_(std::move(models)),
      stats_(stats),
      clock_(clock),
      model_name_(models_.front()->metadata().name) {}

ModelScheduler::~ModelScheduler() { Shutdown(); }

void ModelScheduler::Shutdown() {
  MutexLock shutdown_lock(&shutdown_mu_);
  {
    MutexLock lock(&mu_);
    stopping_ = true;
  }
  cv_.SignalAll();
  for (std::jthread& thread : threads_) {
    if (thread.joinable()) thread.join();
  }
}

// ---------------------------------------------------------------- Submit

absl::StatusOr<int64_t> ModelScheduler::RequestBatchSize(const InferenceJob& job) const {
  if (options_.max_batch_size == 0) return 1;
  DNS_ASSIGN_OR_RETURN(int64_t batch_size, BatchSizeOf(job.inputs));
  if (batch_size > options_.max_batch_size) {
    return absl::InvalidArgumentError(fmt::format("batch size {} exceeds max_batch_size {}",
                                                  batch_size, options_.max_batch_size));
  }
  return batch_size;
}

void ModelScheduler::Submit(InferenceJob job) {
  const Clock::TimePoint now = clock_->Now();
  absl::StatusOr<int64_t> batch_size = RequestBatchSize(job);
  absl::Status status =
      batch_size.ok() ? Enqueue(job, *batch_size, now) : std::move(batch_size).status();
  if (!status.ok()) {
    if (stats_ != nullptr) stats_->RecordFailure();
    job.done(std::move(status));
    return;
  }
  cv_.SignalAll();
}

absl::Status ModelScheduler::Enqueue(InferenceJob& job, int64_t batch_size, Clock::TimePoint now) {
  MutexLock lock(&mu_);
  if (stopping_) return absl::UnavailableError("model scheduler is shut down");
  if (queue_.size() >= options_.max_queue_size) {
    return absl::UnavailableError(
        fmt::format("queue of model '{}' is full ({} requests)", model_name_, queue_.size()));
  }
  queue_.push_back({.job = std::move(job), .batch_size = batch_size, .submit_time = now});
  ++queue_version_;
  pending_.fetch_add(1, std::memory_order_relaxed);
  if (stats_ != nullptr) stats_->AddPending(1);
  return absl::OkStatus();
}

// ---------------------------------------------------------------- Picking work

void ModelScheduler::InstanceLoop(models::Model& model) {
  while (true) {
    Work work;
    bool more;
    {
      MutexLock lock(&mu_);
      more = NextWork(work);
    }
    FailAll(work.expired, absl::DeadlineExceededError("deadline passed while queued"), work.picked);
    if (!work.batch.empty()) RunBatch(model, std::move(work.batch), work.picked);
    if (!more) return;
  }
}

bool ModelScheduler::NextWork(Work& work) {
  while (true) {
    while (!stopping_ && queue_.empty()) cv_.Wait(&mu_);
    if (queue_.empty()) return false;
    work.picked = clock_->Now();
    TakeExpired(work.picked, work.expired);
    if (queue_.empty()) return true;
    const BatchDecision decision = policy_.Decide(Snapshot(), work.picked);
    if (decision.run_count > 0) {
      TakeFront(decision.run_count, work.batch);
      return true;
    }
    // Hand expired jobs back before sleeping so that they are answered now.
    if (!work.expired.empty()) return true;
    WaitForChange(std::min(decision.wake_at, EarliestDeadline()));
  }
}

void ModelScheduler::TakeExpired(Clock::TimePoint now, std::vector<Pending>& expired) {
  const size_t before = queue_.size();
  for (auto it = queue_.begin(); it != queue_.end();) {
    if (it->job.deadline <= now) {
      expired.push_back(std::move(*it));
      it = queue_.erase(it);
    } else {
      ++it;
    }
  }
  if (queue_.size() != before) ++queue_version_;
}

QueueSnapshot ModelScheduler::Snapshot() const {
  const Pending& front = queue_.front();
  QueueSnapshot snapshot{.oldest_arrival = front.submit_time, .flush = stopping_};
  int64_t items = 0;
  for (const Pending& pending : queue_) {
    if (&pending != &front && !Mergeable(front.job, pending.job)) {
      snapshot.incompatible_follows = true;
      break;
    }
    snapshot.batch_sizes.push_back(static_cast<int>(pending.batch_size));
    items += pending.batch_size;
    // The policy needs one request past the limit to see that it is full.
    if (options_.max_batch_size == 0 || items > options_.max_batch_size) break;
  }
  return snapshot;
}

void ModelScheduler::TakeFront(size_t count, std::vector<Pending>& batch) {
  for (size_t i = 0; i < count; ++i) {
    batch.push_back(std::move(queue_.front()));
    queue_.pop_front();
  }
  ++queue_version_;
  // Whatever is left may be runnable by another idle thread.
  if (!queue_.empty()) cv_.SignalAll();
}

Clock::TimePoint ModelScheduler::EarliestDeadline() const {
  Clock::TimePoint earliest = Clock::TimePoint::max();
  for (const Pending& pending : queue_) earliest = std::min(earliest, pending.job.deadline);
  return earliest;
}

void ModelScheduler::WaitForChange(Clock::TimePoint wake_at) {
  const uint64_t seen = queue_version_;
  while (!stopping_ && queue_version_ == seen) {
    if (clock_->WaitUntil(&mu_, &cv_, wake_at)) return;
  }
}

// ---------------------------------------------------------------- Running

void ModelScheduler::RunBatch(models::Model& model, std::vector<Pending> batch,
                              Clock::TimePoint picked) {
  std::vector<const std::vector<Tensor>*> request_inputs;
  std::vector<int64_t> batch_sizes;
  int64_t items = 0;
  for (const Pending& pending : batch) {
    request_inputs.push_back(&pending.job.inputs);
    batch_sizes.push_back(pending.batch_size);
    items += pending.batch_size;
  }
  const bool merged = batch.size() > 1;
  std::vector<Tensor> concatenated;
  if (merged) concatenated = ConcatBatch(request_inputs);
  const Clock::TimePoint start = clock_->Now();
  absl::StatusOr<std::vector<Tensor>> outputs = model.InferSelected(
      merged ? concatenated : batch.front().job.inputs, batch.front().job.requested_outputs);
  const Clock::TimePoint end = clock_->Now();
  if (!outputs.ok()) return FailAll(batch, outputs.status(), picked);
  if (stats_ != nullptr) stats_->RecordExecution(items, end - start);
  if (!merged) return Finish(batch.front(), std::move(outputs), picked, end - start);

  absl::StatusOr<std::vector<std::vector<Tensor>>> parts = SplitBatch(*outputs, batch_sizes);
  if (!parts.ok()) return FailAll(batch, parts.status(), picked);
  for (size_t i = 0; i < batch.size(); ++i) {
    Finish(batch[i], std::move((*parts)[i]), picked, end - start);
  }
}

void ModelScheduler::Finish(Pending& pending, absl::StatusOr<std::vector<Tensor>> result,
                            Clock::TimePoint picked, Clock::Duration compute) {
  const Clock::TimePoint now = clock_->Now();
  if (stats_ != nullptr) {
    if (result.ok()) {
      stats_->RecordSuccess(now - pending.submit_time, picked - pending.submit_time, compute);
    } else {
      stats_->RecordFailure(now - pending.submit_time);
    }
    stats_->AddPending(-1);
  }
  pending_.fetch_sub(1, std::memory_order_relaxed);
  pending.job.done(std::move(result));
}

void ModelScheduler::FailAll(std::vector<Pending>& jobs, const absl::Status& status,
                             Clock::TimePoint picked) {
  for (Pending& pending : jobs) Finish(pending, status, picked);
}

}  // namespace dnoscope::serving
