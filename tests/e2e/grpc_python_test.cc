// End-to-end: the real `dnoscope serve --grpc-port 0` on 127.0.0.1 checked by
// an independent client, grpc_python_check.py, which generates Python stubs
// from the project's inference.proto with grpc_tools and calls every RPC
// (raw binary tensors, typed contents, gzip, errors, an unknown model,
// statistics, repository). Skips when no python3 has the grpc modules
// (Debian: python3-grpcio python3-grpc-tools).
#include <signal.h>

#include <filesystem>

#include "gtest/gtest.h"
#include "testing/server_process.h"
#include "testing/test_env.h"

namespace dnoscope {
namespace {

using ::dnoscope::testing::ReadFileOrEmpty;
using ::dnoscope::testing::RunCommand;
using ::dnoscope::testing::ScratchDir;
using ::dnoscope::testing::ServerProcess;
using ::dnoscope::testing::WriteFile;
namespace fs = std::filesystem;

// The first python3 that imports grpc and grpc_tools ("" when none): a
// pyenv or venv python first in PATH often lacks Debian's modules.
std::string PythonWithGrpc() {
  for (const char* python : {"python3", "/usr/bin/python3"}) {
    const std::string probe =
        std::string(python) + " -c 'import grpc, grpc_tools.protoc' >/dev/null 2>&1";
    if (RunCommand(probe).exit_code == 0) return python;
  }
  return "";
}

TEST(GrpcPythonTest, StockPythonClientCallsEveryRpc) {
  const std::string python = PythonWithGrpc();
  if (python.empty()) {
    GTEST_SKIP() << "no python3 with the grpc and grpc_tools modules (install Debian's "
                    "python3-grpcio python3-grpc-tools)";
  }
  ScratchDir dir;
  for (const auto& [name, config] :
       {std::pair<std::string, std::string>{"echo",
                                            R"({"backend": "identity", "max_batch_size": 8})"},
        {"blob",
         R"({"backend": "identity", "max_batch_size": 4, "identity": {"datatype": "BYTES"}})"}}) {
    fs::create_directories(dir.File("repo/" + name + "/1"));
    WriteFile(dir.File("repo/" + name + "/config.json"), config);
  }
  const std::string grpc_port_file = dir.File("grpc.port");
  ServerProcess server;
  // The gRPC port file is written before the HTTP one Start waits for.
  ASSERT_TRUE(server.Start(dir.File("repo"), {"--grpc-port", "0", "--grpc-port-file", grpc_port_file},
                           dir.File("serve.log")))
      << server.error();
  const int grpc_port = std::atoi(ReadFileOrEmpty(grpc_port_file).c_str());
  ASSERT_GT(grpc_port, 0) << ReadFileOrEmpty(dir.File("serve.log"));
  const std::string source = testing::SourceDir();
  const auto result = RunCommand(python + " " + source + "/tests/e2e/grpc_python_check.py --proto " +
                                 source + "/src/protocol/grpc/inference.proto --port " +
                                 std::to_string(grpc_port));
  EXPECT_EQ(result.exit_code, 0) << result.output << "\nserver log:\n"
                                 << ReadFileOrEmpty(dir.File("serve.log"));
  EXPECT_EQ(server.Stop(SIGTERM), 0);
}

}  // namespace
}  // namespace dnoscope
