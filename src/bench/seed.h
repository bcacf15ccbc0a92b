// The seed paper's figures ("Video Inference Parallelization with
// TensorFlow Serving", Distributed NoScope) that the scenarios measure
// against: per-request costs (its section 4.4.1), Figure 4 and Table 1.
//
// Thread-safety: constants and pure functions.
#pragma once

#include <array>
#include <cstdint>
#include <vector>

namespace dnoscope::bench {

// Single-request latency per stage (section 4.4.1), seconds.
inline constexpr double kSeedDifferenceSeconds = 0.013;
inline constexpr double kSeedSpecializedSeconds = 0.026;
inline constexpr double kSeedReferenceSeconds = 4.26;
inline constexpr double kSeedNetworkSeconds = 0.2;
// The reference service time per request implied by Table 1's N_S = 1
// column (569 requests in 1692 s).
inline constexpr double kSeedServiceSeconds = 2.97;

// Figure 4: 500 frames on one node vs distributed, seconds.
inline constexpr int64_t kSeedEdgeFrames = 500;
inline constexpr double kSeedOneNodeSeconds = 784;
inline constexpr double kSeedDistributedSeconds = 142;

// One row of Table 1: N_F, N_R and the total latency in seconds for
// N_S = 1, 2, 4, 8.
struct SeedTable1Row {
  int64_t frames = 0;
  int64_t reference_frames = 0;
  std::array<double, 4> seconds{};
};

// The five rows, N_F ascending.
const std::vector<SeedTable1Row>& SeedTable1();
// The row of N_F = `frames`; nullptr when Table 1 has none.
const SeedTable1Row* FindSeedTable1Row(int64_t frames);
// The latency for (N_F, N_S) in seconds; < 0 when Table 1 has none.
double SeedTable1Seconds(int64_t frames, int servers);

}  // namespace dnoscope::bench
