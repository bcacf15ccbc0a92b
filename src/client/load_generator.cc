#include "client/load_generator.h"

#include <algorithm>
#include <atomic>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "common/mutex.h"
#include "common/status_macros.h"
#include "fmt/format.h"

namespace dnoscope::client {
namespace {

absl::Status Validate(const LoadOptions& options) {
  if (options.concurrency < 1) return absl::InvalidArgumentError("concurrency must be >= 1");
  if (options.io_threads < 1) return absl::InvalidArgumentError("io_threads must be >= 1");
  if (options.duration <= std::chrono::milliseconds::zero()) {
    return absl::InvalidArgumentError("duration must be positive");
  }
  if (options.warmup < std::chrono::milliseconds::zero() ||
      options.drain_timeout < std::chrono::milliseconds::zero()) {
    return absl::InvalidArgumentError("warmup and drain_timeout must not be negative");
  }
  return absl::OkStatus();
}

// The shared state of one run. Each of the `concurrency` request chains
// re-issues from its completion callback until the window closes.
class ClosedLoop {
 public:
  ClosedLoop(const LoadOptions& options, std::function<HttpCall(int64_t)> make_call,
             Clock* clock, HttpClient* client)
      : options_(options), make_call_(std::move(make_call)), clock_(clock), client_(client) {
    const Clock::TimePoint now = clock_->Now();
    window_start_ = now + options.warmup;
    window_end_ = window_start_ + options.duration;
    outstanding_ = options.concurrency;
  }

  void Start() {
    for (int i = 0; i < options_.concurrency; ++i) IssueNext();
  }

  // Blocks until the window closed and every chain ended, or the drain timed
  // out. Chains that all ended early (bad calls) end the wait early too.
  void Wait() {
    MutexLock lock(&mu_);
    while (outstanding_ > 0 && !clock_->WaitUntil(&mu_, &drained_, window_end_)) {
    }
    const Clock::TimePoint give_up = clock_->Now() + options_.drain_timeout;
    while (outstanding_ > 0 && !clock_->WaitUntil(&mu_, &drained_, give_up)) {
    }
  }

  absl::StatusOr<LoadResult> TakeResult() {
    MutexLock lock(&mu_);
    if (!fatal_.ok()) return fatal_;
    result_.seconds = std::chrono::duration<double>(options_.duration).count();
    result_.requests_per_second = static_cast<double>(result_.requests) / result_.seconds;
    return std::move(result_);
  }

 private:
  void IssueNext() {
    HttpCall call = make_call_(next_index_.fetch_add(1, std::memory_order_relaxed));
    const Clock::TimePoint start = clock_->Now();
    client_->Send(options_.endpoint, std::move(call),
                  [this, start](absl::StatusOr<HttpResult> result) { OnDone(start, result); });
  }

  void OnDone(Clock::TimePoint start, const absl::StatusOr<HttpResult>& result) {
    const Clock::TimePoint now = clock_->Now();
    // Bad calls and shutdown end the chain; anything else keeps it going.
    const bool chain_ends = now >= window_end_ || absl::IsInvalidArgument(result.status()) ||
                            absl::IsCancelled(result.status());
    {
      MutexLock lock(&mu_);
      if (absl::IsInvalidArgument(result.status()) && fatal_.ok()) fatal_ = result.status();
      if (now >= window_start_ && now < window_end_) Count(now - start, result);
      if (chain_ends) --outstanding_;
    }
    if (!chain_ends) {
      IssueNext();
    } else {
      drained_.SignalAll();
    }
  }

  void Count(Clock::Duration latency, const absl::StatusOr<HttpResult>& result)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    ++result_.requests;
    result_.latency.Record(latency);
    const int status = result.ok() ? result->status : 0;
    ++result_.status_counts[status];
    if (status >= 200 && status < 300) return;
    ++result_.errors;
    if (!result_.first_error.empty()) return;
    result_.first_error =
        result.ok() ? fmt::format("HTTP {}: {}", status, result->body.substr(0, 200))
                    : result.status().ToString();
  }

  const LoadOptions& options_;
  const std::function<HttpCall(int64_t)> make_call_;
  Clock* const clock_;
  HttpClient* const client_;
  Clock::TimePoint window_start_;
  Clock::TimePoint window_end_;
  std::atomic<int64_t> next_index_{0};

  Mutex mu_;
  CondVar drained_;
  int outstanding_ ABSL_GUARDED_BY(mu_) = 0;
  LoadResult result_ ABSL_GUARDED_BY(mu_);
  absl::Status fatal_ ABSL_GUARDED_BY(mu_);
};

}  // namespace

absl::StatusOr<LoadResult> RunClosedLoop(const LoadOptions& options,
                                         std::function<HttpCall(int64_t i)> make_call,
                                         Clock* clock) {
  DNS_RETURN_IF_ERROR(Validate(options));
  if (!make_call) return absl::InvalidArgumentError("make_call must be set");
  HttpClientOptions client_options;
  client_options.io_threads = options.io_threads;
  client_options.max_connections_per_endpoint = options.concurrency;
  DNS_ASSIGN_OR_RETURN(std::unique_ptr<HttpClient> client,
                       HttpClient::Create(client_options, clock));
  ClosedLoop loop(options, std::move(make_call), clock, client.get());
  loop.Start();
  loop.Wait();
  client->Shutdown();  // cancels stragglers; their callbacks end before this returns
  return loop.TakeResult();
}

}  // namespace dnoscope::client
