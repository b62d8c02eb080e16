// Depthwise convolution on ymm vpdpbusd (AVX-VNNI): dwconv3x3_u8s8_avxvnni,
// dwconv5x5_u8s8_avxvnni, dwconv_u8s8_avxvnni (dwconv_direct.h).
//
// 32 channels per step, four taps (input rows, on the direct path)
// interleaved per channel as in dwconv_avx512vnni.cc.
#include <immintrin.h>

#include "kernels/x86/dwconv_direct.h"

namespace qrt::kernels::x86 {
namespace {

struct Dpbusd {
  using V = __m256i;
  static constexpr int kTg = 4;
  static V lo8(V a, V b) { return _mm256_unpacklo_epi8(a, b); }
  static V hi8(V a, V b) { return _mm256_unpackhi_epi8(a, b); }
  static V lo16(V a, V b) { return _mm256_unpacklo_epi16(a, b); }
  static V hi16(V a, V b) { return _mm256_unpackhi_epi16(a, b); }
  static void group(const V* x, V* g) { dw_group4<Dpbusd>(x, g); }
  static V pad(uint8_t zp) { return _mm256_set1_epi8(static_cast<char>(zp)); }
  static V dot(V acc, V x, V w) { return _mm256_dpbusd_avx_epi32(acc, x, w); }
};

using Ymm = DwYmm<Dpbusd>;

}  // namespace

// 2 lanes, 4 vectors, 4 taps per group, tails by overlap, row kernels.
const DwTier kDwTierAvxvnni = {{2, 4, 4, true, false, true},
                               &dw_dispatch<DwYmmRun<Ymm, 3, 3>>,
                               &dw_dispatch<DwYmmRun<Ymm, 5, 5>>,
                               &dw_dispatch<DwYmmRun<Ymm, 0, 0>>};

}  // namespace qrt::kernels::x86
