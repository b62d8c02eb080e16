// Depthwise convolution on zmm vpdpbusd (AVX512-VNNI):
// dwconv3x3_u8s8_avx512vnni, dwconv5x5_u8s8_avx512vnni, dwconv_u8s8_avx512vnni.
//
// 64 channels per step. vpdpbusd sums four u8 x s8 products per int32 lane,
// so four taps' inputs are interleaved per channel: two rounds of unpacks
// (bytes, then 16-bit pairs) turn four vectors of 64 channels into four
// vectors holding 16 channels x 4 taps each. The unpacks work per 128-bit
// lane, so vector i, lane L, element d holds channel 16 L + 4 i + d; the
// weights and per-channel parameters are packed in that order (DwLayout),
// and packs_epi32 / packus_epi16 per lane put the outputs back in channel
// order. Taps are padded to a multiple of 4 with zero weights. The channel
// tail uses masked loads and stores.
// GCC 12.1-12.2 warn inside their own AVX-512 headers, whose
// _mm512_undefined_* initialise a variable with itself (GCC PR 105593).
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>

#include "kernels/x86/layout.h"
#include "kernels/x86/requant_avx512.h"

namespace qrt::kernels::x86 {
namespace {

constexpr int kVc = 64;

// kTaps = 0: the tap count is read at run time.
template <int kTaps, bool kFbgemm>
void run_impl(const DwConvArgs& args, int m_begin, int m_end) {
  const DwPacked* h = static_cast<const DwPacked*>(args.packed);
  const int taps = kTaps ? kTaps : h->taps;
  const int groups = (taps + 3) / 4;
  const int channels = h->channels;
  const ZmmRequant q = zmm_requant_setup(h->out_zp, h->out_min, h->out_max);
  for (int m = m_begin; m < m_end; ++m) {
    const uint8_t* const* ind = args.indirection + static_cast<size_t>(m) * taps;
    uint8_t* out = args.out + static_cast<size_t>(m) * channels;
    for (int b = 0; b < h->blocks; ++b) {
      const int start = b * kVc;
      const __mmask64 mask = mask64(channels - start);
      const uint8_t* blk = dw_block(h, b);
      const __m512i* wv = reinterpret_cast<const __m512i*>(blk);
      const __m512i* params = wv + 4 * groups;
      __m512i acc0 = _mm512_loadu_si512(params + 0);
      __m512i acc1 = _mm512_loadu_si512(params + 1);
      __m512i acc2 = _mm512_loadu_si512(params + 2);
      __m512i acc3 = _mm512_loadu_si512(params + 3);
#pragma GCC unroll 8
      for (int g = 0; g < groups; ++g) {
        __m512i x[4];
#pragma GCC unroll 4
        for (int e = 0; e < 4; ++e) {
          const int t = 4 * g + e;
          x[e] = t < taps ? _mm512_maskz_loadu_epi8(mask, ind[t] + start) : _mm512_setzero_si512();
        }
        const __m512i u01lo = _mm512_unpacklo_epi8(x[0], x[1]);
        const __m512i u01hi = _mm512_unpackhi_epi8(x[0], x[1]);
        const __m512i u23lo = _mm512_unpacklo_epi8(x[2], x[3]);
        const __m512i u23hi = _mm512_unpackhi_epi8(x[2], x[3]);
        const __m512i* w = wv + 4 * g;
        acc0 = _mm512_dpbusd_epi32(acc0, _mm512_unpacklo_epi16(u01lo, u23lo), _mm512_loadu_si512(w + 0));
        acc1 = _mm512_dpbusd_epi32(acc1, _mm512_unpackhi_epi16(u01lo, u23lo), _mm512_loadu_si512(w + 1));
        acc2 = _mm512_dpbusd_epi32(acc2, _mm512_unpacklo_epi16(u01hi, u23hi), _mm512_loadu_si512(w + 2));
        acc3 = _mm512_dpbusd_epi32(acc3, _mm512_unpackhi_epi16(u01hi, u23hi), _mm512_loadu_si512(w + 3));
      }
      const float* mult = reinterpret_cast<const float*>(params + 4);
      const float* bias = reinterpret_cast<const float*>(params + 8);
      const __m512i r0 = zmm_requant<kFbgemm>(acc0, _mm512_loadu_ps(mult), _mm512_loadu_ps(bias), q);
      const __m512i r1 =
          zmm_requant<kFbgemm>(acc1, _mm512_loadu_ps(mult + 16), _mm512_loadu_ps(bias + 16), q);
      const __m512i r2 =
          zmm_requant<kFbgemm>(acc2, _mm512_loadu_ps(mult + 32), _mm512_loadu_ps(bias + 32), q);
      const __m512i r3 =
          zmm_requant<kFbgemm>(acc3, _mm512_loadu_ps(mult + 48), _mm512_loadu_ps(bias + 48), q);
      const __m512i bytes = _mm512_packus_epi16(zmm_narrow16(r0, r1, q), zmm_narrow16(r2, r3, q));
      _mm512_mask_storeu_epi8(out + start, mask, zmm_clamp8(bytes, q));
    }
  }
}

template <int kTaps>
void run(const DwConvArgs& args, int m_begin, int m_end) {
  const DwPacked* h = static_cast<const DwPacked*>(args.packed);
  if (h->profile == static_cast<int32_t>(Profile::fbgemm)) {
    run_impl<kTaps, true>(args, m_begin, m_end);
  } else {
    run_impl<kTaps, false>(args, m_begin, m_end);
  }
}

}  // namespace

const DwTier kDwTierAvx512vnni = {{4, 4, 4, false}, &run<9>, &run<25>, &run<0>};

}  // namespace qrt::kernels::x86
