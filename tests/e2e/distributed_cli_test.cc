// `dnoscope run` against `dnoscope serve` processes on 127.0.0.1 (port 0):
// the distributed run's CSV equals the local run's, the summary names every
// endpoint, and bad remote setups fail with messages that say what to do.
// Runs everywhere (no namespaces needed); multihost_test covers emulated
// hosts and links.
#include <filesystem>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "testing/server_process.h"
#include "testing/test_env.h"

namespace dnoscope {
namespace {

using ::dnoscope::testing::CommandResult;
using ::dnoscope::testing::DnoscopeBinary;
using ::dnoscope::testing::ReadFileOrEmpty;
using ::dnoscope::testing::RunCommand;
using ::dnoscope::testing::ScratchDir;
using ::dnoscope::testing::ServerProcess;
using ::dnoscope::testing::WriteFile;
using ::testing::HasSubstr;
namespace fs = std::filesystem;

CommandResult Dns(const std::string& args) {
  return RunCommand(DnoscopeBinary() + " --log-level warn " + args);
}

class DistributedCliTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new ScratchDir();
    CommandResult r = Dns("synth --out " + dir_->File("scene") +
                          " --frames 200 --width 320 --height 240 --seed 3 --object-rate 0.05");
    ASSERT_EQ(r.exit_code, 0) << r.output;
    const std::string repo = dir_->File("repo");
    fs::create_directories(repo + "/ref/1");
    fs::copy_file(dir_->File("scene/labels.csv"), repo + "/ref/1/labels.csv");
    WriteFile(repo + "/ref/config.json",
              R"({"backend": "replay", "files": {"labels": "labels.csv"}})");
  }
  static void TearDownTestSuite() { delete dir_; }

  static std::string Repo() { return dir_->File("repo"); }
  static std::string Common() {
    return "run --video " + dir_->File("scene/video.avi") +
           " --object car --diff-threshold 1 --progress off";
  }

  void StartServers(int n) {
    for (int i = 0; i < n; ++i) {
      servers_.push_back(std::make_unique<ServerProcess>());
      // Each server also speaks KServe v2 gRPC; its port file is written
      // before the HTTP one that Start waits for.
      const std::string grpc_port_file = scratch_.File("server" + std::to_string(i) + ".grpc");
      ASSERT_TRUE(servers_.back()->Start(Repo(),
                                         {"--grpc-port", "0", "--grpc-port-file", grpc_port_file},
                                         scratch_.File("server" + std::to_string(i))))
          << servers_.back()->error();
      if (!grpc_urls_.empty()) grpc_urls_.push_back(',');
      grpc_urls_.append("grpc://127.0.0.1:");
      grpc_urls_.append(std::to_string(std::atoi(ReadFileOrEmpty(grpc_port_file).c_str())));
    }
  }
  std::string Urls() const {
    std::string urls;
    for (const auto& s : servers_) urls += (urls.empty() ? "" : ",") + s->url();
    return urls;
  }

  static ScratchDir* dir_;
  ScratchDir scratch_;
  std::vector<std::unique_ptr<ServerProcess>> servers_;
  // grpc://host:port of every server's gRPC front end.
  std::string grpc_urls_;
};
ScratchDir* DistributedCliTest::dir_ = nullptr;

TEST_F(DistributedCliTest, RemoteReferenceGivesTheLocalCsvOverEveryProtocol) {
  CommandResult local = Dns(Common() + " --reference ref --model-repository " + Repo() +
                            " --out " + scratch_.File("local.csv"));
  ASSERT_EQ(local.exit_code, 0) << local.output;
  const std::string want = ReadFileOrEmpty(scratch_.File("local.csv"));
  ASSERT_THAT(want, HasSubstr(",reference,"));
  StartServers(2);
  WriteFile(scratch_.File("names.txt"), "car\n");
  for (const std::string protocol : {"kserve", "kserve-json", "tfserving", "kserve-grpc"}) {
    SCOPED_TRACE(protocol);
    const std::string out = scratch_.File(protocol + ".csv");
    const std::string json = scratch_.File(protocol + ".json");
    const std::string urls = protocol == "kserve-grpc" ? grpc_urls_ : Urls();
    CommandResult r = Dns(Common() + " --reference " + urls + " --reference-model ref" +
                          " --protocol " + protocol +
                          // TF Serving JSON spells raw pixels as numbers: send PNG (b64).
                          (protocol == "tfserving" ? " --reference-payload png" : "") +
                          " --reference-names " +
                          scratch_.File("names.txt") + " --out " + out + " --summary-json " +
                          json);
    ASSERT_EQ(r.exit_code, 0) << r.output;
    EXPECT_EQ(ReadFileOrEmpty(out), want);
    EXPECT_THAT(r.output, HasSubstr("reference"));
    nlohmann::json summary = nlohmann::json::parse(ReadFileOrEmpty(json));
    const nlohmann::json& ref = summary["distributed"]["stages"][0];
    EXPECT_EQ(ref["stage"], "reference");
    ASSERT_EQ(ref["endpoints"].size(), 2u);
    EXPECT_EQ(ref["endpoints"][0]["requests"].get<int64_t>() +
                  ref["endpoints"][1]["requests"].get<int64_t>(),
              ref["requests"].get<int64_t>());
    EXPECT_GT(ref["bytes_sent"].get<int64_t>(), 0);
    EXPECT_GT(summary["distributed"]["end_to_end_latency"]["count"].get<int64_t>(), 0);
  }
}

TEST_F(DistributedCliTest, ModelNameDefaultsToTheConfigsReferenceName) {
  StartServers(1);
  // --reference is the URL; the served name comes from --config's "reference.model".
  WriteFile(scratch_.File("cascade.json"), R"({"reference": {"model": "ref"}})");
  CommandResult r = Dns(Common() + " --config " + scratch_.File("cascade.json") +
                        " --reference " + Urls() + " --out " + scratch_.File("o.csv"));
  EXPECT_EQ(r.exit_code, 0) << r.output;
}

TEST_F(DistributedCliTest, BadRemoteSetupsFailWithAClearMessage) {
  StartServers(1);
  CommandResult unknown = Dns(Common() + " --reference " + Urls() + " --reference-model nope");
  EXPECT_NE(unknown.exit_code, 0);
  EXPECT_THAT(unknown.output, HasSubstr("nope"));

  WriteFile(scratch_.File("file.json"), R"({"reference": {"model": "yolo.onnx"}})");
  CommandResult file_name =
      Dns(Common() + " --config " + scratch_.File("file.json") + " --reference " + Urls());
  EXPECT_NE(file_name.exit_code, 0);
  EXPECT_THAT(file_name.output, HasSubstr("--reference-model"));

  CommandResult bad_url = Dns(Common() + " --reference http://127.0.0.1:notaport " +
                              "--reference-model ref");
  EXPECT_NE(bad_url.exit_code, 0);
  EXPECT_THAT(bad_url.output, HasSubstr("notaport"));

  CommandResult no_names = Dns(Common() + " --reference " + Urls() +
                               " --reference-model ref --protocol tfserving");
  EXPECT_NE(no_names.exit_code, 0);
  EXPECT_THAT(no_names.output, HasSubstr("--reference-names"));
}

TEST_F(DistributedCliTest, HelpDocumentsTheDistributedOptions) {
  CommandResult r = Dns("run --help");
  ASSERT_EQ(r.exit_code, 0);
  for (const char* flag : {"--protocol", "--balance", "--max-batch", "--max-delay-ms",
                           "--reference-payload", "--reference-resize", "--window",
                           "--unavailable-patience-s", "--reference-model"}) {
    EXPECT_THAT(r.output, HasSubstr(flag));
  }
}

}  // namespace
}  // namespace dnoscope
