// Test environment helpers: where the project, the shared data and the
// dnoscope binary are, scratch directories, and running a command.
#pragma once

#include <optional>
#include <string>

namespace dnoscope::testing {

// Project root (from DNS_SOURCE_DIR, set by CTest; else the configured source dir).
std::string SourceDir();

// ../shared/data relative to the project root, when it exists.
std::optional<std::string> SharedDataDir();

// Path of a file under ../shared/data, or nullopt when the data is absent.
std::optional<std::string> SharedDataFile(const std::string& relative);

// Debian opencv-doc's vtest.avi when installed.
std::optional<std::string> VtestAvi();

// The dnoscope binary (from DNS_BINARY, set by CTest; else the configured build's).
std::string DnoscopeBinary();

// A fresh empty directory under the system temp dir, removed by ~ScratchDir.
class ScratchDir {
 public:
  ScratchDir();
  ~ScratchDir();
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  const std::string& path() const { return path_; }
  std::string File(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

struct CommandResult {
  int exit_code = -1;
  std::string output;  // stdout and stderr interleaved
};

// Runs `command` through /bin/sh, capturing stdout+stderr.
CommandResult RunCommand(const std::string& command);

// Runs the dnoscope binary with `args` at log level warn, capturing its output.
CommandResult RunDnoscope(const std::string& args);

// Reads a whole file ("" when missing).
std::string ReadFileOrEmpty(const std::string& path);

// Writes `content` to `path` (overwrites).
void WriteFile(const std::string& path, const std::string& content);

}  // namespace dnoscope::testing

// Skips the current test with a message naming the missing data.
#define DNS_REQUIRE_SHARED_DATA(var, relative)                                             \
  auto var##_opt = ::dnoscope::testing::SharedDataFile(relative);                          \
  if (!var##_opt) GTEST_SKIP() << "../shared/data/" << relative << " not found; skipping"; \
  const std::string var = *var##_opt
