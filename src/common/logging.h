// Logging setup for the dnoscope binary and tests. Libraries log through
// spdlog's default logger; only apps/ call SetupLogging.
#pragma once

#include <string_view>

namespace dnoscope {

// Logs to stderr at `level` ("trace", "debug", "info", "warn", "error", "off").
// Unknown levels fall back to "info".
void SetupLogging(std::string_view level);

}  // namespace dnoscope
