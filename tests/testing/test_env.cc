#include "testing/test_env.h"

#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "gtest/gtest.h"

namespace dnoscope::testing {
namespace fs = std::filesystem;

std::string SourceDir() {
  const char* dir = std::getenv("DNS_SOURCE_DIR");
  return dir != nullptr ? dir : DNS_DEFAULT_SOURCE_DIR;
}

std::optional<std::string> SharedDataDir() {
  fs::path p = fs::path(SourceDir()) / ".." / "shared" / "data";
  if (fs::is_directory(p)) return fs::canonical(p).string();
  return std::nullopt;
}

std::optional<std::string> SharedDataFile(const std::string& relative) {
  auto dir = SharedDataDir();
  if (!dir) return std::nullopt;
  fs::path p = fs::path(*dir) / relative;
  if (!fs::exists(p)) return std::nullopt;
  return p.string();
}

std::optional<std::string> VtestAvi() {
  const std::string p = "/usr/share/doc/opencv-doc/examples/data/vtest.avi";
  if (fs::exists(p)) return p;
  return std::nullopt;
}

std::string DnoscopeBinary() {
  const char* bin = std::getenv("DNS_BINARY");
  return bin != nullptr ? bin : DNS_DEFAULT_BINARY;
}

ScratchDir::ScratchDir() {
  std::string tmpl = (fs::temp_directory_path() / "dnoscope_test_XXXXXX").string();
  if (mkdtemp(tmpl.data()) == nullptr) {
    ADD_FAILURE() << "mkdtemp failed";
  }
  path_ = tmpl;
}

ScratchDir::~ScratchDir() {
  std::error_code ec;
  fs::remove_all(path_, ec);
}

CommandResult RunDnoscope(const std::string& args) {
  return RunCommand(DnoscopeBinary() + " --log-level warn " + args);
}

CommandResult RunCommand(const std::string& command) {
  CommandResult result;
  const std::string full = command + " 2>&1";
  FILE* pipe = popen(full.c_str(), "r");
  if (pipe == nullptr) return result;
  std::array<char, 4096> buf;
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), pipe)) > 0) result.output.append(buf.data(), n);
  const int status = pclose(pipe);
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return result;
}

std::string ReadFileOrEmpty(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void WriteFile(const std::string& path, const std::string& content) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << content;
}

}  // namespace dnoscope::testing
