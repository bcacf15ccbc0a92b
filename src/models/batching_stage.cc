#include "models/batching_stage.h"

#include <algorithm>
#include <utility>

#include "absl/status/status.h"
#include "common/tensor_batching.h"
#include "fmt/format.h"

namespace dnoscope::models {
namespace {

bool Withdrawn(const StageRequest& r) { return r.cancelled && r.cancelled->load(); }

}  // namespace

absl::StatusOr<std::unique_ptr<BatchingStage>> BatchingStage::Create(
    std::unique_ptr<ModelStage> inner, const BatchingStageOptions& options, Clock* clock) {
  if (inner == nullptr || clock == nullptr) {
    return absl::InvalidArgumentError("batching stage needs a stage to wrap and a clock");
  }
  if (options.max_batch < 1 || options.max_delay.count() < 0) {
    return absl::InvalidArgumentError(
        fmt::format("batching stage: max batch ({}) must be >= 1 and max delay ({} us) >= 0",
                    options.max_batch, options.max_delay.count()));
  }
  return std::unique_ptr<BatchingStage>(new BatchingStage(std::move(inner), options, clock));
}

BatchingStage::BatchingStage(std::unique_ptr<ModelStage> inner, const BatchingStageOptions& options,
                             Clock* clock)
    : inner_(std::move(inner)),
      options_(options),
      max_batch_(inner_->metadata().max_batch_size > 0
                     ? std::min(options.max_batch, inner_->metadata().max_batch_size)
                     : options.max_batch),
      clock_(clock) {
  flusher_ = std::jthread([this] { FlushLoop(); });
}

BatchingStage::~BatchingStage() { Shutdown(); }

std::string BatchingStage::Describe() const {
  return fmt::format("{} (merged up to {} rows, {} us)", inner_->Describe(), max_batch_,
                     options_.max_delay.count());
}

void BatchingStage::InferAsync(StageRequest request, Done done) {
  absl::StatusOr<int64_t> rows = BatchSizeOf(request.inputs);
  if (!rows.ok()) {
    done(rows.status());
    return;
  }
  if (*rows > max_batch_) {
    {
      MutexLock lock(&mu_);
      ++figures_.requests;
      ++figures_.batches;
      figures_.rows += *rows;
    }
    inner_->InferAsync(std::move(request), std::move(done));
    return;
  }
  {
    MutexLock lock(&mu_);
    if (!stopping_) {
      ++figures_.requests;
      pending_rows_ += *rows;
      pending_.push_back({std::move(request), std::move(done), *rows, clock_->Now()});
      cv_.Signal();
      return;
    }
  }
  done(absl::CancelledError("batching stage is shut down"));
}

bool BatchingStage::WaitForDue() {
  while (true) {
    if (stopping_) return false;
    if (pending_.empty()) {
      cv_.Wait(&mu_);
      continue;
    }
    const Clock::TimePoint deadline =
        pending_.front().arrival + std::chrono::duration_cast<Clock::Duration>(options_.max_delay);
    if (pending_rows_ >= max_batch_ || clock_->Now() >= deadline) return true;
    clock_->WaitUntil(&mu_, &cv_, deadline);
  }
}

std::vector<BatchingStage::Pending> BatchingStage::TakeBatch(std::vector<Pending>* cancelled) {
  for (auto it = pending_.begin(); it != pending_.end();) {
    if (Withdrawn(it->request)) {
      pending_rows_ -= it->rows;
      cancelled->push_back(std::move(*it));
      it = pending_.erase(it);
    } else {
      ++it;
    }
  }
  if (pending_.empty()) return {};
  // The oldest request of the most urgent priority leads the batch.
  auto lead = std::min_element(pending_.begin(), pending_.end(), [](const auto& a, const auto& b) {
    return a.request.priority < b.request.priority;
  });
  const StageRequest& first = lead->request;
  const Priority priority = first.priority;
  const std::vector<Tensor> first_inputs = first.inputs;
  const std::vector<std::string> first_outputs = first.outputs;
  std::vector<Pending> batch;
  int64_t rows = 0;
  for (auto it = lead; it != pending_.end();) {
    const bool fits = it->request.priority == priority && rows + it->rows <= max_batch_ &&
                      it->request.outputs == first_outputs &&
                      CanBatchTogether(first_inputs, it->request.inputs);
    if (!fits) {
      ++it;
      continue;
    }
    rows += it->rows;
    pending_rows_ -= it->rows;
    batch.push_back(std::move(*it));
    it = pending_.erase(it);
  }
  ++figures_.batches;
  figures_.rows += rows;
  return batch;
}

void BatchingStage::FlushLoop() {
  while (true) {
    std::vector<Pending> batch, cancelled;
    {
      MutexLock lock(&mu_);
      if (!WaitForDue()) return;
      batch = TakeBatch(&cancelled);
    }
    for (Pending& p : cancelled) p.done(absl::CancelledError("request withdrawn"));
    if (!batch.empty()) Send(std::move(batch));
  }
}

void BatchingStage::Send(std::vector<Pending> batch) {
  if (batch.size() == 1) {
    inner_->InferAsync(std::move(batch[0].request), std::move(batch[0].done));
    return;
  }
  std::vector<const std::vector<Tensor>*> inputs;
  std::vector<int64_t> sizes;
  std::vector<Done> dones;
  for (const Pending& p : batch) {
    inputs.push_back(&p.request.inputs);
    sizes.push_back(p.rows);
  }
  StageRequest merged;
  merged.inputs = ConcatBatch(inputs);
  merged.outputs = batch[0].request.outputs;
  merged.priority = batch[0].request.priority;
  for (Pending& p : batch) dones.push_back(std::move(p.done));
  inner_->InferAsync(std::move(merged), [dones = std::move(dones), sizes = std::move(sizes)](
                                            absl::StatusOr<std::vector<Tensor>> result) {
    absl::StatusOr<std::vector<std::vector<Tensor>>> parts =
        result.ok() ? SplitBatch(*result, sizes)
                    : absl::StatusOr<std::vector<std::vector<Tensor>>>(result.status());
    for (size_t i = 0; i < dones.size(); ++i) {
      if (parts.ok()) {
        dones[i](std::move((*parts)[i]));
      } else {
        dones[i](parts.status());
      }
    }
  });
}

void BatchingStage::Shutdown() {
  MutexLock shutdown_lock(&shutdown_mu_);
  if (shut_down_) return;
  shut_down_ = true;
  std::deque<Pending> left;
  {
    MutexLock lock(&mu_);
    stopping_ = true;
    cv_.SignalAll();
  }
  if (flusher_.joinable()) flusher_.join();
  {
    MutexLock lock(&mu_);
    left.swap(pending_);
    pending_rows_ = 0;
  }
  for (Pending& p : left) p.done(absl::CancelledError("batching stage is shut down"));
  inner_->Shutdown();
}

BatchingFigures BatchingStage::figures() const {
  MutexLock lock(&mu_);
  return figures_;
}

}  // namespace dnoscope::models
