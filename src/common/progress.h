// Progress display for long work: a redrawn one-line bar on a terminal, or a
// plain log line every few seconds otherwise (CI logs, pipes).
// Thread-safety: not thread-safe; call from one thread.
#pragma once

#include <cstdint>
#include <cstdio>
#include <optional>
#include <string>

#include "common/clock.h"

namespace dnoscope {

class ProgressReporter {
 public:
  struct Options {
    // What is being counted, e.g. "frames".
    std::string unit = "frames";
    // Total items when known; the bar then shows a percentage.
    std::optional<int64_t> total;
    // Redraw a bar with '\r' (terminal) or write log lines.
    bool terminal = false;
    // Minimum time between two updates of the display.
    std::chrono::milliseconds bar_interval{200};
    std::chrono::milliseconds log_interval{5000};
    // Where the bar goes; not owned.
    FILE* out = stderr;
  };

  // `clock` is not owned and must outlive this object.
  ProgressReporter(Options options, Clock* clock);
  // Finishes the bar line on a terminal.
  ~ProgressReporter();

  // Reports `done` items so far and an extra free-form text (e.g. stage shares).
  // Draws at most once per interval unless `force`.
  void Update(int64_t done, const std::string& extra, bool force = false);

  // True when stderr is a terminal (and TERM is not "dumb").
  static bool StderrIsTerminal();

 private:
  Options options_;
  Clock* clock_;
  Clock::TimePoint start_;
  Clock::TimePoint last_draw_;
  bool drawn_ = false;
};

}  // namespace dnoscope
