#include "live/backoff.h"

#include <algorithm>

namespace dnoscope::live {

Clock::Duration Backoff::Next() {
  const Clock::Duration delay = std::min(next_, options_.max);
  const double grown = static_cast<double>(delay.count()) * std::max(1.0, options_.factor);
  next_ = grown >= static_cast<double>(options_.max.count())
              ? options_.max
              : Clock::Duration(static_cast<Clock::Duration::rep>(grown));
  return delay;
}

}  // namespace dnoscope::live
