// A tiny HTTP/1.1 server for client tests: raw Beast/Asio on 127.0.0.1, port 0,
// one thread. A handler decides each response (status, body, close, never
// answer, drop); the server counts connections and requests so tests
// can assert on reuse and concurrency.
// Thread-safety: all public methods are thread-safe; the handler runs on the
// server thread.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <future>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include "absl/base/thread_annotations.h"
#include "client/endpoint.h"
#include "common/mutex.h"

namespace dnoscope::client::testing {

struct TestRequest {
  std::string method;
  std::string target;
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  // names lower-cased
  // Value of header `name` (lower-case), or "" when absent.
  std::string Header(const std::string& name) const;
};

struct TestResponse {
  int status = 200;
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
  bool close = false;         // "Connection: close", then close the socket
  bool never_answer = false;  // keep the connection open without answering
  bool drop = false;          // close the connection without answering
};

using TestHandler = std::function<TestResponse(const TestRequest&)>;

class TestHttpServer {
 public:
  // Starts listening; the default handler answers 200 "ok".
  explicit TestHttpServer(TestHandler handler = nullptr);
  ~TestHttpServer();

  Endpoint endpoint() const { return {"127.0.0.1", port_}; }

  int accepted() const { return accepted_.load(); }
  int max_open_connections() const { return max_open_.load(); }
  int max_in_flight() const { return max_in_flight_.load(); }
  // Requests read so far.
  int64_t requests() const { return requests_.load(); }

  // While on, requests are read but not answered; turning it off answers them.
  void SetHold(bool hold);
  // Waits until `n` requests are read and unanswered; false after
  // `real_timeout` (a guard against hangs, not a timing).
  bool WaitForInFlight(int n, std::chrono::seconds real_timeout = std::chrono::seconds(20));
  // Waits until `n` requests were read in total; false after `real_timeout`.
  bool WaitForRequests(int64_t n, std::chrono::seconds real_timeout = std::chrono::seconds(20));
  // Closes every connection that waits for its next request; returns after.
  void CloseIdleConnections();

 private:
  class Session;
  friend class Session;

  void Accept();
  void OnRequest(const std::shared_ptr<Session>& session, const TestRequest& request);
  void ChangeInFlight(int delta);
  void OnClosedAfterWrite();

  TestHandler handler_;
  boost::asio::io_context io_;
  boost::asio::ip::tcp::acceptor acceptor_;
  int port_ = 0;

  std::atomic<int> accepted_{0};
  std::atomic<int> open_{0};
  std::atomic<int> max_open_{0};
  std::atomic<int> max_in_flight_{0};
  std::atomic<int64_t> requests_{0};

  Mutex mu_;
  CondVar in_flight_changed_;
  int in_flight_ ABSL_GUARDED_BY(mu_) = 0;

  // Server thread only.
  bool hold_ = false;
  std::vector<std::pair<std::shared_ptr<Session>, TestResponse>> held_;
  std::vector<std::shared_ptr<Session>> parked_;  // never answered
  std::vector<std::weak_ptr<Session>> sessions_;
  int closing_after_write_ = 0;
  std::vector<std::shared_ptr<std::promise<void>>> close_waiters_;

  std::thread thread_;
};

}  // namespace dnoscope::client::testing
