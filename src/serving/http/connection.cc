#include "serving/http/connection.h"

#include <algorithm>
#include <array>
#include <exception>
#include <utility>

#include "boost/asio/post.hpp"
#include "boost/asio/write.hpp"
#include "boost/beast/core/bind_handler.hpp"
#include "boost/beast/http/error.hpp"
#include "common/clock.h"
#include "fmt/format.h"
#include "spdlog/spdlog.h"

namespace dnoscope::serving::http {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace beast_http = boost::beast::http;

// Read size while waiting for a request line and header.
constexpr size_t kReadBytes = 16 << 10;
// Upper bound on one read while a large body streams in.
constexpr size_t kMaxBodyReadBytes = 256 << 10;
// Read buffers larger than this are released between requests.
constexpr size_t kMaxIdleBufferBytes = 64 << 10;
// After the last response, unread input is drained for at most this long (and
// this many bytes) before the socket closes, so the peer sees the response
// instead of a reset.
constexpr std::chrono::seconds kLingerTimeout{1};
constexpr size_t kMaxLingerBytes = 1 << 20;

}  // namespace

// The state behind one Responder. Delivers the first response to the
// connection; answers 500 when the last Responder copy is dropped unanswered.
class ResponseSlot {
 public:
  ResponseSlot(std::weak_ptr<Connection> connection, Connection* raw,
               std::shared_ptr<ResponseGate> gate)
      : connection_(std::move(connection)), raw_(raw), gate_(std::move(gate)) {}
  ~ResponseSlot();

  void Respond(HttpResponse response);

 private:
  void Post(HttpResponse response);

  const std::weak_ptr<Connection> connection_;
  // Used only while the handler runs synchronously on the connection's strand.
  Connection* const raw_;
  const std::shared_ptr<ResponseGate> gate_;
  std::atomic<bool> answered_{false};
};

namespace {
// The slot whose request the handler on this thread is processing right now;
// a Responder called synchronously inside the handler skips the post.
thread_local const ResponseSlot* t_dispatching_slot = nullptr;
}  // namespace

ResponseSlot::~ResponseSlot() {
  if (answered_.load(std::memory_order_acquire)) return;
  Respond(ErrorResponse(500, "the request handler dropped the request without answering"));
}

void ResponseSlot::Respond(HttpResponse response) {
  if (answered_.exchange(true, std::memory_order_acq_rel)) {
    spdlog::warn("http: a Responder was called more than once; ignoring the extra response");
    return;
  }
  gate_->in_flight.fetch_sub(1, std::memory_order_acq_rel);
  if (t_dispatching_slot == this) {
    // On the connection's strand, inside Dispatch(): it writes the response.
    raw_->inline_response_ = std::move(response);
    return;
  }
  try {
    Post(std::move(response));
  } catch (const std::exception& e) {
    spdlog::error("http: failed to deliver a response: {}", e.what());
  }
}

void ResponseSlot::Post(HttpResponse response) {
  MutexLock lock(&gate_->mu);
  // A closed gate means the server's io_context is (about to be) gone.
  if (!gate_->open) return;
  std::shared_ptr<Connection> connection = connection_.lock();
  if (connection == nullptr) return;
  Connection::Strand strand = connection->strand();
  asio::post(strand,
             [connection = std::move(connection), response = std::move(response)]() mutable {
               connection->OnResponse(std::move(response));
             });
}

bool ConnectionRegistry::Add(std::shared_ptr<Connection> connection) {
  MutexLock lock(&mu_);
  if (sealed_) return false;
  const Connection* key = connection.get();
  connections_.emplace(key, std::move(connection));
  return true;
}

void ConnectionRegistry::Remove(const Connection* connection) {
  std::shared_ptr<Connection> removed;  // released after unlocking
  bool now_empty = false;
  {
    MutexLock lock(&mu_);
    auto it = connections_.find(connection);
    if (it == connections_.end()) return;
    removed = std::move(it->second);
    connections_.erase(it);
    now_empty = connections_.empty();
  }
  if (now_empty) empty_.SignalAll();
}

std::vector<std::shared_ptr<Connection>> ConnectionRegistry::Seal() {
  {
    MutexLock lock(&mu_);
    sealed_ = true;
  }
  return Snapshot();
}

bool ConnectionRegistry::WaitUntilEmpty(std::chrono::steady_clock::duration timeout) {
  // Real time, like the server's other timeouts (asio timers on the real
  // steady clock): a drain waits for real sockets.
  Clock* clock = Clock::Real();
  const Clock::TimePoint deadline = clock->Now() + timeout;
  MutexLock lock(&mu_);
  while (!connections_.empty()) {
    if (clock->WaitUntil(&mu_, &empty_, deadline)) return connections_.empty();
  }
  return true;
}

std::vector<std::shared_ptr<Connection>> ConnectionRegistry::Snapshot() {
  MutexLock lock(&mu_);
  std::vector<std::shared_ptr<Connection>> result;
  result.reserve(connections_.size());
  for (const auto& [key, connection] : connections_) result.push_back(connection);
  return result;
}

void ConnectionRegistry::Clear() {
  std::unordered_map<const Connection*, std::shared_ptr<Connection>> dropped;
  {
    MutexLock lock(&mu_);
    dropped.swap(connections_);
  }
  if (!dropped.empty()) empty_.SignalAll();
}

Connection::Connection(asio::ip::tcp::socket socket, Strand strand, ServerContext* context)
    : strand_(std::move(strand)), context_(context), stream_(std::move(socket)) {}

void Connection::Start() {
  if (state_ == State::kClosed) return;  // Shutdown overtook the start
  beast::error_code ec;
  stream_.socket().set_option(asio::ip::tcp::no_delay(true), ec);
  WaitForRequest();
}

void Connection::BeginShutdown() {
  if (state_ == State::kIdle) Close();
}

void Connection::Close() {
  if (state_ == State::kClosed) return;
  state_ = State::kClosed;
  stream_.close();
  parser_.reset();
  context_->registry.Remove(this);
}

void Connection::WaitForRequest() {
  parser_.emplace(context_->options.max_header_bytes, context_->options.max_body_bytes);
  header_checked_ = false;
  if (buffer_.size() > 0) {  // a pipelined request is already here
    state_ = State::kReading;
    stream_.expires_after(context_->options.read_timeout);
    Parse();
    return;
  }
  state_ = State::kIdle;
  if (context_->draining.load(std::memory_order_acquire)) {
    Close();
    return;
  }
  if (buffer_.capacity() > kMaxIdleBufferBytes) buffer_.shrink_to_fit();
  stream_.expires_after(context_->options.idle_timeout);
  ReadSome();
}

void Connection::ReadSome() {
  size_t size = kReadBytes;
  if (parser_->is_header_done()) {
    if (auto remaining = parser_->content_length_remaining()) {
      size = std::clamp<size_t>(static_cast<size_t>(*remaining), kReadBytes, kMaxBodyReadBytes);
    }
  }
  stream_.async_read_some(buffer_.prepare(size),
                          beast::bind_front_handler(&Connection::OnRead, shared_from_this()));
}

void Connection::OnRead(beast::error_code ec, size_t bytes) {
  if (state_ == State::kClosed) return;
  buffer_.commit(bytes);
  if (ec) {
    if (ec == beast::error::timeout) {
      spdlog::debug("http: closing a connection after a {} timeout",
                    state_ == State::kIdle ? "idle" : "read");
    } else if (ec != asio::error::eof && ec != asio::error::operation_aborted) {
      spdlog::debug("http: read failed: {}", ec.message());
    }
    Close();
    return;
  }
  if (state_ == State::kIdle) {
    state_ = State::kReading;
    stream_.expires_after(context_->options.read_timeout);
  }
  Parse();
}

void Connection::Parse() {
  for (;;) {
    if (buffer_.size() == 0) {
      ReadSome();
      return;
    }
    beast::error_code ec;
    size_t used = parser_->put(buffer_.data(), ec);
    buffer_.consume(used);
    if (ec == beast_http::error::need_more) {
      ReadSome();
      return;
    }
    if (ec) {
      Fail(ec);
      return;
    }
    if (parser_->is_done()) {
      Dispatch();
      return;
    }
    if (!header_checked_ && parser_->is_header_done()) {
      header_checked_ = true;
      parser_->eager(true);
      if (parser_->expects_continue() && parser_->version() >= 11 && buffer_.size() == 0) {
        SendContinue();
        return;
      }
    }
    if (used == 0) {
      ReadSome();
      return;
    }
  }
}

void Connection::SendContinue() {
  asio::async_write(stream_, asio::buffer(kContinueResponse.data(), kContinueResponse.size()),
                    beast::bind_front_handler(&Connection::OnContinueWritten, shared_from_this()));
}

void Connection::OnContinueWritten(beast::error_code ec, size_t bytes) {
  if (state_ == State::kClosed) return;
  if (ec) {
    Close();
    return;
  }
  Parse();
}

void Connection::Fail(beast::error_code ec) {
  const HttpServerOptions& options = context_->options;
  HttpResponse response;
  if (ec == beast_http::error::body_limit) {
    std::optional<uint64_t> length = parser_->declared_content_length();
    response = ErrorResponse(
        413,
        length ? fmt::format("request body of {} bytes exceeds the limit of {} bytes", *length,
                             options.max_body_bytes)
               : fmt::format("request body exceeds the limit of {} bytes", options.max_body_bytes));
  } else if (ec == beast_http::error::header_limit) {
    response = ErrorResponse(
        431, fmt::format("request header exceeds the limit of {} bytes", options.max_header_bytes));
  } else {
    response = ErrorResponse(400, fmt::format("malformed HTTP request: {}", ec.message()));
  }
  spdlog::debug("http: rejecting a request with {}: {}", response.status, response.body);
  version_ = 11;
  head_request_ = false;
  parser_.reset();
  Write(std::move(response), /*keep_alive=*/false);
}

void Connection::Dispatch() {
  state_ = State::kHandling;
  keep_alive_ = parser_->keep_alive();
  version_ = parser_->version();
  head_request_ = parser_->is_head();
  HttpRequest request = parser_->Release();
  parser_.reset();
  ResponseGate& gate = *context_->gate;
  gate.in_flight.fetch_add(1, std::memory_order_acq_rel);
  auto slot = std::make_shared<ResponseSlot>(weak_from_this(), this, context_->gate);
  const ResponseSlot* outer = std::exchange(t_dispatching_slot, slot.get());
  try {
    context_->handler(std::move(request),
                      [slot](HttpResponse response) { slot->Respond(std::move(response)); });
  } catch (const std::exception& e) {
    spdlog::error("http: the request handler threw: {}", e.what());
    slot->Respond(ErrorResponse(500, "internal error in the request handler"));
  } catch (...) {
    spdlog::error("http: the request handler threw a non-standard exception");
    slot->Respond(ErrorResponse(500, "internal error in the request handler"));
  }
  slot.reset();  // answers 500 inline when the handler dropped its Responder
  t_dispatching_slot = outer;
  if (inline_response_) {
    HttpResponse response = std::move(*inline_response_);
    inline_response_.reset();
    OnResponse(std::move(response));
  }
}

void Connection::OnResponse(HttpResponse response) {
  if (state_ != State::kHandling) return;  // closed while the handler worked
  bool keep_alive = keep_alive_ && !context_->draining.load(std::memory_order_acquire);
  Write(std::move(response), keep_alive);
}

void Connection::Write(HttpResponse response, bool keep_alive) {
  state_ = State::kWriting;
  response_ = std::move(response);
  ConnectionMode mode = !keep_alive      ? ConnectionMode::kClose
                        : version_ >= 11 ? ConnectionMode::kKeepAlive
                                         : ConnectionMode::kKeepAliveLegacy;
  head_.clear();
  AppendResponseHead(response_, mode, &head_);
  std::array<asio::const_buffer, 2> buffers = {asio::buffer(head_), asio::buffer(response_.body)};
  if (head_request_) buffers[1] = asio::const_buffer();
  stream_.expires_after(context_->options.read_timeout);
  asio::async_write(
      stream_, buffers,
      beast::bind_front_handler(&Connection::OnWrite, shared_from_this(), keep_alive));
}

void Connection::OnWrite(bool keep_alive, beast::error_code ec, size_t bytes) {
  if (state_ == State::kClosed) return;
  response_.body = std::string();
  response_.headers.clear();
  if (ec) {
    spdlog::debug("http: writing a response failed: {}", ec.message());
    Close();
    return;
  }
  if (!keep_alive) {
    Linger();
    return;
  }
  WaitForRequest();
}

void Connection::Linger() {
  state_ = State::kLingering;
  beast::error_code ec;
  stream_.socket().shutdown(asio::ip::tcp::socket::shutdown_send, ec);
  if (ec) {
    Close();
    return;
  }
  lingered_bytes_ = 0;
  buffer_.clear();
  stream_.expires_after(kLingerTimeout);
  stream_.async_read_some(buffer_.prepare(kReadBytes),
                          beast::bind_front_handler(&Connection::OnLingerRead, shared_from_this()));
}

void Connection::OnLingerRead(beast::error_code ec, size_t bytes) {
  if (state_ == State::kClosed) return;
  lingered_bytes_ += bytes;
  if (ec || lingered_bytes_ > kMaxLingerBytes) {
    Close();
    return;
  }
  stream_.async_read_some(buffer_.prepare(kReadBytes),
                          beast::bind_front_handler(&Connection::OnLingerRead, shared_from_this()));
}

}  // namespace dnoscope::serving::http
