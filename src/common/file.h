// Reading and writing a whole file: the one pair of helpers the libraries
// use for repositories, CSV, JSON, plots and reports.
//
// Thread-safety: a pure function; concurrent calls must name different files.
#pragma once

#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace dnoscope {

// Writes `contents` to `path`, replacing the file, after creating missing
// parent directories. Internal naming the path (and the reason) on failure.
absl::Status WriteFile(const std::string& path, std::string_view contents);

// WriteFile to a temporary name next to `path`, then rename() onto it, so
// readers see the old or the new contents, never a partial file. Errors as
// WriteFile (the temporary file is removed).
absl::Status WriteFileAtomically(const std::string& path, std::string_view contents);

// The bytes of the file at `path`. An errno-derived status naming the path
// on failure: NotFound when missing, PermissionDenied, ...
absl::StatusOr<std::string> ReadFile(const std::string& path);

}  // namespace dnoscope
