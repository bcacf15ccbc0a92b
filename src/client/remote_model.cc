#include "client/remote_model.h"

#include <algorithm>
#include <future>
#include <optional>
#include <utility>

#include "absl/status/status.h"
#include "common/status_macros.h"
#include "fmt/format.h"
#include "fmt/ranges.h"
#include "spdlog/spdlog.h"

namespace dnoscope::client {
namespace {

// Prefixes the context, unless the message already names it (transport
// errors name the endpoint: "read from host:port: end of stream").
absl::Status WithContext(const absl::Status& s, std::string_view context) {
  const std::string message(s.message());
  if (message.find(context) != std::string::npos) return s;
  return absl::Status(s.code(), fmt::format("{}: {}", context, message));
}

absl::Status CheckArgs(const Transport* transport, const RemoteModelOptions& o, Clock* clock) {
  if (transport == nullptr || clock == nullptr) {
    return absl::InvalidArgumentError("a remote model needs a transport and a clock");
  }
  if (o.model.empty()) return absl::InvalidArgumentError("a remote model needs a model name");
  if (o.max_attempts < 1 || o.attempt_timeout.count() <= 0 || o.retry_backoff.count() < 0 ||
      o.retry_backoff_max < o.retry_backoff || o.unavailable_patience.count() < 0) {
    return absl::InvalidArgumentError(
        "remote model options: max_attempts >= 1, attempt_timeout > 0, "
        "0 <= retry_backoff <= retry_backoff_max, unavailable_patience >= 0");
  }
  return absl::OkStatus();
}

// The model's metadata from the first endpoint that answers.
absl::StatusOr<models::ModelMetadata> FetchFromFirstAnswering(Transport& transport,
                                                              const RemoteModelOptions& o,
                                                              Clock* clock) {
  std::vector<std::string> errors;
  for (size_t i = 0; i < transport.endpoints().size(); ++i) {
    const std::string where = transport.endpoints()[i].ToString();
    absl::StatusOr<models::ModelMetadata> metadata =
        transport.FetchMetadata(i, o.model, o.version, clock->Now() + o.attempt_timeout);
    if (metadata.ok()) return metadata;
    if (!IsRetryable(metadata.status())) {
      return WithContext(metadata.status(), fmt::format("model '{}' on {}", o.model, where));
    }
    errors.push_back(fmt::format("{}: {}", where, std::string(metadata.status().message())));
  }
  return absl::UnavailableError(
      fmt::format("no server of model '{}' answered: {}", o.model, fmt::join(errors, "; ")));
}

size_t QueueOf(models::Priority priority) { return priority == models::Priority::kNormal ? 0 : 1; }

}  // namespace

struct RemoteModel::Request {
  std::shared_ptr<const PreparedCall> call;
  models::Priority priority = models::Priority::kNormal;
  models::CancelFlag cancelled;
  Done done;
  // Endpoints that failed this request (avoided while others have room).
  std::vector<size_t> tried;
  // Failed attempts so far.
  int attempts = 0;
  absl::Status last_error;

  bool Withdrawn() const { return cancelled != nullptr && cancelled->load(); }
};

absl::StatusOr<std::unique_ptr<RemoteModel>> RemoteModel::Connect(
    std::unique_ptr<Transport> transport, const RemoteModelOptions& options, Clock* clock) {
  DNS_RETURN_IF_ERROR(CheckArgs(transport.get(), options, clock));
  DNS_ASSIGN_OR_RETURN(models::ModelMetadata metadata,
                       FetchFromFirstAnswering(*transport, options, clock));
  return Create(std::move(transport), options, std::move(metadata), clock);
}

absl::StatusOr<std::unique_ptr<RemoteModel>> RemoteModel::Create(
    std::unique_ptr<Transport> transport, const RemoteModelOptions& options,
    models::ModelMetadata metadata, Clock* clock) {
  DNS_RETURN_IF_ERROR(CheckArgs(transport.get(), options, clock));
  DNS_ASSIGN_OR_RETURN(std::unique_ptr<LoadBalancer> balancer,
                       LoadBalancer::Create(transport->endpoints(), options.balancer, clock));
  if (!options.class_names.empty()) metadata.class_names = options.class_names;
  return std::unique_ptr<RemoteModel>(new RemoteModel(
      std::move(transport), options, std::move(metadata), std::move(balancer), clock));
}

RemoteModel::RemoteModel(std::unique_ptr<Transport> transport, const RemoteModelOptions& options,
                         models::ModelMetadata metadata, std::unique_ptr<LoadBalancer> balancer,
                         Clock* clock)
    : transport_(std::move(transport)),
      options_(options),
      metadata_(std::move(metadata)),
      balancer_(std::move(balancer)),
      clock_(clock),
      bytes_sent_(transport_->endpoints().size()) {
  timer_thread_ = std::jthread([this] { TimerLoop(); });
}

RemoteModel::~RemoteModel() { Shutdown(); }

std::string RemoteModel::Describe() const {
  return fmt::format("remote '{}' at {} ({}, {})", options_.model,
                     EndpointListString(transport_->endpoints()), transport_->name(),
                     BalancePolicyName(options_.balancer.policy));
}

void RemoteModel::InferAsync(models::StageRequest request, Done done) {
  absl::StatusOr<std::shared_ptr<const PreparedCall>> call = transport_->Prepare(
      {options_.model, options_.version, std::move(request.inputs), std::move(request.outputs)});
  if (!call.ok()) {
    failed_requests_.fetch_add(1);
    return done(call.status());
  }
  auto r = std::make_shared<Request>();
  r->call = *std::move(call);
  r->priority = request.priority;
  r->cancelled = std::move(request.cancelled);
  r->done = std::move(done);
  in_flight_.fetch_add(1);
  bool accepted = false;
  {
    MutexLock lock(&mu_);
    if (!stopping_) {
      waiting_[QueueOf(r->priority)].push_back(r);
      accepted = true;
    }
  }
  if (!accepted) return Finish(r, absl::CancelledError("remote model shut down"));
  // With every endpoint out, the timer must count the patience for it.
  if (balancer_->AllEjected()) Kick();
  Pump();
}

absl::StatusOr<std::vector<Tensor>> RemoteModel::Infer(models::StageRequest request) {
  std::promise<absl::StatusOr<std::vector<Tensor>>> promise;
  std::future<absl::StatusOr<std::vector<Tensor>>> future = promise.get_future();
  InferAsync(std::move(request), [&promise](absl::StatusOr<std::vector<Tensor>> r) {
    promise.set_value(std::move(r));
  });
  return future.get();
}

void RemoteModel::Pump() {
  while (true) {
    size_t endpoint = 0;
    std::vector<RequestPtr> withdrawn;
    RequestPtr next;
    {
      MutexLock lock(&mu_);
      next = TakeDispatchable(&endpoint, &withdrawn);
    }
    for (const RequestPtr& r : withdrawn) Finish(r, absl::CancelledError("request withdrawn"));
    if (next == nullptr) return;
    Send(next, endpoint);
  }
}

RemoteModel::RequestPtr RemoteModel::TakeDispatchable(size_t* endpoint,
                                                      std::vector<RequestPtr>* withdrawn) {
  if (stopping_) return nullptr;
  // Normal priority first; a low-priority request goes only when no normal
  // one waits.
  for (std::deque<RequestPtr>& queue : waiting_) {
    while (!queue.empty() && queue.front()->Withdrawn()) {
      withdrawn->push_back(std::move(queue.front()));
      queue.pop_front();
    }
    if (queue.empty()) continue;
    const RequestPtr& head = queue.front();
    std::optional<size_t> picked = balancer_->Pick(head->tried);
    if (!picked && !head->tried.empty()) picked = balancer_->Pick();  // all tried: any will do
    if (!picked) return nullptr;  // the head and everything behind it wait for room
    *endpoint = *picked;
    RequestPtr request = std::move(queue.front());
    queue.pop_front();
    return request;
  }
  return nullptr;
}

void RemoteModel::Send(const RequestPtr& request, size_t endpoint) {
  bytes_sent_[endpoint].fetch_add(request->call->byte_size());
  transport_->Infer(endpoint, request->call, clock_->Now() + options_.attempt_timeout,
                    [this, request, endpoint](absl::StatusOr<std::vector<Tensor>> result) {
                      OnReply(request, endpoint, std::move(result));
                    });
}

void RemoteModel::OnReply(const RequestPtr& request, size_t endpoint,
                          absl::StatusOr<std::vector<Tensor>> result) {
  const bool retryable = !result.ok() && IsRetryable(result.status());
  // A request error is the endpoint working as it should.
  balancer_->Release(endpoint, !retryable);
  const std::string where = transport_->endpoints()[endpoint].ToString();
  if (!retryable) {
    if (!result.ok()) {
      result = WithContext(result.status(), fmt::format("model '{}' on {}", options_.model, where));
    }
    Finish(request, std::move(result));
  } else {
    request->last_error = WithContext(result.status(), where);
    request->tried.push_back(endpoint);
    ++request->attempts;
    RetryOrFail(request);
    // The failure may have ejected the endpoint: a probe and maybe the
    // patience are due now, and a back-off runs.
    Kick();
  }
  Pump();
}

void RemoteModel::RetryOrFail(const RequestPtr& request) {
  if (request->attempts >= options_.max_attempts) {
    return Finish(request, absl::Status(request->last_error.code(),
                                        fmt::format("model '{}': {} attempts failed, last on {}",
                                                    options_.model, request->attempts,
                                                    std::string(request->last_error.message()))));
  }
  if (request->Withdrawn()) return Finish(request, absl::CancelledError("request withdrawn"));
  {
    MutexLock lock(&mu_);
    if (!stopping_) {
      retries_.fetch_add(1);
      delayed_.emplace(clock_->Now() + Backoff(request->attempts), request);
      return;
    }
  }
  Finish(request, absl::CancelledError("remote model shut down"));
}

void RemoteModel::Finish(const RequestPtr& request, absl::StatusOr<std::vector<Tensor>> result) {
  if (!result.ok()) failed_requests_.fetch_add(1);
  Done done = std::move(request->done);
  in_flight_.fetch_sub(1);
  done(std::move(result));
}

void RemoteModel::Kick() {
  {
    MutexLock lock(&mu_);
    kicked_ = true;
  }
  timer_cv_.Signal();
}

Clock::Duration RemoteModel::Backoff(int attempt) const {
  auto backoff = std::chrono::duration_cast<Clock::Duration>(options_.retry_backoff);
  for (int i = 1; i < attempt && backoff < options_.retry_backoff_max; ++i) backoff *= 2;
  return std::min<Clock::Duration>(backoff, options_.retry_backoff_max);
}

void RemoteModel::TimerLoop() {
  while (true) {
    ReleaseDueRetries();
    ProbeDueEndpoints();
    Pump();
    FailWaitingIfAllDown();
    MutexLock lock(&mu_);
    const Clock::TimePoint next = NextEvent();
    while (!stopping_ && !kicked_ && !clock_->WaitUntil(&mu_, &timer_cv_, next)) {
    }
    kicked_ = false;
    if (stopping_) return;
  }
}

Clock::TimePoint RemoteModel::NextEvent() const {
  // The balancer knows when the next ejection ends (a probe is due then).
  Clock::TimePoint next = balancer_->NextEventTime();
  if (!delayed_.empty()) next = std::min(next, delayed_.begin()->first);
  if (AnythingWaits()) {
    if (std::optional<Clock::TimePoint> since = balancer_->AllEjectedSince()) {
      next = std::min(next, *since + options_.unavailable_patience);
    }
  }
  return next;
}

bool RemoteModel::AnythingWaits() const {
  return !delayed_.empty() || !waiting_[0].empty() || !waiting_[1].empty();
}

void RemoteModel::ReleaseDueRetries() {
  MutexLock lock(&mu_);
  const Clock::TimePoint now = clock_->Now();
  std::vector<RequestPtr> due;
  while (!delayed_.empty() && delayed_.begin()->first <= now) {
    due.push_back(std::move(delayed_.begin()->second));
    delayed_.erase(delayed_.begin());
  }
  // Retries are older than anything waiting: they go first, in order.
  for (auto it = due.rbegin(); it != due.rend(); ++it) {
    waiting_[QueueOf((*it)->priority)].push_front(std::move(*it));
  }
}

void RemoteModel::ProbeDueEndpoints() {
  for (size_t endpoint : balancer_->DueForProbe()) {
    transport_->Probe(endpoint, options_.model, clock_->Now() + options_.attempt_timeout,
                      [this, endpoint](const absl::Status& status) { OnProbe(endpoint, status); });
  }
}

void RemoteModel::OnProbe(size_t endpoint, const absl::Status& status) {
  if (status.ok()) {
    spdlog::info("{} is ready again", transport_->endpoints()[endpoint].ToString());
  }
  balancer_->ProbeResult(endpoint, status.ok());
  Kick();  // a re-ejection moves the next probe
  Pump();  // a readmitted endpoint takes waiting requests
}

void RemoteModel::FailWaitingIfAllDown() {
  const std::optional<Clock::TimePoint> since = balancer_->AllEjectedSince();
  if (!since || clock_->Now() - *since < options_.unavailable_patience) return;
  std::vector<RequestPtr> failed;
  {
    MutexLock lock(&mu_);
    for (std::deque<RequestPtr>& queue : waiting_) {
      failed.insert(failed.end(), queue.begin(), queue.end());
      queue.clear();
    }
    for (auto& [when, request] : delayed_) failed.push_back(std::move(request));
    delayed_.clear();
  }
  for (const RequestPtr& request : failed) {
    Finish(request, absl::UnavailableError(fmt::format(
                        "every server of model '{}' has been unavailable for {} ms (last error: {})",
                        options_.model, options_.unavailable_patience.count(),
                        request->last_error.ok() ? "none"
                                                 : std::string(request->last_error.message()))));
  }
}

models::StageStats RemoteModel::stats() const {
  models::StageStats s;
  const std::vector<LoadBalancer::EndpointStats> balancer = balancer_->Stats();
  for (size_t i = 0; i < balancer.size(); ++i) {
    const LoadBalancer::EndpointStats& b = balancer[i];
    s.endpoints.push_back({b.endpoint.ToString(), b.in_flight, b.requests, b.failures,
                           b.ejections, b.ejected, bytes_sent_[i].load()});
  }
  s.retries = retries_.load();
  return s;
}

void RemoteModel::Shutdown() {
  MutexLock shutdown_lock(&shutdown_mu_);
  std::vector<RequestPtr> pending;
  {
    MutexLock lock(&mu_);
    if (stopping_) return;
    stopping_ = true;
    for (std::deque<RequestPtr>& queue : waiting_) {
      pending.insert(pending.end(), queue.begin(), queue.end());
      queue.clear();
    }
    for (auto& [when, request] : delayed_) pending.push_back(std::move(request));
    delayed_.clear();
  }
  timer_cv_.SignalAll();
  if (timer_thread_.joinable()) timer_thread_.join();
  transport_->Shutdown();  // attempts on the wire complete with Cancelled
  for (const RequestPtr& request : pending) {
    Finish(request, absl::CancelledError("remote model shut down"));
  }
}

}  // namespace dnoscope::client
