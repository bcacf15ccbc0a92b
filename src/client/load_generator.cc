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

// How one request ended: `status` is the HTTP status code (0: the request
// failed before a response; protocols without HTTP answer 200 for success),
// `error` says why it failed.
struct Completion {
  absl::Status transport;
  int status = 0;
  std::string error;
};

// Sends the i-th request and calls back once with its completion.
using Sender = std::function<void(int64_t i, std::function<void(const Completion&)> done)>;

// The shared state of one run. Each of the `concurrency` request chains
// re-issues from its completion callback until the window closes.
class ClosedLoop {
 public:
  ClosedLoop(const LoadOptions& options, Sender send, Clock* clock)
      : options_(options), send_(std::move(send)), clock_(clock) {
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
    const Clock::TimePoint start = clock_->Now();
    send_(next_index_.fetch_add(1, std::memory_order_relaxed),
          [this, start](const Completion& c) { OnDone(start, c); });
  }

  void OnDone(Clock::TimePoint start, const Completion& c) {
    const Clock::TimePoint now = clock_->Now();
    // Bad calls and shutdown end the chain; anything else keeps it going.
    const bool chain_ends = now >= window_end_ || absl::IsInvalidArgument(c.transport) ||
                            absl::IsCancelled(c.transport);
    {
      MutexLock lock(&mu_);
      if (absl::IsInvalidArgument(c.transport) && fatal_.ok()) fatal_ = c.transport;
      if (now >= window_start_ && now < window_end_) Count(now - start, c);
      if (chain_ends) --outstanding_;
    }
    if (!chain_ends) {
      IssueNext();
    } else {
      drained_.SignalAll();
    }
  }

  void Count(Clock::Duration latency, const Completion& c) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    ++result_.requests;
    result_.latency.Record(latency);
    ++result_.status_counts[c.status];
    if (c.status >= 200 && c.status < 300) return;
    ++result_.errors;
    if (result_.first_error.empty()) result_.first_error = c.error;
  }

  const LoadOptions& options_;
  const Sender send_;
  Clock* const clock_;
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
  HttpClient* http = client.get();
  ClosedLoop loop(
      options,
      [&options, http, make_call = std::move(make_call)](
          int64_t i, std::function<void(const Completion&)> done) {
        http->Send(options.endpoint, make_call(i),
                   [done = std::move(done)](absl::StatusOr<HttpResult> result) {
                     if (!result.ok()) return done({result.status(), 0, result.status().ToString()});
                     done({absl::OkStatus(), result->status,
                           fmt::format("HTTP {}: {}", result->status, result->body.substr(0, 200))});
                   });
      },
      clock);
  loop.Start();
  loop.Wait();
  client->Shutdown();  // cancels stragglers; their callbacks end before this returns
  return loop.TakeResult();
}

absl::StatusOr<LoadResult> RunClosedLoop(const LoadOptions& options, Transport& transport,
                                         std::shared_ptr<const PreparedCall> call, Clock* clock) {
  DNS_RETURN_IF_ERROR(Validate(options));
  if (call == nullptr) return absl::InvalidArgumentError("call must be set");
  const auto attempt = std::chrono::duration_cast<Clock::Duration>(
      options.warmup + options.duration + options.drain_timeout);
  ClosedLoop loop(
      options,
      [&transport, call, clock, attempt](int64_t, std::function<void(const Completion&)> done) {
        transport.Infer(0, call, clock->Now() + attempt,
                        [done = std::move(done)](absl::StatusOr<std::vector<Tensor>> result) {
                          if (!result.ok()) {
                            return done({result.status(), 0, result.status().ToString()});
                          }
                          done({absl::OkStatus(), 200, ""});
                        });
      },
      clock);
  loop.Start();
  loop.Wait();
  transport.Shutdown();  // cancels stragglers; their callbacks end before this returns
  return loop.TakeResult();
}

}  // namespace dnoscope::client
