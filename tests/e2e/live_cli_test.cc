// End-to-end tests of `dnoscope run` on live input: a stream served over
// loopback TCP by the ffmpeg CLI, stopped and restarted mid-run (the client
// reconnects, reports the gap, keeps numbering frames, ends cleanly on
// SIGTERM with every row written), and --realtime pacing of a 10 fps file.
// Skipped with a message when the ffmpeg CLI is absent (scripts/setup.sh
// installs it).
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "fmt/format.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "testing/test_env.h"

extern char** environ;

namespace dnoscope {
namespace {

using testing::CommandResult;
using testing::DnoscopeBinary;
using testing::ReadFileOrEmpty;
using testing::RunCommand;
using testing::ScratchDir;

bool HaveFfmpeg() { return RunCommand("command -v ffmpeg >/dev/null 2>&1").exit_code == 0; }

// A child process running `command` through /bin/sh (exec'd, so signals
// reach it), output to `log`. The destructor kills one still running.
class Child {
 public:
  Child(const std::string& command, const std::string& log) {
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 1, log.c_str(), O_WRONLY | O_CREAT | O_APPEND,
                                     0644);
    posix_spawn_file_actions_adddup2(&actions, 1, 2);
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
    const std::string exec = "exec " + command;
    const char* argv[] = {"/bin/sh", "-c", exec.c_str(), nullptr};
    if (posix_spawn(&pid_, "/bin/sh", &actions, nullptr, const_cast<char**>(argv), environ) != 0) {
      pid_ = -1;
    }
    posix_spawn_file_actions_destroy(&actions);
  }
  ~Child() {
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
  }
  bool started() const { return pid_ > 0; }
  // Sends `signal`, waits up to `wait` for the exit: the exit code, or -1.
  int Stop(int signal, std::chrono::seconds wait = std::chrono::seconds(60)) {
    if (pid_ <= 0) return -1;
    kill(pid_, signal);
    const auto give_up = std::chrono::steady_clock::now() + wait;
    int status = 0;
    while (waitpid(pid_, &status, WNOHANG) == 0) {
      if (std::chrono::steady_clock::now() > give_up) return -1;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    pid_ = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }
  bool Running() {
    int status = 0;
    return pid_ > 0 && waitpid(pid_, &status, WNOHANG) == 0;
  }

 private:
  pid_t pid_ = -1;
};

// A free loopback TCP port (bound, then released).
int FreePort() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  socklen_t len = sizeof(addr);
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  close(fd);
  return ntohs(addr.sin_port);
}

// True once something listens on 127.0.0.1:port (read from /proc/net/tcp,
// so that no probe connection is made: ffmpeg's listen mode serves one).
bool Listening(int port) {
  std::ifstream in("/proc/net/tcp");
  const std::string local = fmt::format("0100007F:{:04X}", port);
  for (std::string line; std::getline(in, line);) {
    std::istringstream fields(line);
    std::string slot, local_address, remote, state;
    fields >> slot >> local_address >> remote >> state;
    if (local_address == local && state == "0A") return true;
  }
  return false;
}

// Polls `ready` every 50 ms for up to `limit` (a hang guard, not a timing).
template <typename F>
bool WaitFor(F ready, std::chrono::seconds limit = std::chrono::seconds(60)) {
  const auto give_up = std::chrono::steady_clock::now() + limit;
  while (!ready()) {
    if (std::chrono::steady_clock::now() > give_up) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return true;
}

// Data rows of a prediction CSV.
std::vector<std::string> Rows(const std::string& path) {
  std::vector<std::string> rows;
  std::istringstream in(ReadFileOrEmpty(path));
  for (std::string line; std::getline(in, line);) {
    if (!line.empty() && line.rfind("frame,", 0) != 0) rows.push_back(line);
  }
  return rows;
}

std::string ServeStream(int port) {
  return fmt::format(
      "ffmpeg -hide_banner -loglevel error -re -f lavfi -i testsrc=size=160x120:rate=10 "
      "-f mpegts 'tcp://127.0.0.1:{}?listen=1'",
      port);
}

TEST(LiveCliTest, ReconnectsToARestartedStreamAndEndsCleanlyOnSigterm) {
  if (!HaveFfmpeg()) GTEST_SKIP() << "the ffmpeg CLI is not installed (scripts/setup.sh)";
  ScratchDir dir;
  const int port = FreePort();
  auto ffmpeg = std::make_unique<Child>(ServeStream(port), dir.File("ffmpeg.log"));
  ASSERT_TRUE(WaitFor([&] { return Listening(port); })) << ReadFileOrEmpty(dir.File("ffmpeg.log"));
  const std::string csv = dir.File("out.csv");
  Child run(fmt::format("{} run --video tcp://127.0.0.1:{} --out {} --summary-json {} --events {} "
                        "--metrics-port 0 --progress off",
                        DnoscopeBinary(), port, csv, dir.File("summary.json"),
                        dir.File("events.jsonl")),
            dir.File("run.log"));
  ASSERT_TRUE(run.started());
  ASSERT_TRUE(WaitFor([&] { return Rows(csv).size() >= 15; })) << ReadFileOrEmpty(dir.File("run.log"));

  // The camera goes away for a while, then comes back on the same address.
  ffmpeg->Stop(SIGKILL);
  ffmpeg.reset();
  ASSERT_TRUE(WaitFor([&] {
    return ReadFileOrEmpty(dir.File("run.log")).find("reconnect attempt") != std::string::npos;
  })) << ReadFileOrEmpty(dir.File("run.log"));
  const size_t before = Rows(csv).size();
  ffmpeg = std::make_unique<Child>(ServeStream(port), dir.File("ffmpeg.log"));
  ASSERT_TRUE(WaitFor([&] {
    return ReadFileOrEmpty(dir.File("run.log")).find("back after") != std::string::npos;
  })) << ReadFileOrEmpty(dir.File("run.log"));
  ASSERT_TRUE(WaitFor([&] { return Rows(csv).size() >= before + 15; }));

  EXPECT_EQ(run.Stop(SIGTERM), 0) << ReadFileOrEmpty(dir.File("run.log"));
  const std::string log = ReadFileOrEmpty(dir.File("run.log"));
  EXPECT_NE(log.find("lost after frame"), std::string::npos) << log;
  EXPECT_NE(log.find("stopped by signal"), std::string::npos) << log;
  EXPECT_NE(log.find("reconnects     1"), std::string::npos) << log;

  // Every frame read has its row, numbered on across the reconnect.
  const std::vector<std::string> rows = Rows(csv);
  for (size_t i = 0; i < rows.size(); ++i) {
    ASSERT_EQ(rows[i].substr(0, rows[i].find(',')), std::to_string(i)) << "row " << i;
  }
  const nlohmann::json summary = nlohmann::json::parse(ReadFileOrEmpty(dir.File("summary.json")));
  EXPECT_EQ(summary["frames"].get<int64_t>(), static_cast<int64_t>(rows.size()));
  EXPECT_EQ(summary["live"]["reconnects"].get<int64_t>(), 1);
  EXPECT_GT(summary["live"]["gap_seconds"].get<double>(), 0);
  EXPECT_EQ(summary["live"]["lateness_ms"]["frames"].get<int64_t>(),
            static_cast<int64_t>(rows.size()));
}

TEST(LiveCliTest, RealtimePacesAFileAndReportsLateness) {
  if (!HaveFfmpeg()) GTEST_SKIP() << "the ffmpeg CLI is not installed (scripts/setup.sh)";
  ScratchDir dir;
  const std::string video = dir.File("ten_fps.avi");
  ASSERT_EQ(RunCommand("ffmpeg -hide_banner -loglevel error -f lavfi -i "
                       "testsrc=size=160x120:rate=10 -frames:v 30 -c:v mjpeg " + video)
                .exit_code,
            0);
  const auto start = std::chrono::steady_clock::now();
  CommandResult r = RunCommand(fmt::format(
      "{} --log-level warn run --video {} --realtime --out {} --summary-json {} --progress off",
      DnoscopeBinary(), video, dir.File("out.csv"), dir.File("summary.json")));
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(Rows(dir.File("out.csv")).size(), 30u);
  // Paced: frame 29 is released 2.9 s after frame 0 (a lower bound that
  // pacing guarantees, not a speed measurement).
  EXPECT_GE(seconds, 2.9);
  const nlohmann::json live =
      nlohmann::json::parse(ReadFileOrEmpty(dir.File("summary.json")))["live"];
  EXPECT_EQ(live["lateness_ms"]["frames"].get<int64_t>(), 30);
  EXPECT_EQ(live["dropped_frames"].get<int64_t>(), 0);
  EXPECT_LE(live["lateness_ms"]["mean"].get<double>(), live["lateness_ms"]["max"].get<double>());
  // The client keeps up with 10 fps of 160x120 frames: under one frame interval.
  EXPECT_LT(live["lateness_ms"]["max"].get<double>(), 100) << r.output;
}

TEST(LiveCliTest, LiveFlagsThatDoNotFitTheInputAreClearErrors) {
  ScratchDir dir;
  const std::string video = dir.File("v.avi");
  if (!HaveFfmpeg()) GTEST_SKIP() << "the ffmpeg CLI is not installed (scripts/setup.sh)";
  ASSERT_EQ(RunCommand("ffmpeg -hide_banner -loglevel error -f lavfi -i "
                       "testsrc=size=64x48:rate=10 -frames:v 3 -c:v mjpeg " + video)
                .exit_code,
            0);
  const std::string run = DnoscopeBinary() + " run --progress off --video " + video;
  CommandResult r = RunCommand(run + " --reconnect-s 30");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.output.find("--reconnect-s applies to live URLs"), std::string::npos) << r.output;
  r = RunCommand(run + " --max-lateness-ms 50");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.output.find("--max-lateness-ms needs a live source or --realtime"),
            std::string::npos)
      << r.output;
  r = RunCommand(run + " --out - --events -");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.output.find("both write to stdout"), std::string::npos) << r.output;
  r = RunCommand(run + " --events-url https://example.invalid/hook");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.output.find("expected http://host:port/path"), std::string::npos) << r.output;
}

}  // namespace
}  // namespace dnoscope
