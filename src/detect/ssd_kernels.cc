// Sum of squared differences of uint8 arrays, exact in integers.
//
// Both SIMD kernels zero-extend bytes to 16 bits, subtract, and square-and-add
// pairs with madd_epi16 into 32-bit lanes. A lane gains at most
// 2 * 2 * 255^2 = 260,100 per step, so the 32-bit accumulators are widened to
// 64 bits every kStepsPerChunk steps (4096 * 260,100 < 2^31), far before
// they could overflow.
#include "detect/ssd_kernels.h"

#include <algorithm>

#include "detect/difference_detector.h"

#if defined(__x86_64__)
#include <immintrin.h>
#define DNS_DETECT_X86 1
#endif

namespace dnoscope::detect {
namespace internal {
namespace {
constexpr size_t kStepsPerChunk = 4096;

// 32 zero bytes then 32 0xFF bytes: loading at offset r keeps the last r of 32 bytes.
constexpr uint8_t kTailMask[64] = {
    0,    0,    0,    0,    0,    0,    0,    0,    0,    0,    0,    0,    0,    0,    0,    0,
    0,    0,    0,    0,    0,    0,    0,    0,    0,    0,    0,    0,    0,    0,    0,    0,
    0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
    0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF};
}  // namespace

uint64_t SumSquaredDiffScalar(const uint8_t* a, const uint8_t* b, size_t n) {
  uint64_t sum = 0;
  for (size_t i = 0; i < n; ++i) {
    const int d = int{a[i]} - int{b[i]};
    sum += static_cast<uint32_t>(d * d);
  }
  return sum;
}

#if DNS_DETECT_X86

namespace {

// acc += sum of squared differences of 16 byte pairs (4 lanes, 2 madds).
inline __m128i SseStep(__m128i acc, __m128i va, __m128i vb) {
  const __m128i zero = _mm_setzero_si128();
  const __m128i lo = _mm_sub_epi16(_mm_unpacklo_epi8(va, zero), _mm_unpacklo_epi8(vb, zero));
  const __m128i hi = _mm_sub_epi16(_mm_unpackhi_epi8(va, zero), _mm_unpackhi_epi8(vb, zero));
  acc = _mm_add_epi32(acc, _mm_madd_epi16(lo, lo));
  return _mm_add_epi32(acc, _mm_madd_epi16(hi, hi));
}

inline uint64_t SseLaneSum(__m128i v) {
  alignas(16) uint32_t lanes[4];
  _mm_store_si128(reinterpret_cast<__m128i*>(lanes), v);
  return uint64_t{lanes[0]} + lanes[1] + lanes[2] + lanes[3];
}

__attribute__((target("avx2"))) inline __m256i AvxStep(__m256i acc, __m256i va, __m256i vb) {
  const __m256i zero = _mm256_setzero_si256();
  // Unpacking interleaves within 128-bit halves; the order is irrelevant to a sum.
  const __m256i lo =
      _mm256_sub_epi16(_mm256_unpacklo_epi8(va, zero), _mm256_unpacklo_epi8(vb, zero));
  const __m256i hi =
      _mm256_sub_epi16(_mm256_unpackhi_epi8(va, zero), _mm256_unpackhi_epi8(vb, zero));
  acc = _mm256_add_epi32(acc, _mm256_madd_epi16(lo, lo));
  return _mm256_add_epi32(acc, _mm256_madd_epi16(hi, hi));
}

// Sum of the eight unsigned 32-bit lanes, in 64 bits.
__attribute__((target("avx2"))) inline uint64_t AvxLaneSum(__m256i v) {
  const __m256i wide = _mm256_add_epi64(_mm256_cvtepu32_epi64(_mm256_castsi256_si128(v)),
                                        _mm256_cvtepu32_epi64(_mm256_extracti128_si256(v, 1)));
  const __m128i pair =
      _mm_add_epi64(_mm256_castsi256_si128(wide), _mm256_extracti128_si256(wide, 1));
  return static_cast<uint64_t>(_mm_cvtsi128_si64(pair)) +
         static_cast<uint64_t>(_mm_extract_epi64(pair, 1));
}

}  // namespace

uint64_t SumSquaredDiffSse2(const uint8_t* a, const uint8_t* b, size_t n) {
  uint64_t sum = 0;
  size_t i = 0;
  while (n - i >= 32) {
    const size_t steps = std::min((n - i) / 32, kStepsPerChunk);
    __m128i acc0 = _mm_setzero_si128();
    __m128i acc1 = _mm_setzero_si128();
    for (size_t s = 0; s < steps; ++s, i += 32) {
      const auto* pa = reinterpret_cast<const __m128i*>(a + i);
      const auto* pb = reinterpret_cast<const __m128i*>(b + i);
      acc0 = SseStep(acc0, _mm_loadu_si128(pa), _mm_loadu_si128(pb));
      acc1 = SseStep(acc1, _mm_loadu_si128(pa + 1), _mm_loadu_si128(pb + 1));
    }
    sum += SseLaneSum(acc0) + SseLaneSum(acc1);
  }
  return sum + SumSquaredDiffScalar(a + i, b + i, n - i);
}

__attribute__((target("avx2"))) uint64_t SumSquaredDiffAvx2(const uint8_t* a, const uint8_t* b,
                                                            size_t n) {
  uint64_t sum = 0;
  size_t i = 0;
  while (n - i >= 64) {
    const size_t steps = std::min((n - i) / 64, kStepsPerChunk);
    __m256i acc0 = _mm256_setzero_si256();
    __m256i acc1 = _mm256_setzero_si256();
    for (size_t s = 0; s < steps; ++s, i += 64) {
      const auto* pa = reinterpret_cast<const __m256i*>(a + i);
      const auto* pb = reinterpret_cast<const __m256i*>(b + i);
      acc0 = AvxStep(acc0, _mm256_loadu_si256(pa), _mm256_loadu_si256(pb));
      acc1 = AvxStep(acc1, _mm256_loadu_si256(pa + 1), _mm256_loadu_si256(pb + 1));
    }
    sum += AvxLaneSum(_mm256_add_epi32(acc0, acc1));  // < 2^32 per lane: cvtepu32 is exact
  }
  __m256i acc = _mm256_setzero_si256();
  if (n - i >= 32) {
    acc = AvxStep(acc, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(a + i)),
                  _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b + i)));
    i += 32;
  }
  if (i < n && n >= 32) {
    // Tail: re-read the last 32 bytes and zero those already counted, rather
    // than a scalar loop (short blocked-MSE row segments end in one).
    const __m256i keep = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(kTailMask + (n - i)));
    const auto* pa = reinterpret_cast<const __m256i*>(a + n - 32);
    const auto* pb = reinterpret_cast<const __m256i*>(b + n - 32);
    acc = AvxStep(acc, _mm256_and_si256(_mm256_loadu_si256(pa), keep),
                  _mm256_and_si256(_mm256_loadu_si256(pb), keep));
    i = n;
  }
  return sum + AvxLaneSum(acc) + SumSquaredDiffScalar(a + i, b + i, n - i);
}

bool CpuHasAvx2() {
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx2");
}

#else  // !DNS_DETECT_X86

uint64_t SumSquaredDiffSse2(const uint8_t* a, const uint8_t* b, size_t n) {
  return SumSquaredDiffScalar(a, b, n);
}
uint64_t SumSquaredDiffAvx2(const uint8_t* a, const uint8_t* b, size_t n) {
  return SumSquaredDiffScalar(a, b, n);
}
bool CpuHasAvx2() { return false; }

#endif  // DNS_DETECT_X86

}  // namespace internal

uint64_t SumSquaredDiff(const uint8_t* a, const uint8_t* b, size_t n) {
  using Kernel = uint64_t (*)(const uint8_t*, const uint8_t*, size_t);
  static const Kernel kernel =
      internal::CpuHasAvx2() ? internal::SumSquaredDiffAvx2 : internal::SumSquaredDiffSse2;
  return kernel(a, b, n);
}

}  // namespace dnoscope::detect
