#include "serving/metrics.h"

#include <chrono>
#include <vector>

#include "fmt/format.h"

namespace dnoscope::serving {
namespace {

uint64_t ToNanos(Clock::Duration d) {
  // A clock that went backwards must not wrap the unsigned counters.
  return d.count() > 0 ? static_cast<uint64_t>(d.count()) : 0;
}

struct Family {
  const char* name;
  const char* type;
  const char* help;
  // Renders the sample value of one model's snapshot.
  std::string (*value)(const ModelStats::Snapshot&);
};

// Triton's metric names; the order is the order of the exposition.
const Family kFamilies[] = {
    {"nv_inference_request_success", "counter",
     "Number of inference requests that succeeded, all batch sizes",
     [](const ModelStats::Snapshot& s) { return fmt::format("{}", s.request_success); }},
    {"nv_inference_request_failure", "counter",
     "Number of inference requests that failed, all batch sizes",
     [](const ModelStats::Snapshot& s) { return fmt::format("{}", s.request_failure); }},
    {"nv_inference_count", "counter", "Number of batch items inferred by successful executions",
     [](const ModelStats::Snapshot& s) { return fmt::format("{}", s.inference_count); }},
    {"nv_inference_exec_count", "counter", "Number of successful model executions",
     [](const ModelStats::Snapshot& s) { return fmt::format("{}", s.exec_count); }},
    {"nv_inference_pending_request_count", "gauge",
     "Number of requests queued or executing right now",
     [](const ModelStats::Snapshot& s) { return fmt::format("{}", s.pending_request_count); }},
    {"nv_inference_request_duration_us", "counter",
     "Cumulative submit-to-response time of successful requests in microseconds",
     [](const ModelStats::Snapshot& s) { return fmt::format("{}", s.request_duration_us); }},
    {"nv_inference_queue_duration_us", "counter",
     "Cumulative time successful requests waited in the queue in microseconds",
     [](const ModelStats::Snapshot& s) { return fmt::format("{}", s.queue_duration_us); }},
    {"nv_inference_compute_infer_duration_us", "counter",
     "Cumulative time spent in successful model executions in microseconds",
     [](const ModelStats::Snapshot& s) { return fmt::format("{}", s.compute_infer_duration_us); }},
};

}  // namespace

void ModelStats::AddPending(int64_t delta) {
  pending_request_count_.fetch_add(delta, std::memory_order_relaxed);
}

void ModelStats::RecordSuccess(Clock::Duration request, Clock::Duration queue,
                               Clock::Duration compute) {
  request_success_.fetch_add(1, std::memory_order_relaxed);
  request_duration_ns_.fetch_add(ToNanos(request), std::memory_order_relaxed);
  queue_duration_ns_.fetch_add(ToNanos(queue), std::memory_order_relaxed);
  request_compute_ns_.fetch_add(ToNanos(compute), std::memory_order_relaxed);
  // A wall-clock stamp for the statistics extension, not a timed decision.
  const auto since_epoch = std::chrono::system_clock::now().time_since_epoch();
  last_inference_ms_.store(std::chrono::duration_cast<std::chrono::milliseconds>(since_epoch).count(),
                           std::memory_order_relaxed);
}

void ModelStats::RecordFailure(Clock::Duration request) {
  request_failure_.fetch_add(1, std::memory_order_relaxed);
  failure_duration_ns_.fetch_add(ToNanos(request), std::memory_order_relaxed);
}

void ModelStats::RecordExecution(int64_t batch_items, Clock::Duration compute) {
  exec_count_.fetch_add(1, std::memory_order_relaxed);
  inference_count_.fetch_add(batch_items > 0 ? static_cast<uint64_t>(batch_items) : 0,
                             std::memory_order_relaxed);
  compute_infer_duration_ns_.fetch_add(ToNanos(compute), std::memory_order_relaxed);
}

ModelStats::Snapshot ModelStats::snapshot() const {
  constexpr auto kRelaxed = std::memory_order_relaxed;
  Snapshot s;
  s.request_success = request_success_.load(kRelaxed);
  s.request_failure = request_failure_.load(kRelaxed);
  s.inference_count = inference_count_.load(kRelaxed);
  s.exec_count = exec_count_.load(kRelaxed);
  s.pending_request_count = pending_request_count_.load(kRelaxed);
  s.request_duration_ns = request_duration_ns_.load(kRelaxed);
  s.queue_duration_ns = queue_duration_ns_.load(kRelaxed);
  s.failure_duration_ns = failure_duration_ns_.load(kRelaxed);
  s.request_compute_ns = request_compute_ns_.load(kRelaxed);
  s.last_inference_ms = last_inference_ms_.load(kRelaxed);
  s.request_duration_us = s.request_duration_ns / 1000;
  s.queue_duration_us = s.queue_duration_ns / 1000;
  s.compute_infer_duration_us = compute_infer_duration_ns_.load(kRelaxed) / 1000;
  return s;
}

ModelStats* MetricsRegistry::GetOrCreate(std::string_view model, int64_t version) {
  MutexLock lock(&mu_);
  auto& slot = stats_[{std::string(model), version}];
  if (slot == nullptr) slot = std::make_unique<ModelStats>(std::string(model), version);
  return slot.get();
}

std::string MetricsRegistry::RenderPrometheus() const {
  // Snapshot under the lock, format outside it.
  std::vector<std::pair<std::string, ModelStats::Snapshot>> rows;
  {
    MutexLock lock(&mu_);
    rows.reserve(stats_.size());
    for (const auto& [key, stats] : stats_) {
      rows.emplace_back(fmt::format("{{model=\"{}\",version=\"{}\"}}",
                                    EscapePrometheusLabelValue(key.first), key.second),
                        stats->snapshot());
    }
  }
  std::string out;
  for (const Family& family : kFamilies) {
    out += fmt::format("# HELP {} {}\n# TYPE {} {}\n", family.name, family.help, family.name,
                       family.type);
    for (const auto& [labels, snapshot] : rows) {
      out += fmt::format("{}{} {}\n", family.name, labels, family.value(snapshot));
    }
  }
  return out;
}

std::string EscapePrometheusLabelValue(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    switch (c) {
      case '\\':
        out += "\\\\";
        break;
      case '"':
        out += "\\\"";
        break;
      case '\n':
        out += "\\n";
        break;
      default:
        out += c;
    }
  }
  return out;
}

}  // namespace dnoscope::serving
