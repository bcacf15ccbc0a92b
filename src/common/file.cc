#include "common/file.h"

#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "fmt/format.h"

namespace dnoscope {

absl::Status WriteFile(const std::string& path, std::string_view contents) {
  const std::filesystem::path parent = std::filesystem::path(path).parent_path();
  std::error_code ec;
  if (!parent.empty()) std::filesystem::create_directories(parent, ec);
  if (ec) {
    return absl::InternalError(
        fmt::format("cannot create '{}': {}", parent.string(), ec.message()));
  }
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(contents.data(), static_cast<std::streamsize>(contents.size()));
  out.close();
  if (!out) return absl::InternalError(fmt::format("cannot write '{}'", path));
  return absl::OkStatus();
}

absl::Status WriteFileAtomically(const std::string& path, std::string_view contents) {
  const std::string temp = fmt::format("{}.tmp-{}", path, getpid());
  if (absl::Status written = WriteFile(temp, contents); !written.ok()) return written;
  std::error_code ec;
  std::filesystem::rename(temp, path, ec);
  if (ec) {
    std::filesystem::remove(temp, ec);
    return absl::InternalError(fmt::format("cannot create '{}': {}", path, ec.message()));
  }
  return absl::OkStatus();
}

namespace {

// errno-derived status; EIO when errno was not set (ErrnoToStatus(0) is OK).
absl::Status IoError(int error, const std::string& message) {
  return absl::ErrnoToStatus(error != 0 ? error : EIO, message);
}

}  // namespace

absl::StatusOr<std::string> ReadFile(const std::string& path) {
  FILE* file = std::fopen(path.c_str(), "rb");
  if (file == nullptr) {
    const int error = errno;
    return IoError(error, fmt::format("cannot open '{}'", path));
  }
  std::string text;
  char buffer[1 << 16];
  size_t n;
  while ((n = std::fread(buffer, 1, sizeof(buffer), file)) > 0) text.append(buffer, n);
  const bool failed = std::ferror(file) != 0;
  const int error = errno;
  std::fclose(file);
  if (failed) return IoError(error, fmt::format("cannot read '{}'", path));
  return text;
}

}  // namespace dnoscope
