// Depthwise convolution on ymm vpdpbusd (AVX-VNNI):
// dwconv3x3_u8s8_avxvnni, dwconv5x5_u8s8_avxvnni, dwconv_u8s8_avxvnni.
//
// 32 channels per step, four taps interleaved per channel as in
// dwconv_avx512vnni.cc (vector i, lane L, element d = channel 16 L + 4 i + d).
// Without AVX-512 masks the channel tail is handled by overlap: the last
// block is channels [C - 32, C), recomputing some channels with their own
// weights, which writes the same bytes again. Fewer than 32 channels go
// through a zero-padded copy of each tap.
#include <immintrin.h>

#include <cstring>

#include "kernels/x86/layout.h"
#include "kernels/x86/requant_avx2.h"

namespace qrt::kernels::x86 {
namespace {

constexpr int kVc = 32;

// One block of 32 channels -> 32 output bytes; load(t) gives tap t's 32
// input bytes (t < taps).
template <bool kFbgemm, bool kCap, class Load>
__m256i block(const uint8_t* blk, int taps, Load&& load, const YmmRequant& q) {
  const int groups = (taps + 3) / 4;
  const __m256i* wv = reinterpret_cast<const __m256i*>(blk);
  const __m256i* params = wv + 4 * groups;
  __m256i acc0 = _mm256_loadu_si256(params + 0);
  __m256i acc1 = _mm256_loadu_si256(params + 1);
  __m256i acc2 = _mm256_loadu_si256(params + 2);
  __m256i acc3 = _mm256_loadu_si256(params + 3);
#pragma GCC unroll 8
  for (int g = 0; g < groups; ++g) {
    __m256i x[4];
#pragma GCC unroll 4
    for (int e = 0; e < 4; ++e) {
      const int t = 4 * g + e;
      x[e] = t < taps ? load(t) : _mm256_setzero_si256();
    }
    const __m256i u01lo = _mm256_unpacklo_epi8(x[0], x[1]);
    const __m256i u01hi = _mm256_unpackhi_epi8(x[0], x[1]);
    const __m256i u23lo = _mm256_unpacklo_epi8(x[2], x[3]);
    const __m256i u23hi = _mm256_unpackhi_epi8(x[2], x[3]);
    const __m256i* w = wv + 4 * g;
    acc0 = _mm256_dpbusd_avx_epi32(acc0, _mm256_unpacklo_epi16(u01lo, u23lo),
                                   _mm256_loadu_si256(w + 0));
    acc1 = _mm256_dpbusd_avx_epi32(acc1, _mm256_unpackhi_epi16(u01lo, u23lo),
                                   _mm256_loadu_si256(w + 1));
    acc2 = _mm256_dpbusd_avx_epi32(acc2, _mm256_unpacklo_epi16(u01hi, u23hi),
                                   _mm256_loadu_si256(w + 2));
    acc3 = _mm256_dpbusd_avx_epi32(acc3, _mm256_unpackhi_epi16(u01hi, u23hi),
                                   _mm256_loadu_si256(w + 3));
  }
  const float* mult = reinterpret_cast<const float*>(params + 4);
  const float* bias = reinterpret_cast<const float*>(params + 8);
  const __m256i r0 =
      ymm_requant<kFbgemm, kCap>(acc0, _mm256_loadu_ps(mult), _mm256_loadu_ps(bias), q);
  const __m256i r1 =
      ymm_requant<kFbgemm, kCap>(acc1, _mm256_loadu_ps(mult + 8), _mm256_loadu_ps(bias + 8), q);
  const __m256i r2 =
      ymm_requant<kFbgemm, kCap>(acc2, _mm256_loadu_ps(mult + 16), _mm256_loadu_ps(bias + 16), q);
  const __m256i r3 =
      ymm_requant<kFbgemm, kCap>(acc3, _mm256_loadu_ps(mult + 24), _mm256_loadu_ps(bias + 24), q);
  return ymm_clamp8(_mm256_packus_epi16(ymm_narrow16(r0, r1, q), ymm_narrow16(r2, r3, q)), q);
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
      const uint8_t* blk = dw_block(h, 0);
      const __m256i y = block<kFbgemm, kCap>(
          blk, taps,
          [&](int t) {
            alignas(32) uint8_t tmp[kVc] = {};
            std::memcpy(tmp, ind[t], channels);
            return _mm256_load_si256(reinterpret_cast<const __m256i*>(tmp));
          },
          q);
      alignas(32) uint8_t tmp[kVc];
      _mm256_store_si256(reinterpret_cast<__m256i*>(tmp), y);
      std::memcpy(out, tmp, channels);
      continue;
    }
    for (int b = 0; b < h->blocks; ++b) {
      const int start = dw_block_start(h, b);
      const __m256i y = block<kFbgemm, kCap>(
          dw_block(h, b), taps,
          [&](int t) {
            return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(ind[t] + start));
          },
          q);
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + start), y);
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

const DwTier kDwTierAvxvnni = {{2, 4, 4, true, false, false}, &run<9>, &run<25>, &run<0>};

}  // namespace qrt::kernels::x86
