#include <algorithm>
#include <utility>

#include <boost/asio/post.hpp>

#include "client/connection_pool.h"
#include "fmt/format.h"

namespace dnoscope::client {

namespace asio = boost::asio;

EndpointPool::EndpointPool(Endpoint endpoint, const HttpClientOptions& options, Clock* clock,
                           DeadlineTimer* deadlines, std::function<asio::io_context&()> pick_io)
    : endpoint_(std::move(endpoint)),
      options_(options),
      clock_(clock),
      deadlines_(deadlines),
      pick_io_(std::move(pick_io)) {}

void EndpointPool::Submit(std::shared_ptr<PendingCall> call) {
  in_flight_.fetch_add(1, std::memory_order_relaxed);
  {
    MutexLock lock(&mu_);
    if (!closed_) {
      StartOrEnqueue(std::move(call));
      return;
    }
  }
  Complete(*call, absl::CancelledError("HTTP client is shut down"));
}

void EndpointPool::StartOrEnqueue(std::shared_ptr<PendingCall> call) {
  // Start() posts; doing it under the lock orders it before Shutdown()'s
  // Close(), which keeps the I/O threads alive until the call has ended.
  if (!idle_.empty()) {
    std::shared_ptr<HttpConnection> connection = std::move(idle_.back());
    idle_.pop_back();
    connection->Start(std::move(call));
    return;
  }
  if (connections_.size() < static_cast<size_t>(options_.max_connections_per_endpoint)) {
    connections_.push_back(std::make_shared<HttpConnection>(pick_io_(), this));
    connections_.back()->Start(std::move(call));
    return;
  }
  Enqueue(call);
}

void EndpointPool::Enqueue(const std::shared_ptr<PendingCall>& call) {
  call->queued = true;
  call->queue_pos = queue_.insert(queue_.end(), call);
  if (call->deadline == Clock::TimePoint::max()) return;
  // The callback runs on the timer's thread; the call completes on an I/O
  // thread, like every other.
  call->queue_deadline = deadlines_->Schedule(call->deadline, [this, call] {
    asio::post(pick_io_(), [this, call] { OnQueueDeadline(call); });
  });
}

void EndpointPool::Dequeue(const std::shared_ptr<PendingCall>& call) {
  queue_.erase(call->queue_pos);
  call->queued = false;
  if (call->queue_deadline) {
    deadlines_->Cancel(*call->queue_deadline);
    call->queue_deadline.reset();
  }
}

void EndpointPool::OnQueueDeadline(const std::shared_ptr<PendingCall>& call) {
  {
    MutexLock lock(&mu_);
    if (!call->queued) return;
    Dequeue(call);
  }
  Complete(*call, absl::DeadlineExceededError(fmt::format(
                      "deadline exceeded waiting for a connection to {}", endpoint_.ToString())));
}

std::shared_ptr<PendingCall> EndpointPool::Release(
    const std::shared_ptr<HttpConnection>& connection, bool socket_open) {
  MutexLock lock(&mu_);
  if (closed_) {
    RemoveConnection(connection.get());
    return nullptr;
  }
  if (!queue_.empty()) {
    std::shared_ptr<PendingCall> next = queue_.front();
    Dequeue(next);
    return next;
  }
  if (socket_open) {
    idle_.push_back(connection);
  } else {
    RemoveConnection(connection.get());
  }
  return nullptr;
}

void EndpointPool::RemoveConnection(const HttpConnection* connection) {
  auto it = std::find_if(connections_.begin(), connections_.end(),
                         [connection](const auto& c) { return c.get() == connection; });
  if (it != connections_.end()) connections_.erase(it);
}

void EndpointPool::Complete(PendingCall& call, absl::StatusOr<HttpResult> result) {
  HttpClient::DoneCallback done = std::move(call.done);
  call.done = nullptr;
  in_flight_.fetch_sub(1, std::memory_order_relaxed);
  done(std::move(result));
}

void EndpointPool::Shutdown() {
  MutexLock lock(&mu_);
  closed_ = true;
  while (!queue_.empty()) {
    std::shared_ptr<PendingCall> call = queue_.front();
    Dequeue(call);
    asio::post(pick_io_(), [this, call] {
      Complete(*call, absl::CancelledError("HTTP client is shut down"));
    });
  }
  for (const auto& connection : connections_) connection->Close();
  idle_.clear();
}

}  // namespace dnoscope::client
