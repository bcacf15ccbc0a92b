#include "testing/server_process.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <thread>

#include "testing/test_env.h"

extern char** environ;

namespace dnoscope::testing {
namespace {

// waitpid without blocking for more than `wait`; the exit status or nullopt.
// The server is another process: there is no event to wait on portably (a
// fake clock cannot help either), so this and Start's wait for the port file
// are bounded polls of real time, never assertions about it.
bool WaitForExit(pid_t pid, std::chrono::milliseconds wait, int* status) {
  const auto deadline = std::chrono::steady_clock::now() + wait;
  while (true) {
    const pid_t r = waitpid(pid, status, WNOHANG);
    if (r == pid) return true;
    if (r < 0) return false;
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

}  // namespace

ServerProcess::~ServerProcess() {
  if (pid_ > 0) Stop(SIGKILL, std::chrono::seconds(10));
  if (!port_file_.empty()) std::filesystem::remove(port_file_);
}

bool ServerProcess::Start(const std::string& repository, const std::vector<std::string>& extra_args,
                          const std::string& log_path, std::chrono::seconds wait) {
  port_file_ = log_path + ".port";
  std::filesystem::remove(port_file_);
  std::vector<std::string> args = {DnoscopeBinary(), "serve", "--model-repository", repository,
                                   "--host", "127.0.0.1", "--http-port", "0", "--port-file",
                                   port_file_};
  args.insert(args.end(), extra_args.begin(), extra_args.end());
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_adddup2(&actions, 1, 2);
  const int rc = posix_spawn(&pid_, argv[0], &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) {
    pid_ = -1;
    error_ = "posix_spawn failed for " + args[0];
    return false;
  }
  const auto deadline = std::chrono::steady_clock::now() + wait;
  while (std::chrono::steady_clock::now() < deadline) {
    const std::string text = ReadFileOrEmpty(port_file_);
    if (!text.empty()) {
      port_ = std::atoi(text.c_str());
      return port_ > 0;
    }
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      error_ = "server exited before listening:\n" + ReadFileOrEmpty(log_path);
      return false;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  error_ = "server did not write its port file in time:\n" + ReadFileOrEmpty(log_path);
  return false;
}

std::string ServerProcess::url() const { return "http://127.0.0.1:" + std::to_string(port_); }

int ServerProcess::Stop(int signal, std::chrono::seconds wait) {
  if (pid_ <= 0) return -1;
  kill(pid_, signal);
  int status = 0;
  const bool exited = WaitForExit(pid_, wait, &status);
  if (!exited) {
    kill(pid_, SIGKILL);
    waitpid(pid_, &status, 0);
  }
  pid_ = -1;
  return exited && WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

}  // namespace dnoscope::testing
