// Depthwise convolution on AVX2: dwconv3x3_u8s8_avx2, dwconv5x5_u8s8_avx2,
// dwconv_u8s8_avx2.
//
// 16 channels per step. Inputs are widened to int16 and two taps are
// interleaved per channel so that vpmaddwd forms a * w + a' * w' exactly in
// int32 (vpmaddubsw could saturate, NUMERICS.md). The 16-bit unpacks work per
// 128-bit lane, so vector i, lane L, element d holds channel 8 L + 4 i + d;
// weights and per-channel parameters are packed in that order (DwLayout), and
// packs_epi32 puts the outputs back in channel order. The channel tail is
// handled by overlap as in dwconv_avxvnni.cc.
#include <immintrin.h>

#include <cstring>

#include "kernels/x86/layout.h"
#include "kernels/x86/requant_avx2.h"

namespace qrt::kernels::x86 {
namespace {

constexpr int kVc = 16;

// One block of 16 channels -> 16 output bytes; load(t) gives tap t's 16
// input bytes (t < taps).
template <bool kFbgemm, bool kCap, class Load>
__m128i block(const uint8_t* blk, int taps, Load&& load, const YmmRequant& q) {
  const int groups = (taps + 1) / 2;
  const __m256i* wv = reinterpret_cast<const __m256i*>(blk);
  const __m256i* params = wv + 2 * groups;
  __m256i acc0 = _mm256_loadu_si256(params + 0);
  __m256i acc1 = _mm256_loadu_si256(params + 1);
#pragma GCC unroll 16
  for (int g = 0; g < groups; ++g) {
    const int t = 2 * g;
    const __m256i x0 = _mm256_cvtepu8_epi16(load(t));
    const __m256i x1 = t + 1 < taps ? _mm256_cvtepu8_epi16(load(t + 1)) : _mm256_setzero_si256();
    const __m256i* w = wv + 2 * g;
    acc0 = _mm256_add_epi32(
        acc0, _mm256_madd_epi16(_mm256_unpacklo_epi16(x0, x1), _mm256_loadu_si256(w + 0)));
    acc1 = _mm256_add_epi32(
        acc1, _mm256_madd_epi16(_mm256_unpackhi_epi16(x0, x1), _mm256_loadu_si256(w + 1)));
  }
  const float* mult = reinterpret_cast<const float*>(params + 2);
  const float* bias = reinterpret_cast<const float*>(params + 4);
  const __m256i r0 =
      ymm_requant<kFbgemm, kCap>(acc0, _mm256_loadu_ps(mult), _mm256_loadu_ps(bias), q);
  const __m256i r1 =
      ymm_requant<kFbgemm, kCap>(acc1, _mm256_loadu_ps(mult + 8), _mm256_loadu_ps(bias + 8), q);
  const __m256i w16 = ymm_narrow16(r0, r1, q);
  const __m256i bytes =
      _mm256_permute4x64_epi64(_mm256_packus_epi16(w16, w16), _MM_SHUFFLE(3, 1, 2, 0));
  return _mm256_castsi256_si128(ymm_clamp8(bytes, q));
}

template <int kTaps, bool kFbgemm, bool kCap>
void run_impl(const DwConvArgs& args, int m_begin, int m_end) {
  const DwPacked* h = static_cast<const DwPacked*>(args.packed);
  const int taps = kTaps ? kTaps : h->taps;
  const int channels = h->channels;
  const YmmRequant q = ymm_requant_setup(h->out_zp, h->out_min, h->out_max);
  for (int m = m_begin; m < m_end; ++m) {
    const uint8_t* const* ind = args.indirection + static_cast<size_t>(m) * taps;
    uint8_t* out = args.out + static_cast<size_t>(m) * channels;
    if (channels < kVc) {
      const __m128i y = block<kFbgemm, kCap>(
          dw_block(h, 0), taps,
          [&](int t) {
            alignas(16) uint8_t tmp[kVc] = {};
            std::memcpy(tmp, ind[t], channels);
            return _mm_load_si128(reinterpret_cast<const __m128i*>(tmp));
          },
          q);
      store_partial16(out, y, channels);
      continue;
    }
    for (int b = 0; b < h->blocks; ++b) {
      const int start = dw_block_start(h, b);
      const __m128i y = block<kFbgemm, kCap>(
          dw_block(h, b), taps,
          [&](int t) { return _mm_loadu_si128(reinterpret_cast<const __m128i*>(ind[t] + start)); },
          q);
      _mm_storeu_si128(reinterpret_cast<__m128i*>(out + start), y);
    }
  }
}

template <int kTaps>
void run(const DwConvArgs& args, int m_begin, int m_end) {
  const DwPacked* h = static_cast<const DwPacked*>(args.packed);
  const bool fbgemm = h->profile == static_cast<int32_t>(Profile::fbgemm);
  if (fbgemm) {
    h->needs_cap ? run_impl<kTaps, true, true>(args, m_begin, m_end)
                 : run_impl<kTaps, true, false>(args, m_begin, m_end);
  } else {
    h->needs_cap ? run_impl<kTaps, false, true>(args, m_begin, m_end)
                 : run_impl<kTaps, false, false>(args, m_begin, m_end);
  }
}

}  // namespace

const DwTier kDwTierAvx2 = {{2, 2, 2, true, false, false}, &run<9>, &run<25>, &run<0>};

}  // namespace qrt::kernels::x86
