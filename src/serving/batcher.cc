#include "serving/batcher.h"

#include <algorithm>

#include "absl/status/status.h"
#include "fmt/format.h"

namespace dnoscope::serving {

absl::StatusOr<BatchPolicy> BatchPolicy::Create(const BatchPolicyOptions& options) {
  if (options.max_batch_size < 0) {
    return absl::InvalidArgumentError(
        fmt::format("max_batch_size must be >= 0, got {}", options.max_batch_size));
  }
  if (options.max_queue_delay.count() < 0) {
    return absl::InvalidArgumentError("max_queue_delay must be >= 0");
  }
  for (int size : options.preferred_batch_sizes) {
    if (size < 1 || size > options.max_batch_size) {
      return absl::InvalidArgumentError(
          fmt::format("preferred batch size {} is outside [1, max_batch_size={}]", size,
                      options.max_batch_size));
    }
  }
  BatchPolicyOptions sorted = options;
  std::sort(sorted.preferred_batch_sizes.begin(), sorted.preferred_batch_sizes.end());
  return BatchPolicy(std::move(sorted));
}

BatchDecision BatchPolicy::Decide(const QueueSnapshot& queue, Clock::TimePoint now) const {
  if (options_.max_batch_size == 0 || queue.batch_sizes.empty()) return {.run_count = 1};

  // The longest prefix that fits, and the largest prefix hitting a preferred size.
  size_t fit_count = 0;
  int fit_items = 0;
  size_t preferred_count = 0;
  for (int size : queue.batch_sizes) {
    if (fit_items + size > options_.max_batch_size) break;
    fit_items += size;
    ++fit_count;
    if (std::binary_search(options_.preferred_batch_sizes.begin(),
                           options_.preferred_batch_sizes.end(), fit_items)) {
      preferred_count = fit_count;
    }
  }
  // The front request always fits once Submit has checked it; be safe anyway.
  if (fit_count == 0) return {.run_count = 1};

  const bool full = fit_items == options_.max_batch_size || fit_count < queue.batch_sizes.size() ||
                    queue.incompatible_follows;
  if (full) return {.run_count = fit_count};
  if (preferred_count > 0) return {.run_count = preferred_count};
  const Clock::TimePoint expiry = queue.oldest_arrival + options_.max_queue_delay;
  if (queue.flush || now >= expiry) return {.run_count = fit_count};
  return {.run_count = 0, .wake_at = expiry};
}

}  // namespace dnoscope::serving
