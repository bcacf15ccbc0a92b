#include "client/http_client.h"

#include <algorithm>
#include <cctype>
#include <exception>
#include <future>
#include <optional>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

#include "client/connection_pool.h"
#include "client/deadline_timer.h"
#include "fmt/format.h"
#include "spdlog/spdlog.h"

namespace dnoscope::client {

namespace asio = boost::asio;

namespace {

// The client whose I/O thread this is; lets SendSync refuse to deadlock.
thread_local const HttpClient* tls_io_thread_owner = nullptr;

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  return std::equal(a.begin(), a.end(), b.begin(), b.end(), [](unsigned char x, unsigned char y) {
    return std::tolower(x) == std::tolower(y);
  });
}

// RFC 9110 token characters (method and header names).
bool IsToken(std::string_view s) {
  static constexpr std::string_view kSpecials = "!#$%&'*+-.^_`|~";
  return !s.empty() && std::all_of(s.begin(), s.end(), [](unsigned char c) {
    return std::isalnum(c) || kSpecials.find(static_cast<char>(c)) != std::string_view::npos;
  });
}

bool IsVisible(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](unsigned char c) { return c > 0x20 && c != 0x7f; });
}

bool HasCrLfOrNul(std::string_view s) {
  return s.find_first_of(std::string_view("\r\n\0", 3)) != std::string_view::npos;
}

bool HasHeader(const HttpCall& call, std::string_view name) {
  return std::any_of(call.headers.begin(), call.headers.end(),
                     [&](const auto& h) { return EqualsIgnoreCase(h.first, name); });
}

absl::StatusOr<std::string> SerializeHead(const Endpoint& endpoint, const HttpCall& call) {
  if (!IsToken(call.method)) return absl::InvalidArgumentError("bad HTTP method: " + call.method);
  if (call.target.empty() || !IsVisible(call.target)) {
    return absl::InvalidArgumentError("bad HTTP request target: '" + call.target + "'");
  }
  if (HasCrLfOrNul(call.content_type)) return absl::InvalidArgumentError("bad content type");
  for (const auto& [name, value] : call.headers) {
    if (!IsToken(name) || HasCrLfOrNul(value)) {
      return absl::InvalidArgumentError("bad HTTP header: '" + name + "'");
    }
    if (EqualsIgnoreCase(name, "content-length") || EqualsIgnoreCase(name, "transfer-encoding")) {
      return absl::InvalidArgumentError("the client frames the body itself; do not set " + name);
    }
  }
  std::string head = fmt::format("{} {} HTTP/1.1\r\n", call.method, call.target);
  if (!HasHeader(call, "host")) head += fmt::format("Host: {}\r\n", endpoint.ToString());
  if (!call.content_type.empty() && !HasHeader(call, "content-type") && !call.body.empty()) {
    head += fmt::format("Content-Type: {}\r\n", call.content_type);
  }
  if (!call.body.empty() || (call.method != "GET" && call.method != "HEAD")) {
    head += fmt::format("Content-Length: {}\r\n", call.body.size());
  }
  for (const auto& [name, value] : call.headers) head += fmt::format("{}: {}\r\n", name, value);
  head += "\r\n";
  return head;
}

}  // namespace

const std::string* HttpResult::Header(std::string_view name) const {
  for (const auto& [key, value] : headers) {
    if (EqualsIgnoreCase(key, name)) return &value;
  }
  return nullptr;
}

struct HttpClient::IoThread {
  asio::io_context io{1};  // one thread runs it
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work{
      asio::make_work_guard(io)};
  std::jthread thread;
};

absl::StatusOr<std::unique_ptr<HttpClient>> HttpClient::Create(const HttpClientOptions& options,
                                                               Clock* clock) {
  if (options.io_threads < 1) return absl::InvalidArgumentError("io_threads must be >= 1");
  if (options.max_connections_per_endpoint < 1) {
    return absl::InvalidArgumentError("max_connections_per_endpoint must be >= 1");
  }
  if (options.connect_timeout <= std::chrono::milliseconds::zero()) {
    return absl::InvalidArgumentError("connect_timeout must be positive");
  }
  if (clock == nullptr) return absl::InvalidArgumentError("clock must not be null");
  return std::unique_ptr<HttpClient>(new HttpClient(options, clock));
}

HttpClient::HttpClient(const HttpClientOptions& options, Clock* clock)
    : options_(options), clock_(clock), deadlines_(std::make_unique<DeadlineTimer>(clock)) {
  for (int i = 0; i < options_.io_threads; ++i) io_threads_.push_back(std::make_unique<IoThread>());
  for (size_t i = 0; i < io_threads_.size(); ++i) {
    io_threads_[i]->thread = std::jthread([this, i] { RunIoThread(i); });
  }
}

HttpClient::~HttpClient() { Shutdown(); }

void HttpClient::RunIoThread(size_t index) {
  tls_io_thread_owner = this;
  asio::io_context& io = io_threads_[index]->io;
  for (;;) {
    try {
      io.run();
      return;
    } catch (const std::exception& e) {  // a callback threw; keep serving the others
      spdlog::error("HTTP client I/O thread: uncaught exception: {}", e.what());
    }
  }
}

EndpointPool* HttpClient::PoolFor(const Endpoint& endpoint) {
  MutexLock lock(&mu_);
  if (shut_down_) return nullptr;
  std::unique_ptr<EndpointPool>& pool = pools_[endpoint];
  if (pool == nullptr) {
    pool = std::make_unique<EndpointPool>(
        endpoint, options_, clock_, deadlines_.get(), [this]() -> asio::io_context& {
          const size_t i = next_io_thread_.fetch_add(1, std::memory_order_relaxed);
          return io_threads_[i % io_threads_.size()]->io;
        });
  }
  return pool.get();
}

void HttpClient::Send(const Endpoint& endpoint, HttpCall call, DoneCallback done) {
  absl::StatusOr<std::string> head = SerializeHead(endpoint, call);
  if (!head.ok()) {
    done(head.status());
    return;
  }
  EndpointPool* pool = PoolFor(endpoint);
  if (pool == nullptr) {
    done(absl::CancelledError("HTTP client is shut down"));
    return;
  }
  auto pending = std::make_shared<PendingCall>();
  pending->head = *std::move(head);
  pending->body = std::move(call.body);
  pending->head_request = call.method == "HEAD";
  pending->deadline = call.deadline;
  pending->done = std::move(done);
  pool->Submit(std::move(pending));
}

absl::StatusOr<HttpResult> HttpClient::SendSync(const Endpoint& endpoint, HttpCall call) {
  if (tls_io_thread_owner == this) {
    return absl::FailedPreconditionError("SendSync called on an HTTP client I/O thread");
  }
  // Shared ownership: the promise must outlive set_value even if get() returns first.
  auto promise = std::make_shared<std::promise<absl::StatusOr<HttpResult>>>();
  std::future<absl::StatusOr<HttpResult>> future = promise->get_future();
  Send(endpoint, std::move(call),
       [promise](absl::StatusOr<HttpResult> result) { promise->set_value(std::move(result)); });
  return future.get();
}

size_t HttpClient::in_flight(const Endpoint& endpoint) const {
  MutexLock lock(&mu_);
  auto it = pools_.find(endpoint);
  return it == pools_.end() ? 0 : it->second->in_flight();
}

void HttpClient::Shutdown() {
  MutexLock shutdown_lock(&shutdown_mu_);
  std::vector<EndpointPool*> pools;
  {
    MutexLock lock(&mu_);
    if (shut_down_) return;
    shut_down_ = true;
    for (const auto& [endpoint, pool] : pools_) pools.push_back(pool.get());
  }
  // No deadline fires from here on: every outstanding call is about to end
  // Cancelled, and nothing is posted to an I/O thread that may be leaving.
  deadlines_->Stop();
  // Everything outstanding now has a cancellation or close posted; the I/O
  // threads run those handlers and return once nothing is left.
  for (EndpointPool* pool : pools) pool->Shutdown();
  for (auto& io_thread : io_threads_) io_thread->work.reset();
  for (auto& io_thread : io_threads_) {
    if (io_thread->thread.joinable()) io_thread->thread.join();
  }
}

}  // namespace dnoscope::client
