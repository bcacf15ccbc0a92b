#include "client/test_http_server.h"

#include <algorithm>
#include <cctype>
#include <future>
#include <optional>

#include <boost/asio/post.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>

namespace dnoscope::client::testing {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using ErrorCode = boost::system::error_code;

std::string TestRequest::Header(const std::string& name) const {
  for (const auto& [key, value] : headers) {
    if (key == name) return value;
  }
  return "";
}

class TestHttpServer::Session : public std::enable_shared_from_this<Session> {
 public:
  Session(TestHttpServer* server, tcp::socket socket)
      : server_(server), socket_(std::move(socket)) {}

  bool idle() const { return idle_; }
  bool writing() const { return writing_; }
  void CloseAfterWrite() { close_after_write_ = true; }

  void Read() {
    idle_ = true;
    parser_.emplace();
    parser_->body_limit(64 << 20);
    http::async_read(socket_, buffer_, *parser_,
                     [self = shared_from_this()](const ErrorCode& ec, size_t) { self->OnRead(ec); });
  }

  void Respond(const TestResponse& response) { Write(response); }

  void Close() {
    ErrorCode ignored;
    socket_.shutdown(tcp::socket::shutdown_both, ignored);
    socket_.close(ignored);
  }

  void Closed() {
    if (closed_) return;
    closed_ = true;
    Close();
    server_->open_.fetch_sub(1);
  }

 private:
  void OnRead(const ErrorCode& ec) {
    if (ec) {
      Closed();
      return;
    }
    idle_ = false;
    TestRequest request;
    auto& message = parser_->get();
    request.method = std::string(message.method_string());
    request.target = std::string(message.target());
    request.body = std::move(message.body());
    for (const auto& field : message) {
      std::string name(field.name_string());
      std::transform(name.begin(), name.end(), name.begin(),
                     [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
      request.headers.emplace_back(std::move(name), std::string(field.value()));
    }
    server_->OnRequest(shared_from_this(), request);
  }

  void Write(const TestResponse& response) {
    server_->ChangeInFlight(-1);
    response_.emplace(static_cast<http::status>(response.status), 11);
    for (const auto& [name, value] : response.headers) response_->set(name, value);
    response_->body() = response.body;
    response_->keep_alive(!response.close);
    response_->prepare_payload();
    const bool close = response.close;
    writing_ = true;
    http::async_write(socket_, *response_,
                      [self = shared_from_this(), close](const ErrorCode& ec, size_t) {
                        self->OnWritten(ec, close);
                      });
  }

  void OnWritten(const ErrorCode& ec, bool close) {
    writing_ = false;
    if (close_after_write_) {
      Closed();
      server_->OnClosedAfterWrite();
    } else if (ec || close) {
      Closed();
    } else {
      Read();
    }
  }

  TestHttpServer* server_;
  tcp::socket socket_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  std::optional<http::response<http::string_body>> response_;
  bool idle_ = false;
  bool writing_ = false;
  bool close_after_write_ = false;
  bool closed_ = false;
};

TestHttpServer::TestHttpServer(TestHandler handler)
    : handler_(std::move(handler)), acceptor_(io_) {
  if (!handler_) handler_ = [](const TestRequest&) { return TestResponse{200, "ok"}; };
  const tcp::endpoint listen(asio::ip::make_address("127.0.0.1"), 0);
  acceptor_.open(listen.protocol());
  acceptor_.set_option(tcp::acceptor::reuse_address(true));
  acceptor_.bind(listen);
  acceptor_.listen();
  port_ = acceptor_.local_endpoint().port();
  Accept();
  thread_ = std::thread([this] { io_.run(); });
}

TestHttpServer::~TestHttpServer() {
  io_.stop();
  thread_.join();
}

void TestHttpServer::Accept() {
  acceptor_.async_accept([this](const ErrorCode& ec, tcp::socket socket) {
    if (ec) return;
    accepted_.fetch_add(1);
    const int open = open_.fetch_add(1) + 1;
    int seen = max_open_.load();
    while (open > seen && !max_open_.compare_exchange_weak(seen, open)) {
    }
    auto session = std::make_shared<Session>(this, std::move(socket));
    sessions_.push_back(session);
    session->Read();
    Accept();
  });
}

void TestHttpServer::OnRequest(const std::shared_ptr<Session>& session,
                               const TestRequest& request) {
  requests_.fetch_add(1);
  ChangeInFlight(+1);
  TestResponse response = handler_(request);
  if (response.drop) {
    ChangeInFlight(-1);
    session->Closed();
  } else if (response.never_answer) {
    parked_.push_back(session);
  } else if (hold_) {
    held_.emplace_back(session, std::move(response));
  } else {
    session->Respond(response);
  }
}

void TestHttpServer::ChangeInFlight(int delta) {
  {
    MutexLock lock(&mu_);
    in_flight_ += delta;
    max_in_flight_.store(std::max(max_in_flight_.load(), in_flight_));
  }
  in_flight_changed_.SignalAll();
}

void TestHttpServer::SetHold(bool hold) {
  asio::post(io_, [this, hold] {
    hold_ = hold;
    if (hold) return;
    for (auto& [session, response] : held_) session->Respond(response);
    held_.clear();
  });
}

bool TestHttpServer::WaitForInFlight(int n, std::chrono::seconds real_timeout) {
  const auto give_up = std::chrono::steady_clock::now() + real_timeout;
  MutexLock lock(&mu_);
  while (in_flight_ < n) {
    if (in_flight_changed_.WaitUntil(&mu_, give_up)) return in_flight_ >= n;
  }
  return true;
}

bool TestHttpServer::WaitForRequests(int64_t n, std::chrono::seconds real_timeout) {
  const auto give_up = std::chrono::steady_clock::now() + real_timeout;
  MutexLock lock(&mu_);
  // requests_ grows just before ChangeInFlight(+1) signals under mu_.
  while (requests_.load() < n) {
    if (in_flight_changed_.WaitUntil(&mu_, give_up)) return requests_.load() >= n;
  }
  return true;
}

void TestHttpServer::CloseIdleConnections() {
  auto done = std::make_shared<std::promise<void>>();
  std::future<void> closed = done->get_future();
  asio::post(io_, [this, done] {
    // A response whose write has not completed yet counts as idle too: the
    // client may already have it.
    for (const auto& weak : sessions_) {
      std::shared_ptr<Session> session = weak.lock();
      if (session == nullptr) continue;
      if (session->idle()) {
        session->Close();
      } else if (session->writing()) {
        session->CloseAfterWrite();
        ++closing_after_write_;
      }
    }
    if (closing_after_write_ == 0) {
      done->set_value();
    } else {
      close_waiters_.push_back(done);
    }
  });
  closed.wait();
}

void TestHttpServer::OnClosedAfterWrite() {
  if (--closing_after_write_ > 0) return;
  for (auto& waiter : close_waiters_) waiter->set_value();
  close_waiters_.clear();
}

}  // namespace dnoscope::client::testing
