// End-to-end on emulated hosts: scripts/multihost.sh puts a client and three
// `dnoscope serve` replay servers in network namespaces of their own
// (10.213.0.1 and 10.213.0.11-13) behind a link that delays each server's
// packets by 20 ms, and curl in the client namespace checks readiness,
// inference, the delay, a killed server and a lossy link. Needs root and
// network namespaces; skips otherwise. Nothing binds or connects outside the
// namespaces, and every test deletes its namespaces, also when it fails.
//
// Timing asserts are lower bounds only (a round trip takes at least the
// emulated delay), never upper bounds: the machine may be loaded.
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "testing/test_env.h"

namespace dnoscope {
namespace {

using ::dnoscope::testing::CommandResult;
using ::dnoscope::testing::ReadFileOrEmpty;
using ::dnoscope::testing::RunCommand;
using ::dnoscope::testing::ScratchDir;
using ::dnoscope::testing::WriteFile;
using ::testing::HasSubstr;
using Json = nlohmann::json;
namespace fs = std::filesystem;

// Single-quotes `s` for /bin/sh.
std::string ShellQuote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

std::string MultihostScript() { return testing::SourceDir() + "/scripts/multihost.sh"; }

// ---------------------------------------------------------------------------
// MultiHost: REUSABLE TOPOLOGY for the distributed e2e tests (issue 5).
// One client namespace and `servers` server namespaces made by
// scripts/multihost.sh; the destructor runs `down`, so a test that fails or
// returns early leaves no namespace or server behind. The lead's distributed
// run test is meant to use it like this:
//
//   auto host = MultiHost::Create({.servers = 3, .delay_ms = 20}, dir.File("mh"));
//   ASSERT_TRUE(host.ok()) << host.status();
//   ASSERT_TRUE((*host)->StartReplayServers(repo).ok());
//   CommandResult run = (*host)->ExecClient(dnoscope + " run --reference " +
//                                           (*host)->ServerUrls() + " ...");
//   (*host)->Kill(2);  // mid-run, from another thread
// ---------------------------------------------------------------------------
class MultiHost {
 public:
  struct Options {
    std::string prefix;         // namespace prefix; empty: "dnsmt<pid>x<counter>"
    int servers = 3;            // server namespaces s1..sN
    int delay_ms = 0;           // added to each server's egress: once per round trip
    double loss_pct = 0;        // dropped share of each server's egress packets
    std::string link = "auto";  // "kernel", "userspace" or "auto" (see the script)
  };

  // Runs `multihost.sh up`; `state_dir` (created) receives pid files and
  // the server logs and must outlive the object. Unavailable when the
  // script fails (its output in the message).
  static absl::StatusOr<std::unique_ptr<MultiHost>> Create(const Options& options,
                                                           const std::string& state_dir) {
    static std::atomic<int> counter{0};
    std::string prefix = options.prefix;
    if (prefix.empty()) prefix = absl::StrCat("dnsmt", getpid(), "x", counter++);
    fs::create_directories(state_dir);
    auto host = std::unique_ptr<MultiHost>(new MultiHost(prefix, state_dir, options.servers));
    CommandResult up = host->Script(absl::StrCat("up --servers ", options.servers, " --delay-ms ",
                                                 options.delay_ms, " --loss-pct ", options.loss_pct,
                                                 " --link ", options.link));
    if (up.exit_code != 0) {
      return absl::UnavailableError(absl::StrCat("multihost.sh up failed: ", up.output));
    }
    host->link_ = ReadFileOrEmpty(state_dir + "/link");
    if (!host->link_.empty() && host->link_.back() == '\n') host->link_.pop_back();
    return host;
  }

  ~MultiHost() { Down(); }
  MultiHost(const MultiHost&) = delete;
  MultiHost& operator=(const MultiHost&) = delete;

  // Starts a replay (or any) model server on server i's address and waits
  // until /v2/health/ready answers 200 from the client namespace.
  absl::Status StartServer(int i, const std::string& repository, int port = kPort,
                           const std::string& extra_args = "") {
    CommandResult r = Script(absl::StrCat("serve ", i, " ", ShellQuote(testing::DnoscopeBinary()),
                                          " ", ShellQuote(repository), " ", port, " ", extra_args));
    if (r.exit_code != 0) return absl::UnavailableError(r.output);
    return absl::OkStatus();
  }

  absl::Status StartReplayServers(const std::string& repository, int port = kPort) {
    for (int i = 1; i <= servers_; ++i) {
      absl::Status s = StartServer(i, repository, port);
      if (!s.ok()) return s;
    }
    return absl::OkStatus();
  }

  // Sends `signal` to server i and waits for its exit.
  CommandResult Kill(int i, const std::string& signal = "TERM") {
    return Script(absl::StrCat("kill ", i, " ", signal));
  }

  // Runs `shell_command` (through sh -c) in the client namespace.
  CommandResult ExecClient(const std::string& shell_command) {
    return Script("exec-client sh -c " + ShellQuote(shell_command));
  }

  // Stops the servers and deletes the namespaces; idempotent.
  CommandResult Down() { return Script("down"); }

  static std::string ServerAddress(int i) { return absl::StrCat("10.213.0.", 10 + i); }
  static std::string ServerUrl(int i, int port = kPort) {
    return absl::StrCat("http://", ServerAddress(i), ":", port);
  }
  // "http://10.213.0.11:8000,http://10.213.0.12:8000,..." for --reference.
  std::string ServerUrls(int port = kPort) const {
    std::string urls;
    for (int i = 1; i <= servers_; ++i) urls += (i > 1 ? "," : "") + ServerUrl(i, port);
    return urls;
  }
  const std::string& prefix() const { return prefix_; }
  // "kernel" (bridge + netem) or "userspace" (TAPs + delaying hub).
  const std::string& link() const { return link_; }
  std::string ServerLog(int i) const {
    return ReadFileOrEmpty(absl::StrCat(state_dir_, "/s", i, ".log"));
  }

  static constexpr int kPort = 8000;

 private:
  MultiHost(std::string prefix, std::string state_dir, int servers)
      : prefix_(std::move(prefix)), state_dir_(std::move(state_dir)), servers_(servers) {}

  CommandResult Script(const std::string& args) const {
    return RunCommand(absl::StrCat("DNS_NETNS_PREFIX=", prefix_,
                                   " DNS_NETNS_STATE_DIR=", ShellQuote(state_dir_), " bash ",
                                   ShellQuote(MultihostScript()), " ", args));
  }

  std::string prefix_;
  std::string state_dir_;
  int servers_;
  std::string link_;
};

// Namespaces (from `ip netns list`) whose name starts with "<prefix>-".
std::vector<std::string> NamespacesWithPrefix(const std::string& prefix) {
  std::vector<std::string> found;
  std::istringstream lines(RunCommand("ip netns list").output);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.rfind(prefix + "-", 0) == 0) found.push_back(line.substr(0, line.find(' ')));
  }
  return found;
}

// Deletes the namespaces of earlier runs of this test whose process is gone
// (killed by a CTest timeout, say): "dnsmt<pid>x<n>-..." with no <pid>.
void DeleteStaleNamespaces(const std::string& script) {
  std::istringstream lines(RunCommand("ip netns list").output);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.rfind("dnsmt", 0) != 0) continue;
    const size_t x = line.find('x');
    const size_t dash = line.find('-');
    if (x == std::string::npos || dash == std::string::npos || x > dash) continue;
    const pid_t pid = std::atoi(line.substr(5, x - 5).c_str());
    if (pid <= 0 || kill(pid, 0) == 0 || errno != ESRCH) continue;
    RunCommand("DNS_NETNS_PREFIX=" + ShellQuote(line.substr(0, dash)) + " bash " +
               ShellQuote(script) + " down");
  }
}

struct CurlResult {
  int exit_code = -1;  // curl's: 7 = could not connect
  int status = 0;
  double connect_s = 0;  // %{time_connect}: one TCP handshake
  double total_s = 0;    // %{time_total}
  std::string body;
};

class MultiHostTest : public ::testing::Test {
 protected:
  void SetUp() override {
    CommandResult check = RunCommand("bash " + ShellQuote(MultihostScript()) + " check");
    if (check.exit_code != 0) {
      GTEST_SKIP() << "multi-host e2e needs root and network namespaces "
                      "(scripts/multihost.sh check): "
                   << check.output;
    }
    if (RunCommand("command -v curl").exit_code != 0) GTEST_SKIP() << "curl not installed";
    shaping_available_ = check.output.find("unavailable") == std::string::npos;
    shaping_note_ = check.output;
    DeleteStaleNamespaces(MultihostScript());
    fs::create_directories(dir_.File("repo/ref/1"));
    WriteFile(dir_.File("repo/ref/config.json"),
              R"({"backend": "replay", "files": {"labels": "labels.csv"},
                  "replay": {"service_time_ms": 40}})");
    WriteFile(dir_.File("repo/ref/1/labels.csv"),
              "frame,object_name,confidence,xmin,ymin,xmax,ymax\n"
              "3,car,0.75,10,20,30,40\n3,car,0.5,50,60,70,80\n7,car,0.25,1,2,3,4\n");
  }

  void TearDown() override {
    if (host_ == nullptr) return;
    if (HasFailure()) {
      for (int i = 1; i <= 3; ++i) std::printf("--- s%d.log\n%s", i, host_->ServerLog(i).c_str());
    }
    const std::string prefix = host_->prefix();
    CommandResult down = host_->Down();
    EXPECT_EQ(down.exit_code, 0) << down.output;
    host_.reset();
    EXPECT_THAT(NamespacesWithPrefix(prefix), ::testing::IsEmpty());
  }

  void StartTopology(const MultiHost::Options& options) {
    if ((options.delay_ms > 0 || options.loss_pct > 0) && !shaping_available_) {
      GTEST_SKIP() << "no link shaping here (neither netem nor /dev/net/tun + python3): "
                   << shaping_note_;
    }
    auto host = MultiHost::Create(options, dir_.File("mh"));
    ASSERT_TRUE(host.ok()) << host.status();
    host_ = std::move(*host);
    RecordProperty("link", host_->link());
    for (int i = 1; i <= options.servers; ++i) {
      absl::Status started = host_->StartServer(i, dir_.File("repo"));
      ASSERT_TRUE(started.ok()) << "server " << i << ": " << started;
    }
  }

  // curl from the client namespace; `args` go before the URL.
  CurlResult Curl(const std::string& args, const std::string& url) {
    const std::string body = dir_.File("body" + std::to_string(calls_++));
    CommandResult r = host_->ExecClient("curl -s -o " + body +
                                        " -w '%{http_code} %{time_connect} %{time_total}' " + args +
                                        " " + ShellQuote(url));
    CurlResult out;
    out.exit_code = r.exit_code;
    std::istringstream(r.output) >> out.status >> out.connect_s >> out.total_s;
    out.body = ReadFileOrEmpty(body);
    return out;
  }

  CurlResult Infer(int server, int64_t frame, const std::string& extra_args = "") {
    const std::string request =
        absl::StrCat(R"({"inputs":[{"name":"frame_index","shape":[1],"datatype":"INT64","data":[)",
                     frame, "]}]}");
    return Curl(
        "--max-time 30 -H 'Content-Type: application/json' -d '" + request + "' " + extra_args,
        MultiHost::ServerUrl(server) + "/v2/models/ref/infer");
  }

  // Expects a 200 whose "detections" output holds frame 3's two CSV rows.
  static void ExpectFrame3Rows(const CurlResult& r) {
    ASSERT_EQ(r.status, 200) << r.body;
    const Json response = Json::parse(r.body);
    const Json& out = response.at("outputs").at(0);
    EXPECT_EQ(out.at("name"), "detections");
    EXPECT_EQ(out.at("shape"), Json::parse("[2,6]"));
    EXPECT_EQ(out.at("data").get<std::vector<double>>(),
              (std::vector<double>{0, 0.75, 10, 20, 30, 40, 0, 0.5, 50, 60, 70, 80}));
  }

  ScratchDir dir_;
  std::unique_ptr<MultiHost> host_;  // destroyed before dir_
  // Whether --delay-ms/--loss-pct can be emulated here (see `check`).
  bool shaping_available_ = true;
  std::string shaping_note_;
  int calls_ = 0;
};

constexpr int kDelayMs = 20;

TEST_F(MultiHostTest, EachServerAnswersHealthReady) {
  ASSERT_NO_FATAL_FAILURE(StartTopology({.servers = 3, .delay_ms = kDelayMs}));
  if (IsSkipped()) return;
  for (int i = 1; i <= 3; ++i) {
    CurlResult r = Curl("--max-time 30", MultiHost::ServerUrl(i) + "/v2/health/ready");
    EXPECT_EQ(r.exit_code, 0) << "server " << i;
    EXPECT_EQ(r.status, 200) << "server " << i << ": " << r.body;
  }
}

TEST_F(MultiHostTest, InferReturnsTheFramesLabelRowsFromEachServer) {
  ASSERT_NO_FATAL_FAILURE(StartTopology({.servers = 3, .delay_ms = kDelayMs}));
  if (IsSkipped()) return;
  for (int i = 1; i <= 3; ++i) {
    SCOPED_TRACE("server " + std::to_string(i));
    ExpectFrame3Rows(Infer(i, 3));
    CurlResult empty = Infer(i, 5);  // no rows for frame 5
    ASSERT_EQ(empty.status, 200) << empty.body;
    EXPECT_EQ(Json::parse(empty.body).at("outputs").at(0).at("shape"), Json::parse("[0,6]"));
  }
}

TEST_F(MultiHostTest, RoundTripTakesAtLeastTheEmulatedDelay) {
  ASSERT_NO_FATAL_FAILURE(StartTopology({.servers = 3, .delay_ms = kDelayMs}));
  if (IsSkipped()) return;
  const double delay_s = kDelayMs / 1000.0;
  for (int i = 1; i <= 3; ++i) {
    SCOPED_TRACE("server " + std::to_string(i) + ", link " + host_->link());
    // The handshake alone is one round trip: the SYN-ACK leaves the server.
    CurlResult health = Curl("--max-time 30", MultiHost::ServerUrl(i) + "/v2/health/ready");
    ASSERT_EQ(health.status, 200);
    EXPECT_GE(health.connect_s, delay_s);
    EXPECT_GE(health.total_s, delay_s);
    CurlResult infer = Infer(i, 3);
    ASSERT_EQ(infer.status, 200) << infer.body;
    EXPECT_GE(infer.total_s, delay_s);
  }
}

TEST_F(MultiHostTest, KilledServerRefusesConnectionsWhileOthersAnswer) {
  ASSERT_NO_FATAL_FAILURE(StartTopology({.servers = 3, .delay_ms = kDelayMs}));
  if (IsSkipped()) return;
  CommandResult killed = host_->Kill(2);
  ASSERT_EQ(killed.exit_code, 0) << killed.output;
  CurlResult refused = Curl("--max-time 30", MultiHost::ServerUrl(2) + "/v2/health/ready");
  EXPECT_EQ(refused.exit_code, 7) << "expected curl's 'could not connect'";  // RST, not timeout
  EXPECT_EQ(refused.status, 0);
  for (int i : {1, 3}) {
    SCOPED_TRACE("server " + std::to_string(i));
    ExpectFrame3Rows(Infer(i, 3));
  }
}

TEST_F(MultiHostTest, LossyLinkCompletesRequestsWithRetries) {
  ASSERT_NO_FATAL_FAILURE(StartTopology({.servers = 1, .delay_ms = kDelayMs, .loss_pct = 5}));
  if (IsSkipped()) return;
  // TCP retransmits most losses; curl retries cover a lost handshake or a
  // stall past --max-time.
  for (int k = 0; k < 20; ++k) {
    SCOPED_TRACE("request " + std::to_string(k));
    CurlResult r = Infer(1, 3, "--retry 5 --retry-all-errors --retry-delay 0");
    EXPECT_EQ(r.exit_code, 0);
    ExpectFrame3Rows(r);
  }
}

// The other tests shape the link, which on a kernel without netem means the
// userspace emulator; this one runs the bridge-and-veth topology.
TEST_F(MultiHostTest, KernelBridgeLinkServesEachServer) {
  ASSERT_NO_FATAL_FAILURE(StartTopology({.servers = 2, .link = "kernel"}));
  if (IsSkipped()) return;
  EXPECT_EQ(host_->link(), "kernel");
  for (int i = 1; i <= 2; ++i) {
    SCOPED_TRACE("server " + std::to_string(i));
    ExpectFrame3Rows(Infer(i, 3));
  }
}

TEST_F(MultiHostTest, DownDeletesEveryNamespaceAndLeavesTheRootNamespaceAlone) {
  const std::string root_links_before = RunCommand("ip -o link show | cut -d: -f2").output;
  ASSERT_NO_FATAL_FAILURE(StartTopology({.servers = 3, .delay_ms = kDelayMs}));
  if (IsSkipped()) return;
  const std::string prefix = host_->prefix();
  EXPECT_EQ(NamespacesWithPrefix(prefix).size(), 5u);  // client, net, s1..s3
  EXPECT_EQ(RunCommand("ip -o link show | cut -d: -f2").output, root_links_before);
  CommandResult down = host_->Down();
  ASSERT_EQ(down.exit_code, 0) << down.output;
  EXPECT_THAT(NamespacesWithPrefix(prefix), ::testing::IsEmpty());
  EXPECT_EQ(RunCommand("ip -o link show | cut -d: -f2").output, root_links_before);
  CommandResult again = host_->Down();  // idempotent
  EXPECT_EQ(again.exit_code, 0) << again.output;
  EXPECT_THAT(again.output, HasSubstr("down"));
}

}  // namespace
}  // namespace dnoscope
