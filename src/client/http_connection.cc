// HttpConnection state machine, all on the connection's I/O thread:
//
//   Run -> [Connect -> OnConnected] -> Write -> OnWritten -> OnHeader -> OnRead -> Finish
//
// Two things can cut a call short by closing the socket, after which the
// pending operation fails with operation_aborted and `fired_` says why:
//  - the call's deadline, kept by the client's DeadlineTimer on the injected
//    Clock; its callback posts OnDeadline here, which ignores a call that
//    has already finished;
//  - the connect timeout, a real-time steady_timer whose arming is numbered
//    so that a wake-up that raced with a disarm is ignored.
#include <sys/socket.h>
#include <sys/types.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cerrno>
#include <string>
#include <utility>

#include <boost/asio/connect.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/read.hpp>

#include "client/connection_pool.h"
#include "fmt/format.h"

namespace dnoscope::client {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace {

constexpr uint32_t kMaxResponseHeaderBytes = 64 * 1024;

bool IsHttpParseError(const boost::system::error_code& ec) {
  return ec.category() == http::make_error_code(http::error::end_of_stream).category() &&
         ec != http::error::end_of_stream && ec != http::error::partial_message;
}

HttpResult ToResult(http::response<http::string_body>& message) {
  HttpResult result;
  result.status = static_cast<int>(message.result_int());
  result.headers.reserve(std::distance(message.begin(), message.end()));
  for (const auto& field : message) {
    std::string name(field.name_string());
    std::transform(name.begin(), name.end(), name.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    result.headers.emplace_back(std::move(name), std::string(field.value()));
  }
  result.body = std::move(message.body());
  return result;
}

}  // namespace

HttpConnection::HttpConnection(asio::io_context& io, EndpointPool* pool)
    : io_(io), pool_(pool), socket_(io), resolver_(io), connect_timer_(io) {}

void HttpConnection::Start(std::shared_ptr<PendingCall> call) {
  asio::post(io_, [self = shared_from_this(), call = std::move(call)]() mutable {
    self->Run(std::move(call));
  });
}

void HttpConnection::Close() {
  asio::post(io_, [self = shared_from_this()] { self->DoClose(); });
}

void HttpConnection::DoClose() {
  closed_ = true;
  DisarmConnectTimer();
  resolver_.cancel();
  CloseSocket();  // a pending operation now fails and its call ends Cancelled
}

void HttpConnection::Run(std::shared_ptr<PendingCall> call) {
  call_ = std::move(call);
  fired_ = Timeout::kNone;
  if (closed_) {
    Finish(absl::CancelledError("HTTP client is shut down"), false);
    return;
  }
  if (call_->deadline <= pool_->clock()->Now()) {
    Finish(absl::DeadlineExceededError(fmt::format("deadline passed before the request to {} was sent",
                                                   pool_->endpoint().ToString())),
           true);
    return;
  }
  ArmDeadline();
  // A server that closed the idle session is detected here, before anything
  // is sent, so going to a fresh session is always safe.
  if (socket_.is_open() && PeerClosed()) CloseSocket();
  if (!socket_.is_open()) {
    Connect();
    return;
  }
  reused_ = true;
  Write();
}

bool HttpConnection::PeerClosed() {
  char byte;
  const ssize_t n = ::recv(socket_.native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
  if (n < 0) return errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR;
  return true;  // 0: orderly close; > 0: bytes nobody asked for
}

void HttpConnection::Connect() {
  reused_ = false;
  buffer_.clear();
  ArmConnectTimer();
  const Endpoint& endpoint = pool_->endpoint();
  boost::system::error_code ec;
  const asio::ip::address address = asio::ip::make_address(endpoint.host, ec);
  auto on_connected = [self = shared_from_this()](const ErrorCode& ec, auto&&...) {
    self->OnConnected(ec);
  };
  if (!ec) {
    socket_.async_connect(tcp::endpoint(address, static_cast<uint16_t>(endpoint.port)),
                          std::move(on_connected));
    return;
  }
  resolver_.async_resolve(
      endpoint.host, std::to_string(endpoint.port),
      [self = shared_from_this(), on_connected = std::move(on_connected)](
          const ErrorCode& ec, tcp::resolver::results_type results) mutable {
        if (ec) {
          self->Fail(ec, "resolve");
          return;
        }
        asio::async_connect(self->socket_, results, std::move(on_connected));
      });
}

void HttpConnection::OnConnected(const ErrorCode& ec) {
  if (ec || !socket_.is_open()) {
    Fail(ec ? ec : asio::error::operation_aborted, "connect to");
    return;
  }
  DisarmConnectTimer();
  boost::system::error_code ignored;
  socket_.set_option(tcp::no_delay(true), ignored);
  Write();
}

void HttpConnection::ArmDeadline() {
  if (call_->deadline == Clock::TimePoint::max()) return;
  // Holding `call` keeps its address from being reused by a later call
  // before OnDeadline compares it.
  deadline_ = pool_->deadlines()->Schedule(call_->deadline, [self = shared_from_this(),
                                                             call = call_] {
    asio::post(self->io_, [self, call] { self->OnDeadline(call.get()); });
  });
}

void HttpConnection::DisarmDeadline() {
  if (!deadline_) return;
  pool_->deadlines()->Cancel(*deadline_);
  deadline_.reset();
}

void HttpConnection::OnDeadline(const PendingCall* call) {
  if (call_.get() != call || closed_ || fired_ != Timeout::kNone) return;  // already over
  deadline_.reset();
  fired_ = Timeout::kDeadline;
  DisarmConnectTimer();
  resolver_.cancel();
  CloseSocket();
}

void HttpConnection::Write() {
  const std::array<asio::const_buffer, 2> buffers{asio::buffer(call_->head),
                                                  asio::buffer(call_->body)};
  asio::async_write(socket_, buffers, [self = shared_from_this()](const ErrorCode& ec, size_t) {
    self->OnWritten(ec);
  });
}

void HttpConnection::OnWritten(const ErrorCode& ec) {
  if (ec) {
    // The session went stale between the peek and the write: resend once on
    // a fresh session (see the idempotency note in http_client.h).
    if (reused_ && !call_->retried && fired_ == Timeout::kNone && !closed_) {
      call_->retried = true;
      CloseSocket();
      Connect();
      return;
    }
    Fail(ec, "write to");
    return;
  }
  parser_.emplace();
  parser_->body_limit(pool_->options().max_response_body_bytes);
  parser_->header_limit(kMaxResponseHeaderBytes);
  if (call_->head_request) parser_->skip(true);
  // Header first: Beast 1.74 misses body_limit for a Content-Length response
  // whose header and body arrive in one read, so the length is checked here.
  http::async_read_header(
      socket_, buffer_, *parser_,
      [self = shared_from_this()](const ErrorCode& ec, size_t) { self->OnHeader(ec); });
}

void HttpConnection::OnHeader(const ErrorCode& ec) {
  if (ec) {
    Fail(ec, "read from");
    return;
  }
  if (parser_->content_length().value_or(0) > pool_->options().max_response_body_bytes) {
    Fail(http::error::body_limit, "read from");
    return;
  }
  if (parser_->is_done()) {  // no body: skip the read and its extra post
    OnRead(ErrorCode());
    return;
  }
  http::async_read(socket_, buffer_, *parser_,
                   [self = shared_from_this()](const ErrorCode& ec, size_t) { self->OnRead(ec); });
}

void HttpConnection::OnRead(const ErrorCode& ec) {
  if (ec) {
    Fail(ec, "read from");
    return;
  }
  auto& message = parser_->get();
  // Leftover bytes after a response we did not ask for: do not trust the session.
  const bool reusable = message.keep_alive() && !parser_->need_eof() && buffer_.size() == 0;
  HttpResult result = ToResult(message);
  parser_.reset();
  Finish(std::move(result), reusable);
}

void HttpConnection::Fail(const ErrorCode& ec, const char* phase) {
  const std::string endpoint = pool_->endpoint().ToString();
  absl::Status status;
  if (closed_) {
    status = absl::CancelledError("HTTP client is shut down");
  } else if (fired_ == Timeout::kDeadline) {
    status = absl::DeadlineExceededError(fmt::format("deadline exceeded: {} {}", phase, endpoint));
  } else if (fired_ == Timeout::kConnect) {
    status = absl::UnavailableError(fmt::format("connect to {} timed out after {} ms", endpoint,
                                                pool_->options().connect_timeout.count()));
  } else if (ec == http::error::body_limit) {
    status = absl::ResourceExhaustedError(
        fmt::format("response from {} exceeds {} bytes", endpoint,
                    pool_->options().max_response_body_bytes));
  } else if (IsHttpParseError(ec)) {
    status = absl::InternalError(
        fmt::format("malformed HTTP response from {}: {}", endpoint, ec.message()));
  } else {
    status = absl::UnavailableError(fmt::format("{} {}: {}", phase, endpoint, ec.message()));
  }
  Finish(std::move(status), false);
}

void HttpConnection::Finish(absl::StatusOr<HttpResult> result, bool reusable) {
  DisarmConnectTimer();
  DisarmDeadline();
  if (!reusable || closed_) CloseSocket();
  std::shared_ptr<PendingCall> call = std::move(call_);
  call_ = nullptr;
  // Release before completing, so a call sent from `done` can reuse this session.
  std::shared_ptr<PendingCall> next = pool_->Release(shared_from_this(), socket_.is_open());
  pool_->Complete(*call, std::move(result));
  if (next != nullptr) Start(std::move(next));
}

void HttpConnection::ArmConnectTimer() {
  ++timer_seq_;
  connect_timer_armed_ = true;
  connect_timer_.expires_after(pool_->options().connect_timeout);
  connect_timer_.async_wait([self = shared_from_this(), seq = timer_seq_](const ErrorCode& ec) {
    self->OnConnectTimer(ec, seq);
  });
}

void HttpConnection::DisarmConnectTimer() {
  if (!connect_timer_armed_) return;
  ++timer_seq_;
  connect_timer_armed_ = false;
  connect_timer_.cancel();
}

void HttpConnection::OnConnectTimer(const ErrorCode& ec, uint64_t seq) {
  if (ec || seq != timer_seq_ || !connect_timer_armed_) return;
  connect_timer_armed_ = false;
  if (fired_ == Timeout::kNone) fired_ = Timeout::kConnect;
  resolver_.cancel();
  CloseSocket();
}

void HttpConnection::CloseSocket() {
  boost::system::error_code ignored;
  socket_.close(ignored);
}

}  // namespace dnoscope::client
