#include "client/remote_model.h"

#include <algorithm>
#include <future>

#include "absl/status/status.h"
#include "common/status_macros.h"
#include "fmt/format.h"
#include "fmt/ranges.h"
#include "spdlog/spdlog.h"

namespace dnoscope::client {
namespace {

// How often the timer thread checks for probes and waiting requests.
constexpr std::chrono::milliseconds kTick{10};
// With a clock other than the real one (tests), how long it waits in real time.
constexpr std::chrono::milliseconds kFakeClockPoll{1};

// Prefixes the endpoint, unless the message already names it (transport
// errors do: "read from host:port: end of stream").
absl::Status WithContext(const absl::Status& s, std::string_view context) {
  const std::string message(s.message());
  if (message.find(context) != std::string::npos) return s;
  return absl::Status(s.code(), fmt::format("{}: {}", context, message));
}

absl::Status CheckOptions(const std::vector<Endpoint>& endpoints, const RemoteModelOptions& o) {
  if (endpoints.empty()) return absl::InvalidArgumentError("a remote model needs an endpoint");
  if (o.model.empty()) return absl::InvalidArgumentError("a remote model needs a model name");
  if (o.max_attempts < 1 || o.attempt_timeout.count() <= 0 || o.retry_backoff.count() < 0 ||
      o.retry_backoff_max < o.retry_backoff || o.unavailable_patience.count() < 0) {
    return absl::InvalidArgumentError(
        "remote model options: max_attempts >= 1, attempt_timeout > 0, "
        "0 <= retry_backoff <= retry_backoff_max, unavailable_patience >= 0");
  }
  return absl::OkStatus();
}

}  // namespace

struct RemoteModel::Request {
  HttpCall call;
  Done done;
  // Endpoints that failed this request (avoided while others are usable).
  std::vector<size_t> tried;
  int attempts = 0;
  absl::Status last_error;
};

absl::StatusOr<std::unique_ptr<RemoteModel>> RemoteModel::Create(std::vector<Endpoint> endpoints,
                                                                 const RemoteModelOptions& options,
                                                                 Clock* clock) {
  DNS_RETURN_IF_ERROR(CheckOptions(endpoints, options));
  DNS_ASSIGN_OR_RETURN(std::unique_ptr<LoadBalancer> balancer,
                       LoadBalancer::Create(endpoints, options.balancer, clock));
  DNS_ASSIGN_OR_RETURN(std::unique_ptr<HttpClient> http, HttpClient::Create(options.http, clock));
  return std::unique_ptr<RemoteModel>(new RemoteModel(std::move(endpoints), options, clock,
                                                      std::move(balancer), std::move(http)));
}

RemoteModel::RemoteModel(std::vector<Endpoint> endpoints, const RemoteModelOptions& options,
                         Clock* clock, std::unique_ptr<LoadBalancer> balancer,
                         std::unique_ptr<HttpClient> http)
    : endpoints_(std::move(endpoints)),
      options_(options),
      clock_(clock),
      real_clock_(dynamic_cast<const RealClock*>(clock) != nullptr),
      balancer_(std::move(balancer)),
      http_(std::move(http)),
      bytes_sent_(endpoints_.size()) {
  metadata_.name = options_.model;
  timer_thread_ = std::jthread([this](std::stop_token stop) { TimerLoop(stop); });
}

RemoteModel::~RemoteModel() { Shutdown(); }

absl::StatusOr<models::ModelMetadata> RemoteModel::FetchMetadata() {
  std::vector<std::string> errors;
  for (const Endpoint& endpoint : endpoints_) {
    HttpCall call = MetadataCall(options_.format, options_.model, options_.version);
    call.deadline = clock_->Now() + options_.attempt_timeout;
    absl::StatusOr<HttpResult> reply = http_->SendSync(endpoint, std::move(call));
    absl::StatusOr<models::ModelMetadata> metadata =
        reply.ok() ? DecodeMetadataResult(options_.format, *reply) : reply.status();
    if (metadata.ok()) {
      std::lock_guard lock(mu_);
      metadata_ = *metadata;
      return metadata;
    }
    const std::string where = fmt::format("model '{}' on {}", options_.model, endpoint.ToString());
    if (!IsRetryable(metadata.status())) return WithContext(metadata.status(), where);
    errors.push_back(
        fmt::format("{}: {}", endpoint.ToString(), std::string(metadata.status().message())));
  }
  return absl::UnavailableError(fmt::format("no server of model '{}' answered: {}", options_.model,
                                            fmt::join(errors, "; ")));
}

void RemoteModel::InferAsync(std::vector<Tensor> inputs, std::vector<std::string> outputs,
                             Done done) {
  absl::StatusOr<HttpCall> call =
      EncodeInferCall(options_.format, options_.model, options_.version, inputs, outputs);
  if (!call.ok()) {
    done(call.status());
    return;
  }
  auto request = std::make_shared<Request>();
  request->call = std::move(*call);
  request->done = std::move(done);
  in_flight_.fetch_add(1);
  {
    std::lock_guard lock(mu_);
    if (!stopping_ && !waiting_.empty()) {  // keep FIFO order behind waiting requests
      waiting_.push_back(std::move(request));
      return;
    }
  }
  TryDispatch(request);
}

absl::StatusOr<std::vector<Tensor>> RemoteModel::Infer(std::vector<Tensor> inputs,
                                                       std::vector<std::string> outputs) {
  std::promise<absl::StatusOr<std::vector<Tensor>>> promise;
  std::future<absl::StatusOr<std::vector<Tensor>>> future = promise.get_future();
  InferAsync(std::move(inputs), std::move(outputs),
             [&promise](absl::StatusOr<std::vector<Tensor>> r) { promise.set_value(std::move(r)); });
  return future.get();
}

bool RemoteModel::TryDispatch(const std::shared_ptr<Request>& request) {
  {
    std::unique_lock lock(mu_);
    if (stopping_) {
      lock.unlock();
      Finish(request, absl::CancelledError("remote model shut down"));
      return true;
    }
  }
  std::optional<size_t> index = balancer_->Pick(request->tried);
  if (!index && !request->tried.empty()) index = balancer_->Pick();  // all tried: any will do
  if (!index) {
    std::lock_guard lock(mu_);
    waiting_.push_front(request);
    return false;
  }
  HttpCall call = request->call;
  call.deadline = clock_->Now() + options_.attempt_timeout;
  bytes_sent_[*index].fetch_add(static_cast<int64_t>(call.body.size()));
  http_->Send(endpoints_[*index], std::move(call),
              [this, request, i = *index](absl::StatusOr<HttpResult> reply) {
                OnReply(request, i, std::move(reply));
              });
  return true;
}

void RemoteModel::OnReply(std::shared_ptr<Request> request, size_t endpoint,
                          absl::StatusOr<HttpResult> reply) {
  models::ModelMetadata metadata;
  if (options_.format == WireFormat::kTfServing) {
    std::lock_guard lock(mu_);
    metadata = metadata_;
  }
  absl::StatusOr<std::vector<Tensor>> result =
      reply.ok() ? DecodeInferResult(options_.format, *reply, metadata) : reply.status();
  const bool retryable = !result.ok() && IsRetryable(result.status());
  // A request error (4xx) is the endpoint working as it should.
  balancer_->Release(endpoint, !retryable);
  if (!retryable) {
    if (!result.ok()) {
      result = WithContext(result.status(), fmt::format("model '{}' on {}", options_.model,
                                                        endpoints_[endpoint].ToString()));
    }
    Finish(request, std::move(result));
  } else {
    request->last_error = WithContext(result.status(), endpoints_[endpoint].ToString());
    request->tried.push_back(endpoint);
    if (++request->attempts >= options_.max_attempts) {
      Finish(request, absl::Status(request->last_error.code(),
                                   fmt::format("model '{}': {} attempts failed, last on {}",
                                               options_.model, request->attempts,
                                               std::string(request->last_error.message()))));
    } else {
      retries_.fetch_add(1);
      std::unique_lock lock(mu_);
      if (stopping_) {
        lock.unlock();
        Finish(request, absl::CancelledError("remote model shut down"));
        return;
      }
      delayed_.emplace(clock_->Now() + Backoff(request->attempts), request);
    }
  }
  Pump();
}

void RemoteModel::Finish(const std::shared_ptr<Request>& request,
                         absl::StatusOr<std::vector<Tensor>> result) {
  if (!result.ok()) failed_requests_.fetch_add(1);
  Done done = std::move(request->done);
  in_flight_.fetch_sub(1);
  done(std::move(result));
}

void RemoteModel::Pump() {
  while (true) {
    std::shared_ptr<Request> next;
    {
      std::lock_guard lock(mu_);
      if (waiting_.empty() || stopping_) return;
      next = std::move(waiting_.front());
      waiting_.pop_front();
    }
    if (!TryDispatch(next)) return;
  }
}

Clock::Duration RemoteModel::Backoff(int attempt) const {
  auto backoff = std::chrono::duration_cast<Clock::Duration>(options_.retry_backoff);
  for (int i = 1; i < attempt && backoff < options_.retry_backoff_max; ++i) backoff *= 2;
  return std::min<Clock::Duration>(backoff, options_.retry_backoff_max);
}

void RemoteModel::TimerLoop(std::stop_token stop) {
  while (!stop.stop_requested()) {
    RunDueRetries();
    ProbeDueEndpoints();
    Pump();
    FailWaitingIfAllDown();
    std::unique_lock lock(mu_);
    if (stopping_) return;
    if (real_clock_) {
      Clock::TimePoint wake = clock_->Now() + kTick;
      if (!delayed_.empty()) wake = std::min(wake, delayed_.begin()->first);
      cv_.wait_until(lock, wake, [&] { return stopping_; });
    } else {
      cv_.wait_for(lock, kFakeClockPoll, [&] { return stopping_; });
    }
  }
}

void RemoteModel::RunDueRetries() {
  std::vector<std::shared_ptr<Request>> due;
  {
    std::lock_guard lock(mu_);
    const Clock::TimePoint now = clock_->Now();
    while (!delayed_.empty() && delayed_.begin()->first <= now) {
      due.push_back(std::move(delayed_.begin()->second));
      delayed_.erase(delayed_.begin());
    }
  }
  for (size_t i = 0; i < due.size(); ++i) {
    if (TryDispatch(due[i])) continue;
    // No endpoint has room: the rest wait behind it.
    std::lock_guard lock(mu_);
    waiting_.insert(waiting_.end(), due.begin() + i + 1, due.end());
    return;
  }
}

void RemoteModel::ProbeDueEndpoints() {
  for (size_t index : balancer_->DueForProbe()) {
    HttpCall call = ReadinessCall(options_.format, options_.model);
    call.deadline = clock_->Now() + options_.attempt_timeout;
    http_->Send(endpoints_[index], std::move(call),
                [this, index](absl::StatusOr<HttpResult> reply) {
                  const bool healthy = reply.ok() && reply->status == 200;
                  if (healthy) spdlog::info("{} is ready again", endpoints_[index].ToString());
                  balancer_->ProbeResult(index, healthy);
                });
  }
}

void RemoteModel::FailWaitingIfAllDown() {
  const std::optional<Clock::TimePoint> since = balancer_->AllEjectedSince();
  if (!since || clock_->Now() - *since < options_.unavailable_patience) return;
  std::vector<std::shared_ptr<Request>> failed;
  {
    std::lock_guard lock(mu_);
    failed.assign(waiting_.begin(), waiting_.end());
    waiting_.clear();
    for (auto& [when, request] : delayed_) failed.push_back(std::move(request));
    delayed_.clear();
  }
  for (const std::shared_ptr<Request>& request : failed) {
    Finish(request, absl::UnavailableError(fmt::format(
                        "every server of model '{}' has been unavailable for {} ms (last error: {})",
                        options_.model, options_.unavailable_patience.count(),
                        request->last_error.ok() ? "none"
                                                 : std::string(request->last_error.message()))));
  }
}

RemoteModelStats RemoteModel::stats() const {
  RemoteModelStats s;
  std::vector<LoadBalancer::EndpointStats> balancer = balancer_->Stats();
  for (size_t i = 0; i < balancer.size(); ++i) {
    const LoadBalancer::EndpointStats& b = balancer[i];
    s.endpoints.push_back({b.endpoint, b.in_flight, b.requests, b.failures, b.ejections, b.ejected,
                           bytes_sent_[i].load()});
  }
  s.retries = retries_.load();
  s.failed_requests = failed_requests_.load();
  return s;
}

void RemoteModel::Shutdown() {
  std::vector<std::shared_ptr<Request>> pending;
  {
    std::lock_guard lock(mu_);
    if (stopping_) return;
    stopping_ = true;
    pending.assign(waiting_.begin(), waiting_.end());
    waiting_.clear();
    for (auto& [when, request] : delayed_) pending.push_back(std::move(request));
    delayed_.clear();
  }
  cv_.notify_all();
  timer_thread_.request_stop();
  if (timer_thread_.joinable()) timer_thread_.join();
  http_->Shutdown();  // in-flight attempts complete with Cancelled
  for (const std::shared_ptr<Request>& request : pending) {
    Finish(request, absl::CancelledError("remote model shut down"));
  }
}

}  // namespace dnoscope::client
