// One accepted TCP connection of the HTTP server: reads requests, hands each
// to the Handler and writes the responses back in order, plus the state the
// connections of one server share (ServerContext).
//
// Lifetime: a Connection is owned by its server's ConnectionRegistry (and,
// transiently, by its pending asynchronous operations); it removes itself from
// the registry when it closes. Responders hold only weak references, and post
// to the connection only while the server's ResponseGate is open, so a
// Responder outliving the server is harmless.
//
// Thread-safety: Connection's methods other than strand() must run on the
// connection's strand; Responders reach it from other threads by posting
// there. ConnectionRegistry and ResponseGate are thread-safe.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "boost/asio/io_context.hpp"
#include "boost/asio/ip/tcp.hpp"
#include "boost/asio/strand.hpp"
#include "boost/beast/core/flat_buffer.hpp"
#include "boost/beast/core/tcp_stream.hpp"
#include "common/mutex.h"
#include "serving/http/request_parser.h"
#include "serving/http/response_head.h"
#include "serving/http/server.h"

namespace dnoscope::serving::http {

class Connection;

// Decides whether Responders may still post to connections: open while the
// server's io_context exists. Shared with every outstanding Responder.
struct ResponseGate {
  Mutex mu;
  bool open ABSL_GUARDED_BY(mu) = true;
  // Requests handed to the handler and not yet answered.
  std::atomic<size_t> in_flight{0};
};

// The live connections of one server.
class ConnectionRegistry {
 public:
  // Adds `connection`; false (and nothing added) once Seal() was called.
  bool Add(std::shared_ptr<Connection> connection);
  // Drops the registry's reference; wakes WaitUntilEmpty when it was the last.
  void Remove(const Connection* connection);
  // Refuses further Add()s and returns the connections registered now.
  std::vector<std::shared_ptr<Connection>> Seal();
  // Waits until no connection is left or `timeout` of real time passed;
  // true when empty.
  bool WaitUntilEmpty(std::chrono::steady_clock::duration timeout);
  // The connections registered now.
  std::vector<std::shared_ptr<Connection>> Snapshot();
  // Drops every reference (the connections' sockets close with them).
  void Clear();

 private:
  Mutex mu_;
  CondVar empty_;
  bool sealed_ ABSL_GUARDED_BY(mu_) = false;
  std::unordered_map<const Connection*, std::shared_ptr<Connection>> connections_
      ABSL_GUARDED_BY(mu_);
};

// What the connections of one server share. Outlives all its connections'
// strand work (the server joins its threads before destroying it).
struct ServerContext {
  HttpServerOptions options;
  Handler handler;
  std::shared_ptr<ResponseGate> gate = std::make_shared<ResponseGate>();
  ConnectionRegistry registry;
  // Set when Shutdown began: no new requests are read, responses close.
  std::atomic<bool> draining{false};
};

class Connection : public std::enable_shared_from_this<Connection> {
 public:
  using Strand = boost::asio::strand<boost::asio::io_context::executor_type>;

  // `socket` must have been accepted with `strand` as its executor. `context`
  // is not owned and must outlive this object's strand work.
  Connection(boost::asio::ip::tcp::socket socket, Strand strand, ServerContext* context);

  const Strand& strand() const { return strand_; }

  // Starts reading requests. On the strand.
  void Start();
  // Shutdown began: closes the connection if it waits for a request; otherwise
  // the current request is finished and answered with `Connection: close`.
  void BeginShutdown();
  // Closes the socket now. On the strand.
  void Close();

 private:
  enum class State { kIdle, kReading, kHandling, kWriting, kLingering, kClosed };
  friend class ResponseSlot;

  void WaitForRequest();
  void ReadSome();
  void OnRead(boost::beast::error_code ec, size_t bytes);
  void Parse();
  void Fail(boost::beast::error_code ec);
  void Dispatch();
  void OnResponse(HttpResponse response);
  void Write(HttpResponse response, bool keep_alive);
  void OnWrite(bool keep_alive, boost::beast::error_code ec, size_t bytes);
  void SendContinue();
  void OnContinueWritten(boost::beast::error_code ec, size_t bytes);
  void Linger();
  void OnLingerRead(boost::beast::error_code ec, size_t bytes);

  const Strand strand_;
  ServerContext* const context_;
  boost::beast::tcp_stream stream_;
  boost::beast::flat_buffer buffer_;
  std::optional<RequestParser> parser_;
  State state_ = State::kIdle;
  bool header_checked_ = false;
  bool keep_alive_ = false;
  bool head_request_ = false;
  int version_ = 11;
  size_t lingered_bytes_ = 0;
  // The response in flight and its serialized head; reused across requests.
  HttpResponse response_;
  std::string head_;
  // Set by a Responder called synchronously inside the handler.
  std::optional<HttpResponse> inline_response_;
};

}  // namespace dnoscope::serving::http
