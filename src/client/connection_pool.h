// Internals of HttpClient (not part of the client API): the per-endpoint pool
// of keep-alive connections and the connection state machine.
//
// Threading: each HttpConnection is bound to one io_context that is run by a
// single thread, so its members are only touched on that thread; other threads
// reach it through Start()/Close() and the deadline callback, which post.
// EndpointPool is thread-safe: its bookkeeping is guarded by a mutex that is
// never held while a user callback runs.
//
// Time: call deadlines are kept by the client's DeadlineTimer on the
// injected Clock (a FakeClock drives them in tests). The connect timeout is
// a real-time Asio timer: it bounds a kernel operation (resolve + TCP
// connect) that no fake clock can speed up, and it never decides a test's
// outcome on fake time.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <list>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "client/deadline_timer.h"
#include "client/http_client.h"
#include "common/mutex.h"

namespace dnoscope::client {

// One call from Send() to `done`.
struct PendingCall {
  std::string head;  // request line and headers, ending in an empty line
  std::string body;
  bool head_request = false;  // response has no body
  Clock::TimePoint deadline = Clock::TimePoint::max();
  HttpClient::DoneCallback done;
  // Set once the call was resent after a write failure on a reused connection.
  bool retried = false;

  // Queue state, guarded by the owning EndpointPool's mutex.
  bool queued = false;
  std::list<std::shared_ptr<PendingCall>>::iterator queue_pos;
  std::optional<DeadlineTimer::Handle> queue_deadline;  // only with a deadline
};

class EndpointPool;

// One TCP connection to an endpoint, carrying one call at a time. It outlives
// any number of TCP sessions: after a close it reconnects for the next call.
class HttpConnection : public std::enable_shared_from_this<HttpConnection> {
 public:
  // `io` must be run by exactly one thread; `pool` is not owned and must
  // outlive every handler of this connection.
  HttpConnection(boost::asio::io_context& io, EndpointPool* pool);

  // Runs `call` on this connection's thread. Thread-safe.
  void Start(std::shared_ptr<PendingCall> call);
  // Closes the socket for good; the current and any later call end Cancelled.
  // Thread-safe.
  void Close();

 private:
  enum class Timeout { kNone, kConnect, kDeadline };
  using ErrorCode = boost::system::error_code;

  void Run(std::shared_ptr<PendingCall> call);
  void Connect();
  void OnConnected(const ErrorCode& ec);
  // Schedules the deadline of call_ on the client's DeadlineTimer.
  void ArmDeadline();
  void DisarmDeadline();
  // The deadline of `call` passed (posted by the DeadlineTimer).
  void OnDeadline(const PendingCall* call);
  void Write();
  void OnWritten(const ErrorCode& ec);
  void OnHeader(const ErrorCode& ec);
  void OnRead(const ErrorCode& ec);
  void Fail(const ErrorCode& ec, const char* phase);
  void Finish(absl::StatusOr<HttpResult> result, bool reusable);
  void ArmConnectTimer();
  void DisarmConnectTimer();
  void OnConnectTimer(const ErrorCode& ec, uint64_t seq);
  void CloseSocket();
  bool PeerClosed();
  void DoClose();

  boost::asio::io_context& io_;
  EndpointPool* const pool_;
  boost::asio::ip::tcp::socket socket_;
  boost::asio::ip::tcp::resolver resolver_;
  boost::asio::steady_timer connect_timer_;  // real time; see the file comment
  boost::beast::flat_buffer buffer_;
  std::optional<boost::beast::http::response_parser<boost::beast::http::string_body>> parser_;
  std::shared_ptr<PendingCall> call_;  // the call in progress, if any
  uint64_t timer_seq_ = 0;             // identifies the current connect timer arming
  bool connect_timer_armed_ = false;
  std::optional<DeadlineTimer::Handle> deadline_;  // of call_, while scheduled
  Timeout fired_ = Timeout::kNone;  // what closed the socket under the current call
  bool reused_ = false;             // the current call runs on a pre-existing session
  bool closed_ = false;             // Close() ran
};

// Connections and waiting calls for one endpoint.
class EndpointPool {
 public:
  // `options`, `clock` and `deadlines` are not owned and must outlive the
  // pool. `pick_io` chooses the io_context of each new connection.
  EndpointPool(Endpoint endpoint, const HttpClientOptions& options, Clock* clock,
               DeadlineTimer* deadlines, std::function<boost::asio::io_context&()> pick_io);

  // Hands `call` to an idle connection, a new one, or the queue. After
  // Shutdown(), completes it with Cancelled on the calling thread.
  void Submit(std::shared_ptr<PendingCall> call);
  // Called by `connection` when its call ended. Returns the next queued call
  // for it, or nullptr, in which case the connection becomes idle when
  // `socket_open`, and leaves the pool otherwise.
  std::shared_ptr<PendingCall> Release(const std::shared_ptr<HttpConnection>& connection,
                                       bool socket_open);
  // Ends `call`: runs its callback with `result`. Call without locks held.
  void Complete(PendingCall& call, absl::StatusOr<HttpResult> result);
  // Refuses new calls, cancels queued ones and closes every connection.
  void Shutdown();

  size_t in_flight() const { return in_flight_.load(std::memory_order_relaxed); }
  const Endpoint& endpoint() const { return endpoint_; }
  const HttpClientOptions& options() const { return options_; }
  Clock* clock() const { return clock_; }
  DeadlineTimer* deadlines() const { return deadlines_; }

 private:
  // Hands `call` to an idle or new connection, else queues it.
  void StartOrEnqueue(std::shared_ptr<PendingCall> call) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Enqueue(const std::shared_ptr<PendingCall>& call) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Dequeue(const std::shared_ptr<PendingCall>& call) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void OnQueueDeadline(const std::shared_ptr<PendingCall>& call);
  void RemoveConnection(const HttpConnection* connection) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const Endpoint endpoint_;
  const HttpClientOptions& options_;
  Clock* const clock_;
  DeadlineTimer* const deadlines_;
  const std::function<boost::asio::io_context&()> pick_io_;
  std::atomic<size_t> in_flight_{0};

  Mutex mu_;
  bool closed_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<std::shared_ptr<HttpConnection>> connections_ ABSL_GUARDED_BY(mu_);  // all
  std::vector<std::shared_ptr<HttpConnection>> idle_ ABSL_GUARDED_BY(mu_);  // LIFO
  std::list<std::shared_ptr<PendingCall>> queue_ ABSL_GUARDED_BY(mu_);
};

}  // namespace dnoscope::client
