// Internal: the SumSquaredDiff kernels, exposed so that tests can check every
// variant the machine can run against the scalar reference. Use
// detect::SumSquaredDiff, which picks the fastest, everywhere else.
// Thread-safe (pure functions).
#pragma once

#include <cstddef>
#include <cstdint>

namespace dnoscope::detect::internal {

// Plain loop (the definition of the result).
uint64_t SumSquaredDiffScalar(const uint8_t* a, const uint8_t* b, size_t n);
// SSE2 (x86-64 baseline); the scalar loop on other architectures.
uint64_t SumSquaredDiffSse2(const uint8_t* a, const uint8_t* b, size_t n);
// AVX2; only call when CpuHasAvx2().
uint64_t SumSquaredDiffAvx2(const uint8_t* a, const uint8_t* b, size_t n);
bool CpuHasAvx2();

}  // namespace dnoscope::detect::internal
