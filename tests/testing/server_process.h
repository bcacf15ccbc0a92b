// A `dnoscope serve` child process for end-to-end tests: started on
// 127.0.0.1 port 0, its port read from --port-file, stopped with a signal.
// The destructor kills a server still running, so no test leaves one behind.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <string>
#include <vector>

namespace dnoscope::testing {

class ServerProcess {
 public:
  ServerProcess() = default;
  ~ServerProcess();
  ServerProcess(const ServerProcess&) = delete;
  ServerProcess& operator=(const ServerProcess&) = delete;

  // Runs `dnoscope serve --model-repository repository --host 127.0.0.1
  // --http-port 0 --port-file <scratch> <extra_args...>` with output going to
  // `log_path`, and waits (up to `wait`) for the port file. False (with the
  // reason in error()) when it exits or times out first.
  bool Start(const std::string& repository, const std::vector<std::string>& extra_args,
             const std::string& log_path,
             std::chrono::seconds wait = std::chrono::seconds(60));

  int port() const { return port_; }
  pid_t pid() const { return pid_; }
  // "http://127.0.0.1:<port>".
  std::string url() const;
  const std::string& error() const { return error_; }

  // Sends `signal` and waits (up to `wait`) for the exit; the exit code, or
  // -1 after a timeout (the process is then killed) or a crash.
  int Stop(int signal, std::chrono::seconds wait = std::chrono::seconds(60));

 private:
  pid_t pid_ = -1;
  int port_ = 0;
  std::string port_file_;
  std::string error_;
};

}  // namespace dnoscope::testing
