#include "live/webhook.h"

#include <utility>

#include "fmt/format.h"
#include "spdlog/spdlog.h"

namespace dnoscope::live {

absl::StatusOr<WebhookUrl> ParseWebhookUrl(const std::string& url) {
  constexpr std::string_view kScheme = "http://";
  if (url.rfind(kScheme, 0) != 0) {
    return absl::InvalidArgumentError(
        fmt::format("bad --events-url '{}': expected http://host:port/path", url));
  }
  const size_t slash = url.find('/', kScheme.size());
  WebhookUrl parsed;
  parsed.target = slash == std::string::npos ? "/" : url.substr(slash);
  absl::StatusOr<client::Endpoint> endpoint =
      client::ParseEndpoint(url.substr(0, slash == std::string::npos ? url.size() : slash));
  if (!endpoint.ok()) {
    return absl::InvalidArgumentError(
        fmt::format("bad --events-url '{}': {}", url, std::string(endpoint.status().message())));
  }
  parsed.endpoint = *endpoint;
  return parsed;
}

absl::StatusOr<std::unique_ptr<WebhookEventSink>> WebhookEventSink::Create(
    const std::string& url, WebhookOptions options, Clock* clock) {
  absl::StatusOr<WebhookUrl> parsed = ParseWebhookUrl(url);
  if (!parsed.ok()) return parsed.status();
  if (options.capacity < 1 || options.max_attempts < 1) {
    return absl::InvalidArgumentError("webhook queue capacity and attempts must be >= 1");
  }
  client::HttpClientOptions http_options;
  http_options.max_connections_per_endpoint = 1;
  absl::StatusOr<std::unique_ptr<client::HttpClient>> http =
      client::HttpClient::Create(http_options, clock);
  if (!http.ok()) return http.status();
  return std::unique_ptr<WebhookEventSink>(
      new WebhookEventSink(url, std::move(*parsed), options, clock, std::move(*http)));
}

WebhookEventSink::WebhookEventSink(std::string url, WebhookUrl parsed, WebhookOptions options,
                                   Clock* clock, std::unique_ptr<client::HttpClient> http)
    : url_(std::move(url)),
      parsed_(std::move(parsed)),
      options_(options),
      clock_(clock),
      http_(std::move(http)) {
  sender_ = std::thread([this] { SendLoop(); });
}

WebhookEventSink::~WebhookEventSink() { Close(); }

void WebhookEventSink::Publish(const Event& event) {
  std::string body = EventToJson(event);
  {
    MutexLock lock(&mu_);
    if (closing_) {
      ++counters_.dropped;
      return;
    }
    if (queue_.size() >= options_.capacity) {
      queue_.pop_front();
      ++counters_.dropped;
    }
    queue_.push_back(std::move(body));
  }
  cv_.SignalAll();
}

void WebhookEventSink::SendLoop() {
  while (true) {
    std::string body;
    {
      MutexLock lock(&mu_);
      while (!aborted_ && queue_.empty() && !closing_) cv_.Wait(&mu_);
      if (aborted_ || queue_.empty()) break;
      body = std::move(queue_.front());
      queue_.pop_front();
      busy_ = true;
    }
    Deliver(body);
    {
      MutexLock lock(&mu_);
      busy_ = false;
    }
    cv_.SignalAll();
  }
  MutexLock lock(&mu_);
  busy_ = false;
  cv_.SignalAll();
}

void WebhookEventSink::Deliver(const std::string& body) {
  Backoff backoff(options_.backoff);
  for (int attempt = 1;; ++attempt) {
    client::HttpCall call;
    call.method = "POST";
    call.target = parsed_.target;
    call.body = body;
    call.deadline = clock_->Now() + options_.attempt_timeout;
    absl::StatusOr<client::HttpResult> result = http_->SendSync(parsed_.endpoint, std::move(call));
    const bool ok = result.ok() && result->status >= 200 && result->status < 300;
    MutexLock lock(&mu_);
    if (ok) {
      ++counters_.sent;
      return;
    }
    if (aborted_) {
      ++counters_.dropped;
      return;
    }
    if (attempt >= options_.max_attempts) {
      ++counters_.failed;
      spdlog::warn("webhook {}: event not delivered after {} attempts: {}", url_, attempt,
                   result.ok() ? fmt::format("HTTP {}", result->status)
                               : std::string(result.status().message()));
      return;
    }
    ++counters_.retries;
    const Clock::TimePoint retry_at = clock_->Now() + backoff.Next();
    while (!aborted_ && !clock_->WaitUntil(&mu_, &cv_, retry_at)) {
    }
    if (aborted_) {
      ++counters_.dropped;
      return;
    }
  }
}

void WebhookEventSink::Close() {
  MutexLock close_lock(&close_mu_);
  if (!sender_.joinable()) return;
  {
    MutexLock lock(&mu_);
    closing_ = true;
    cv_.SignalAll();
    const Clock::TimePoint give_up = clock_->Now() + options_.drain_timeout;
    while ((busy_ || !queue_.empty()) && !clock_->WaitUntil(&mu_, &cv_, give_up)) {
    }
    aborted_ = true;
    counters_.dropped += static_cast<int64_t>(queue_.size());
    queue_.clear();
  }
  cv_.SignalAll();
  http_->Shutdown();  // fails a POST still on the wire
  sender_.join();
}

WebhookEventSink::Counters WebhookEventSink::counters() const {
  MutexLock lock(&mu_);
  Counters c = counters_;
  c.queued = static_cast<int64_t>(queue_.size());
  return c;
}

}  // namespace dnoscope::live
