// Writing a whole file: the one helper the experiment harness and the
// emulation library use for repositories, CSV, JSON, plots and reports.
//
// Thread-safety: a pure function; concurrent calls must name different files.
#pragma once

#include <string>
#include <string_view>

#include "absl/status/status.h"

namespace dnoscope {

// Writes `contents` to `path`, replacing the file, after creating missing
// parent directories. Internal naming the path (and the reason) on failure.
absl::Status WriteFile(const std::string& path, std::string_view contents);

}  // namespace dnoscope
