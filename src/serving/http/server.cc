#include "serving/http/server.h"

#include <algorithm>
#include <cctype>
#include <exception>
#include <optional>
#include <thread>
#include <utility>

#include "absl/status/status.h"
#include "boost/asio/executor_work_guard.hpp"
#include "boost/asio/io_context.hpp"
#include "boost/asio/ip/tcp.hpp"
#include "boost/asio/post.hpp"
#include "boost/asio/steady_timer.hpp"
#include "boost/asio/strand.hpp"
#include "boost/beast/core/bind_handler.hpp"
#include "common/status_macros.h"
#include "fmt/format.h"
#include "serving/http/connection.h"
#include "spdlog/spdlog.h"

namespace dnoscope::serving::http {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
using tcp = asio::ip::tcp;

// Pause before accepting again after a failed accept (e.g. out of descriptors).
constexpr std::chrono::milliseconds kAcceptRetryDelay{50};

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

absl::Status ValidateOptions(const HttpServerOptions& options) {
  if (options.port < 0 || options.port > 65535) {
    return absl::InvalidArgumentError(fmt::format("http: bad port {}", options.port));
  }
  if (options.io_threads < 1) {
    return absl::InvalidArgumentError(
        fmt::format("http: io_threads must be at least 1, got {}", options.io_threads));
  }
  return absl::OkStatus();
}

absl::StatusOr<tcp::endpoint> ResolveEndpoint(const HttpServerOptions& options) {
  std::string_view host = options.host;
  if (host == "localhost") host = "127.0.0.1";
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  beast::error_code ec;
  asio::ip::address address = asio::ip::make_address(std::string(host), ec);
  if (ec) {
    return absl::InvalidArgumentError(
        fmt::format("http: bad host '{}': expected an IP address or 'localhost'", options.host));
  }
  return tcp::endpoint(address, static_cast<unsigned short>(options.port));
}

}  // namespace

const std::string* HttpRequest::Header(std::string_view name) const {
  for (const auto& [key, value] : headers) {
    if (EqualsIgnoreCase(key, name)) return &value;
  }
  return nullptr;
}

class HttpServer::Impl {
 public:
  Impl(const HttpServerOptions& options, Handler handler)
      : accept_strand_(asio::make_strand(ioc_)),
        acceptor_(accept_strand_),
        accept_retry_(accept_strand_) {
    context_.options = options;
    context_.handler = std::move(handler);
  }
  ~Impl() { Shutdown(); }

  // Opens, binds and listens; see HttpServer::Start for the errors.
  absl::Status Listen(const tcp::endpoint& endpoint);
  // Starts accepting and the I/O threads.
  void Run();
  void Shutdown();
  int port() const { return port_; }
  size_t in_flight() const { return context_.gate->in_flight.load(std::memory_order_acquire); }

 private:
  using Strand = Connection::Strand;

  void Accept();
  void OnAccept(Strand strand, beast::error_code ec, tcp::socket socket);
  void RunIo();

  // Declared first: destroyed after the io_context and its queued work.
  ServerContext context_;
  asio::io_context ioc_;
  Strand accept_strand_;
  tcp::acceptor acceptor_;
  asio::steady_timer accept_retry_;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work_;
  std::vector<std::jthread> threads_;
  int port_ = 0;
  Mutex shutdown_mu_;
  bool shut_down_ ABSL_GUARDED_BY(shutdown_mu_) = false;
};

absl::Status HttpServer::Impl::Listen(const tcp::endpoint& endpoint) {
  const std::string where = fmt::format("{}:{}", context_.options.host, context_.options.port);
  beast::error_code ec;
  acceptor_.open(endpoint.protocol(), ec);
  if (!ec) acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
  if (ec) return absl::InternalError(fmt::format("http: cannot open a socket: {}", ec.message()));
  acceptor_.bind(endpoint, ec);
  if (ec == asio::error::address_in_use) {
    return absl::UnavailableError(fmt::format("http: address {} is already in use", where));
  }
  if (ec == boost::system::errc::address_not_available) {
    return absl::InvalidArgumentError(
        fmt::format("http: cannot bind {}: not a local address", where));
  }
  if (ec)
    return absl::UnavailableError(fmt::format("http: cannot bind {}: {}", where, ec.message()));
  acceptor_.listen(asio::socket_base::max_listen_connections, ec);
  if (ec)
    return absl::UnavailableError(
        fmt::format("http: cannot listen on {}: {}", where, ec.message()));
  port_ = acceptor_.local_endpoint(ec).port();
  return absl::OkStatus();
}

void HttpServer::Impl::Run() {
  work_.emplace(ioc_.get_executor());
  asio::post(accept_strand_, [this] { Accept(); });
  threads_.reserve(context_.options.io_threads);
  for (int i = 0; i < context_.options.io_threads; ++i) {
    threads_.emplace_back([this] { RunIo(); });
  }
}

void HttpServer::Impl::RunIo() {
  for (;;) {
    try {
      ioc_.run();
      return;
    } catch (const std::exception& e) {
      spdlog::error("http: an I/O thread caught an exception: {}", e.what());
    } catch (...) {
      spdlog::error("http: an I/O thread caught a non-standard exception");
    }
  }
}

void HttpServer::Impl::Accept() {
  if (context_.draining.load(std::memory_order_acquire) || !acceptor_.is_open()) return;
  Strand strand = asio::make_strand(ioc_);
  acceptor_.async_accept(strand, beast::bind_front_handler(&Impl::OnAccept, this, strand));
}

void HttpServer::Impl::OnAccept(Strand strand, beast::error_code ec, tcp::socket socket) {
  if (ec == asio::error::operation_aborted || !acceptor_.is_open()) return;
  if (ec) {
    spdlog::warn("http: accept failed: {}", ec.message());
    accept_retry_.expires_after(kAcceptRetryDelay);
    accept_retry_.async_wait([this](beast::error_code wait_ec) {
      if (!wait_ec) Accept();
    });
    return;
  }
  auto connection = std::make_shared<Connection>(std::move(socket), strand, &context_);
  // A sealed registry (Shutdown began) refuses; the socket closes with `connection`.
  if (context_.registry.Add(connection)) {
    asio::post(strand, [connection] { connection->Start(); });
  }
  Accept();
}

void HttpServer::Impl::Shutdown() {
  MutexLock lock(&shutdown_mu_);
  if (shut_down_) return;
  shut_down_ = true;
  context_.draining.store(true, std::memory_order_release);
  asio::post(accept_strand_, [this] {
    beast::error_code ec;
    acceptor_.close(ec);
    accept_retry_.cancel();
  });
  for (std::shared_ptr<Connection>& connection : context_.registry.Seal()) {
    asio::post(connection->strand(), [connection] { connection->BeginShutdown(); });
  }
  if (!context_.registry.WaitUntilEmpty(context_.options.drain_timeout)) {
    spdlog::warn("http: {} connection(s) still busy after the {} s drain timeout; closing them",
                 context_.registry.Snapshot().size(), context_.options.drain_timeout.count());
  }
  work_.reset();
  ioc_.stop();
  threads_.clear();  // joins
  {
    MutexLock gate_lock(&context_.gate->mu);
    context_.gate->open = false;
  }
  // No thread runs the io_context now: close and release directly.
  beast::error_code ec;
  acceptor_.close(ec);
  context_.registry.Clear();
}

HttpServer::HttpServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

HttpServer::~HttpServer() { Shutdown(); }

absl::StatusOr<std::unique_ptr<HttpServer>> HttpServer::Start(const HttpServerOptions& options,
                                                              Handler handler) {
  DNS_RETURN_IF_ERROR(ValidateOptions(options));
  if (!handler) return absl::InvalidArgumentError("http: the handler is empty");
  DNS_ASSIGN_OR_RETURN(tcp::endpoint endpoint, ResolveEndpoint(options));
  auto impl = std::make_unique<Impl>(options, std::move(handler));
  DNS_RETURN_IF_ERROR(impl->Listen(endpoint));
  impl->Run();
  return std::unique_ptr<HttpServer>(new HttpServer(std::move(impl)));
}

int HttpServer::port() const { return impl_->port(); }

void HttpServer::Shutdown() { impl_->Shutdown(); }

size_t HttpServer::in_flight() const { return impl_->in_flight(); }

}  // namespace dnoscope::serving::http
