// Depthwise convolution on AVX2: dwconv3x3_u8s8_avx2, dwconv5x5_u8s8_avx2,
// dwconv_u8s8_avx2 (dwconv_direct.h).
//
// 32 channels per step. Inputs are widened to int16 and two taps (input
// rows, on the direct path) are interleaved per channel so that vpmaddwd
// forms a * w + a' * w' exactly in int32 (vpmaddubsw could saturate,
// NUMERICS.md). The widening is one more round of unpacks, with zero, after
// the byte interleave; the direct path does it once per input column.
#include <immintrin.h>

#include "kernels/x86/dwconv_direct.h"

namespace qrt::kernels::x86 {
namespace {

struct Maddwd {
  static constexpr int kTg = 2;
  static void group(const __m256i* x, __m256i* g) {
    const __m256i z = _mm256_setzero_si256();
    const __m256i lo = _mm256_unpacklo_epi8(x[0], x[1]);
    const __m256i hi = _mm256_unpackhi_epi8(x[0], x[1]);
    g[0] = _mm256_unpacklo_epi8(lo, z);
    g[1] = _mm256_unpackhi_epi8(lo, z);
    g[2] = _mm256_unpacklo_epi8(hi, z);
    g[3] = _mm256_unpackhi_epi8(hi, z);
  }
  static __m256i pad(uint8_t zp) { return _mm256_set1_epi16(zp); }
  static __m256i dot(__m256i acc, __m256i x, __m256i w) {
    __m256i sum = _mm256_add_epi32(acc, _mm256_madd_epi16(x, w));
    // Keeps each accumulator a chain of adds: GCC would reassociate a
    // pixel's adds into a tree whose partial products spill to the stack.
    __asm__("" : "+x"(sum));
    return sum;
  }
};

using Ymm = DwYmm<Maddwd>;

}  // namespace

// 2 lanes, 4 vectors, 2 taps per group, tails by overlap, row kernels.
const DwTier kDwTierAvx2 = {{2, 4, 2, true, false, true},
                            &dw_dispatch<DwYmmRun<Ymm, 3, 3>>,
                            &dw_dispatch<DwYmmRun<Ymm, 5, 5>>,
                            &dw_dispatch<DwYmmRun<Ymm, 0, 0>>};

}  // namespace qrt::kernels::x86
