// End-to-end on emulated hosts: scripts/multihost.sh puts a client and three
// `dnoscope serve` replay servers in network namespaces of their own
// (10.213.0.1 and 10.213.0.11-13) behind a link that delays each server's
// packets by 20 ms (and drops some, for the lossy cases).
//
// MultiHostTest checks the topology with curl in the client namespace:
// readiness, inference, the delay, a killed server, a lossy link.
// DistributedRunTest runs the distributed cascade, `dnoscope run --reference
// http://...,http://...` in the client namespace against replay servers that
// answer from a `dnoscope synth` scene's labels, and compares its CSV byte for
// byte with a local run of the same replay model: over three servers, with a
// server killed mid-run, over a lossy link; and when every server dies, the
// run fails naming the first unlabeled frame after writing every row before it.
//
// Needs root and network namespaces; skips otherwise. Nothing binds or
// connects outside the namespaces, and every test deletes its namespaces,
// also when it fails. Timing asserts are lower bounds only (a round trip
// takes at least the emulated delay), never upper bounds: the machine may be
// loaded.
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <future>
#include <memory>
#include <regex>
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
// returns early leaves no namespace or server behind. DistributedRunTest
// below uses it like this:
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
    for (int i = 1; i <= servers_; ++i)
      absl::StrAppend(&urls, i > 1 ? "," : "", ServerUrl(i, port));
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

// ---------------------------------------------------------------------------
// The distributed cascade: `dnoscope run` in the client namespace with its
// reference stage on the replay servers.
// ---------------------------------------------------------------------------

// What a `dnoscope run` left behind.
struct RunOutput {
  int exit_code = -1;
  std::string output;  // stdout, then stderr
  std::string error;   // stderr alone (remote runs; local ones have it in `output`)
  std::string csv;
  Json summary;  // null when none was written
};

// The lines of `text`, each without its '\n'.
std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) lines.push_back(line);
  return lines;
}

// Frame N of "dnoscope run: error: ... frame N ...", or -1.
int64_t ErrorFrame(const std::string& error) {
  static const std::regex kFrame(R"(\bframe (\d+)\b)");
  for (const std::string& line : Lines(error)) {
    if (line.find("dnoscope run: error:") == std::string::npos) continue;
    std::smatch m;
    if (std::regex_search(line, m, kFrame)) return std::stoll(m[1]);
  }
  return -1;
}

// One endpoint of a remote stage in the run summary's "distributed" object.
struct EndpointReport {
  std::string endpoint;  // "10.213.0.12:8000"
  int64_t requests = 0;
  int64_t failures = 0;
};

struct StageReport {
  int64_t retries = 0;  // attempts after the first, over all requests
  std::vector<EndpointReport> endpoints;
};

// The `stage` ("reference") entry of summary["distributed"]["stages"]; a
// test failure when there is none.
StageReport DistributedStage(const Json& summary, const std::string& stage) {
  StageReport out;
  if (!summary.contains("distributed")) {
    ADD_FAILURE() << "no \"distributed\" object in the summary: " << summary.dump(2);
    return out;
  }
  for (const Json& s : summary["distributed"].value("stages", Json::array())) {
    if (s.value("stage", "") != stage) continue;
    out.retries = s.value("retries", int64_t{0});
    for (const Json& e : s.value("endpoints", Json::array())) {
      out.endpoints.push_back({e.value("endpoint", ""), e.value("requests", int64_t{0}),
                               e.value("failures", int64_t{0})});
    }
    return out;
  }
  ADD_FAILURE() << "no '" << stage << "' stage in " << summary["distributed"].dump(2);
  return out;
}

// The scene's frames that the tests run over (a few seconds against three
// replay servers with a 25 ms service time each).
constexpr int kSceneFrames = 300;
constexpr double kServiceTimeMs = 25;
// Reuses about a quarter of the labels, so rows wait for their anchors.
constexpr const char* kDiffThreshold = "20";

class DistributedRunTest : public MultiHostTest {
 protected:
  void SetUp() override {
    MultiHostTest::SetUp();
    if (IsSkipped()) return;
    CommandResult synth = RunCommand(
        absl::StrCat(ShellQuote(testing::DnoscopeBinary()), " --log-level warn synth --out ",
                     ShellQuote(dir_.File("scene")), " --frames ", kSceneFrames,
                     " --width 160 --height 120 --seed 11 --object-rate 0.05"));
    ASSERT_EQ(synth.exit_code, 0) << synth.output;
    WriteSceneModel(dir_.File("local"), 0);
  }

  // Model "scene" in `repository`: replays the scene's labels, each request
  // taking `service_time_ms`.
  void WriteSceneModel(const std::string& repository, double service_time_ms) {
    fs::create_directories(repository + "/scene/1");
    Json config = {{"backend", "replay"},
                   {"files", {{"labels", dir_.File("scene/labels.csv")}}},
                   {"replay", {{"service_time_ms", service_time_ms}}}};
    WriteFile(repository + "/scene/config.json", config.dump());
  }

  // Serves model "scene" (and the curl tests' "ref") from every server.
  void StartSceneServers(const MultiHost::Options& options, double service_time_ms) {
    WriteSceneModel(dir_.File("repo"), service_time_ms);
    StartTopology(options);
  }

  // `dnoscope run` over the scene; `name` names its files.
  std::string RunCommandLine(const std::string& name) const {
    return absl::StrCat(ShellQuote(testing::DnoscopeBinary()), " --log-level warn run --video ",
                        ShellQuote(dir_.File("scene/video.avi")), " --object car --diff-threshold ",
                        kDiffThreshold, " --progress off --out ",
                        ShellQuote(dir_.File(name + ".csv")), " --summary-json ",
                        ShellQuote(dir_.File(name + ".json")));
  }

  RunOutput Collect(const std::string& name, const CommandResult& r) const {
    RunOutput out;
    out.exit_code = r.exit_code;
    out.error = ReadFileOrEmpty(dir_.File(name + ".err"));
    out.output = r.output + out.error;
    out.csv = ReadFileOrEmpty(dir_.File(name + ".csv"));
    const std::string summary = ReadFileOrEmpty(dir_.File(name + ".json"));
    if (!summary.empty()) out.summary = Json::parse(summary, nullptr, /*allow_exceptions=*/false);
    return out;
  }

  // The same cascade with the replay model loaded in-process (no service
  // time): the rows a distributed run must reproduce.
  RunOutput RunLocal() const {
    const std::string name = "local";
    return Collect(name,
                   RunCommand(RunCommandLine(name) + " --reference scene --model-repository " +
                              ShellQuote(dir_.File("local"))));
  }

  // The run in the client namespace against every server; stderr also goes
  // to <name>.err.
  RunOutput RunRemote(const std::string& name, const std::string& extra_args = "") {
    const std::string command = RunCommandLine(name) + " --reference " + host_->ServerUrls() +
                                " --reference-model scene " + extra_args + " 2>" +
                                ShellQuote(dir_.File(name + ".err"));
    return Collect(name, host_->ExecClient(command));
  }

  // Successful inference requests server i has answered (its /metrics), or
  // -1 when it does not answer.
  int64_t ServedRequests(int server) {
    CurlResult r = Curl("--max-time 10", MultiHost::ServerUrl(server) + "/metrics");
    if (r.status != 200) return -1;
    int64_t total = 0;
    for (const std::string& line : Lines(r.body)) {
      if (line.rfind("nv_inference_request_success{", 0) != 0) continue;
      if (line.find("model=\"scene\"") == std::string::npos) continue;
      total += std::atoll(line.substr(line.rfind(' ') + 1).c_str());
    }
    return total;
  }

  // Polls until server i has answered `requests` requests: the run is under
  // way. False when `run` ends first or after a minute.
  bool WaitUntilServed(int server, int64_t requests, const std::future<RunOutput>& run) {
    for (int k = 0; k < 1200; ++k) {
      if (run.wait_for(std::chrono::milliseconds(50)) == std::future_status::ready) return false;
      if (ServedRequests(server) >= requests) return true;
    }
    return false;
  }

  // Expects rows identical to the local run's, printing the first mismatch.
  static void ExpectSameRows(const RunOutput& remote, const RunOutput& local) {
    ASSERT_FALSE(local.csv.empty());
    const std::vector<std::string> a = Lines(remote.csv), b = Lines(local.csv);
    for (size_t i = 0; i < std::min(a.size(), b.size()); ++i) {
      ASSERT_EQ(a[i], b[i]) << "first difference at CSV line " << i + 1;
    }
    EXPECT_EQ(a.size(), b.size());
    EXPECT_EQ(remote.csv, local.csv);
  }
};

TEST_F(DistributedRunTest, DistributedRunMatchesLocalRun) {
  ASSERT_NO_FATAL_FAILURE(StartSceneServers({.servers = 3, .delay_ms = kDelayMs}, 0));
  if (IsSkipped()) return;
  const RunOutput local = RunLocal();
  ASSERT_EQ(local.exit_code, 0) << local.output;
  const RunOutput remote = RunRemote("remote");
  ASSERT_EQ(remote.exit_code, 0) << remote.output;
  ExpectSameRows(remote, local);
  EXPECT_EQ(remote.summary.value("frames", -1), kSceneFrames);
  EXPECT_GT(remote.summary["status_counts"].value("diff_reused", 0), 0)
      << "no row waited for its anchor's label";
  const StageReport stage = DistributedStage(remote.summary, "reference");
  int endpoints_used = 0;
  for (const EndpointReport& e : stage.endpoints) endpoints_used += e.requests > 0;
  EXPECT_GT(endpoints_used, 1) << remote.summary["distributed"].dump(2);
}

TEST_F(DistributedRunTest, ServerKilledMidRunLosesNoFrame) {
  ASSERT_NO_FATAL_FAILURE(StartSceneServers({.servers = 3, .delay_ms = kDelayMs}, kServiceTimeMs));
  if (IsSkipped()) return;
  const RunOutput local = RunLocal();
  ASSERT_EQ(local.exit_code, 0) << local.output;
  std::future<RunOutput> run = std::async(std::launch::async, [&] { return RunRemote("remote"); });
  ASSERT_TRUE(WaitUntilServed(2, 5, run))
      << "server 2 got no requests before the run ended; make the run longer";
  CommandResult killed = host_->Kill(2, "KILL");  // requests in flight die with it
  ASSERT_EQ(killed.exit_code, 0) << killed.output;
  const RunOutput remote = run.get();
  ASSERT_EQ(remote.exit_code, 0) << remote.output;
  ExpectSameRows(remote, local);
  const StageReport stage = DistributedStage(remote.summary, "reference");
  const std::string killed_endpoint =
      absl::StrCat(MultiHost::ServerAddress(2), ":", MultiHost::kPort);
  const EndpointReport* report = nullptr;
  for (const EndpointReport& e : stage.endpoints) {
    if (e.endpoint.find(killed_endpoint) != std::string::npos) report = &e;
  }
  ASSERT_NE(report, nullptr) << "no endpoint " << killed_endpoint << " in "
                             << remote.summary["distributed"].dump(2);
  EXPECT_GT(report->requests, 0);
  EXPECT_GT(report->failures + stage.retries, 0) << remote.summary["distributed"].dump(2);
}

// TCP retransmits most losses; an attempt stalled behind a lost SYN (a 1 s
// retransmission timeout) times out and is retried elsewhere, and the rows
// must still hold each frame once.
TEST_F(DistributedRunTest, LossyLinkRunMatchesLocalRun) {
  ASSERT_NO_FATAL_FAILURE(
      StartSceneServers({.servers = 3, .delay_ms = kDelayMs, .loss_pct = 10}, 0));
  if (IsSkipped()) return;
  const RunOutput local = RunLocal();
  ASSERT_EQ(local.exit_code, 0) << local.output;
  const RunOutput remote = RunRemote("remote", "--attempt-timeout-ms 500");
  ASSERT_EQ(remote.exit_code, 0) << remote.output;
  ExpectSameRows(remote, local);
  EXPECT_EQ(remote.summary.value("frames", -1), kSceneFrames);
}

TEST_F(DistributedRunTest, AllServersDownFailsNamingTheFirstUnlabeledFrame) {
  ASSERT_NO_FATAL_FAILURE(StartSceneServers({.servers = 3, .delay_ms = kDelayMs}, kServiceTimeMs));
  if (IsSkipped()) return;
  const RunOutput local = RunLocal();
  ASSERT_EQ(local.exit_code, 0) << local.output;
  std::future<RunOutput> run = std::async(
      std::launch::async, [&] { return RunRemote("remote", "--unavailable-patience-s 1"); });
  ASSERT_TRUE(WaitUntilServed(1, 5, run))
      << "server 1 got no requests before the run ended; make the run longer";
  for (int i = 1; i <= 3; ++i) {
    CommandResult killed = host_->Kill(i, "KILL");
    ASSERT_EQ(killed.exit_code, 0) << killed.output;
  }
  const RunOutput remote = run.get();
  EXPECT_NE(remote.exit_code, 0) << remote.output;
  const int64_t frame = ErrorFrame(remote.error);
  ASSERT_GE(frame, 0) << "no 'frame N' in the error:\n" << remote.error;
  EXPECT_GT(frame, 0) << "servers were killed after answering requests";
  EXPECT_LT(frame, kSceneFrames);
  // The header, then exactly frames 0..N-1, as the local run labelled them.
  const std::vector<std::string> rows = Lines(remote.csv);
  const std::vector<std::string> expected = Lines(local.csv);
  ASSERT_EQ(rows.size(), static_cast<size_t>(frame + 1)) << remote.csv;
  for (size_t i = 0; i < rows.size(); ++i) {
    ASSERT_EQ(rows[i], expected[i]) << "CSV line " << i + 1;
  }
}

}  // namespace
}  // namespace dnoscope
