#include "common/progress.h"

#include <unistd.h>

#include <cstdlib>
#include <cstring>

#include "fmt/format.h"
#include "spdlog/spdlog.h"

namespace dnoscope {

ProgressReporter::ProgressReporter(Options options, Clock* clock)
    : options_(std::move(options)), clock_(clock), start_(clock->Now()), last_draw_(start_) {}

ProgressReporter::~ProgressReporter() {
  if (options_.terminal && drawn_) std::fputc('\n', options_.out);
}

bool ProgressReporter::StderrIsTerminal() {
  const char* term = std::getenv("TERM");
  return isatty(STDERR_FILENO) && !(term != nullptr && std::strcmp(term, "dumb") == 0);
}

void ProgressReporter::Update(int64_t done, const std::string& extra, bool force) {
  const Clock::TimePoint now = clock_->Now();
  const auto interval = options_.terminal ? Clock::Duration(options_.bar_interval)
                                          : Clock::Duration(options_.log_interval);
  if (!force && now - last_draw_ < interval) return;
  last_draw_ = now;
  const double elapsed = SecondsBetween(start_, now);
  const double rate = elapsed > 0 ? done / elapsed : 0.0;
  std::string head;
  if (options_.total && *options_.total > 0) {
    const double frac = std::min(1.0, static_cast<double>(done) / *options_.total);
    if (options_.terminal) {
      constexpr int kWidth = 24;
      const int filled = static_cast<int>(frac * kWidth);
      head = fmt::format("[{}{}] {:5.1f}% {}/{} {}", std::string(filled, '#'),
                         std::string(kWidth - filled, '.'), frac * 100, done, *options_.total,
                         options_.unit);
    } else {
      head = fmt::format("{:5.1f}% {}/{} {}", frac * 100, done, *options_.total, options_.unit);
    }
  } else {
    head = fmt::format("{} {}", done, options_.unit);
  }
  std::string line = fmt::format("{} | {:.1f} {}/s | {:.1f}s", head, rate, options_.unit, elapsed);
  if (!extra.empty()) line += " | " + extra;
  if (options_.terminal) {
    std::fprintf(options_.out, "\r\033[K%s", line.c_str());
    std::fflush(options_.out);
    drawn_ = true;
  } else {
    spdlog::info("progress: {}", line);
  }
}

}  // namespace dnoscope
