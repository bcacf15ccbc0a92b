#include "common/file.h"

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

}  // namespace dnoscope
