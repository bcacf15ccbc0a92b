// WebhookEventSink: POSTs each event's JSON (events.h) to an http:// URL.
//
// Publish() only queues: a bounded queue (when full the oldest event is
// dropped and counted) feeds one sender thread, so a slow or dead webhook
// never blocks the cascade. An event is retried (capped exponential
// back-off on the Clock) until the server answers 2xx or max_attempts is
// reached (then it is counted as failed). Close() gives the queue up to
// `drain_timeout` to empty, then drops what is left (counted).
//
// Thread-safety: all methods are thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "client/endpoint.h"
#include "client/http_client.h"
#include "common/clock.h"
#include "common/mutex.h"
#include "live/backoff.h"
#include "live/events.h"

namespace dnoscope::live {

struct WebhookOptions {
  // Events waiting to be sent at most.
  size_t capacity = 1024;
  // Attempts per event (>= 1).
  int max_attempts = 6;
  BackoffOptions backoff{std::chrono::milliseconds(250), 2, std::chrono::seconds(5)};
  // Deadline of one POST.
  Clock::Duration attempt_timeout = std::chrono::seconds(5);
  // How long Close() lets the queue drain.
  Clock::Duration drain_timeout = std::chrono::seconds(5);
};

// "http://host:port/path" split into the endpoint and the request target.
struct WebhookUrl {
  client::Endpoint endpoint;
  std::string target;
};
// InvalidArgument naming the URL for anything but http://host:port[/path].
absl::StatusOr<WebhookUrl> ParseWebhookUrl(const std::string& url);

class WebhookEventSink final : public EventSink {
 public:
  struct Counters {
    int64_t sent = 0;     // answered 2xx
    int64_t retries = 0;  // attempts after the first
    int64_t failed = 0;   // gave up after max_attempts
    int64_t dropped = 0;  // pushed out of a full queue, or left at Close()
    int64_t queued = 0;   // waiting now
  };

  // `clock` is not owned.
  static absl::StatusOr<std::unique_ptr<WebhookEventSink>> Create(const std::string& url,
                                                                  WebhookOptions options,
                                                                  Clock* clock = Clock::Real());
  // Calls Close().
  ~WebhookEventSink() override;

  void Publish(const Event& event) override;
  // Drains (up to drain_timeout), then stops the sender. Idempotent.
  void Close();
  Counters counters() const;
  const std::string& url() const { return url_; }

 private:
  WebhookEventSink(std::string url, WebhookUrl parsed, WebhookOptions options, Clock* clock,
                   std::unique_ptr<client::HttpClient> http);
  void SendLoop();
  // One event until sent, failed or aborted.
  void Deliver(const std::string& body);

  const std::string url_;
  const WebhookUrl parsed_;
  const WebhookOptions options_;
  Clock* const clock_;
  std::unique_ptr<client::HttpClient> http_;

  mutable Mutex mu_;
  CondVar cv_;  // queue changed, closing, or aborted
  std::deque<std::string> queue_ ABSL_GUARDED_BY(mu_);
  bool busy_ ABSL_GUARDED_BY(mu_) = false;  // the sender holds an event
  bool closing_ ABSL_GUARDED_BY(mu_) = false;
  bool aborted_ ABSL_GUARDED_BY(mu_) = false;
  Counters counters_ ABSL_GUARDED_BY(mu_);
  Mutex close_mu_;  // serializes Close()
  std::thread sender_;
};

}  // namespace dnoscope::live
