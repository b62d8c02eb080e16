// Depthwise convolution on zmm vpdpbusd (AVX512-VNNI):
// dwconv3x3_u8s8_avx512vnni, dwconv5x5_u8s8_avx512vnni, dwconv_u8s8_avx512vnni
// (the loops are dwconv_direct.h's, shared with the other tiers).
//
// 64 channels per step. vpdpbusd sums four u8 x s8 products per int32 lane,
// so four taps' inputs are interleaved per channel: two rounds of unpacks
// (bytes, then 16-bit pairs) turn four vectors of 64 channels into four
// vectors holding 16 channels x 4 taps each. The unpacks work per 128-bit
// lane, so vector i, lane L, element d holds channel 16 L + 4 i + d; the
// weights and per-channel parameters are packed in that order (DwLayout),
// and packs_epi32 / packus_epi16 per lane put the outputs back in channel
// order. Taps are padded to a multiple of 4 with zero weights. The channel
// tail (C % 64) runs on the narrowest register that holds it (xmm for up to
// 16 channels, ymm for 32, else zmm) with masked loads and stores: a 64-wide
// block for 16 channels would cost as much as a full one.

// GCC 12 warns inside its own AVX-512 headers, whose _mm512_undefined_*
// initialise a variable with itself. (Clang has no -Wmaybe-uninitialized,
// and -Werror would turn the unknown name into an error.)
#if !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#endif
#include <immintrin.h>

#include "kernels/x86/dwconv_direct.h"
#include "kernels/x86/requant_avx512.h"

namespace qrt::kernels::x86 {
namespace {

// The operations of the block loop at one register width: 4 lanes of 16
// channels (zmm), 2 (ymm) or 1 (xmm), with AVX-512 VL/BW masks.
struct Zmm {
  using V = __m512i;
  using F = __m512;
  static constexpr int kLanes = 4;
  static V zero() { return _mm512_setzero_si512(); }
  static V load(const void* p) { return _mm512_loadu_si512(p); }
  static V load(const void* p, uint64_t mask) { return _mm512_maskz_loadu_epi8(mask, p); }
  static F loadf(const float* p) { return _mm512_loadu_ps(p); }
  static void store(void* p, V v) { _mm512_storeu_si512(p, v); }
  static void store(void* p, V v, uint64_t mask) { _mm512_mask_storeu_epi8(p, mask, v); }
  static V lo8(V a, V b) { return _mm512_unpacklo_epi8(a, b); }
  static V hi8(V a, V b) { return _mm512_unpackhi_epi8(a, b); }
  static V lo16(V a, V b) { return _mm512_unpacklo_epi16(a, b); }
  static V hi16(V a, V b) { return _mm512_unpackhi_epi16(a, b); }
  static V dp(V acc, V a, V w) { return _mm512_dpbusd_epi32(acc, a, w); }
  static F cvt(V v) { return _mm512_cvtepi32_ps(v); }
  static V cvt(F v) { return _mm512_cvtps_epi32(v); }
  static F add(F a, F b) { return _mm512_add_ps(a, b); }
  static F mul(F a, F b) { return _mm512_mul_ps(a, b); }
  static F min(F a, F b) { return _mm512_min_ps(a, b); }
  static V packs32(V a, V b) { return _mm512_packs_epi32(a, b); }
  static V adds16(V a, V b) { return _mm512_adds_epi16(a, b); }
  static V packus16(V a, V b) { return _mm512_packus_epi16(a, b); }
  static V clamp8(V v, V lo, V hi) { return _mm512_min_epu8(_mm512_max_epu8(v, lo), hi); }
  static F f(__m512 v) { return v; }
  static V i(__m512i v) { return v; }
};

struct Ymm {
  using V = __m256i;
  using F = __m256;
  static constexpr int kLanes = 2;
  static V zero() { return _mm256_setzero_si256(); }
  static V load(const void* p) { return _mm256_loadu_si256(static_cast<const __m256i*>(p)); }
  static V load(const void* p, uint64_t mask) {
    return _mm256_maskz_loadu_epi8(static_cast<__mmask32>(mask), p);
  }
  static F loadf(const float* p) { return _mm256_loadu_ps(p); }
  static void store(void* p, V v) { _mm256_storeu_si256(static_cast<__m256i*>(p), v); }
  static void store(void* p, V v, uint64_t mask) {
    _mm256_mask_storeu_epi8(p, static_cast<__mmask32>(mask), v);
  }
  static V lo8(V a, V b) { return _mm256_unpacklo_epi8(a, b); }
  static V hi8(V a, V b) { return _mm256_unpackhi_epi8(a, b); }
  static V lo16(V a, V b) { return _mm256_unpacklo_epi16(a, b); }
  static V hi16(V a, V b) { return _mm256_unpackhi_epi16(a, b); }
  static V dp(V acc, V a, V w) { return _mm256_dpbusd_epi32(acc, a, w); }
  static F cvt(V v) { return _mm256_cvtepi32_ps(v); }
  static V cvt(F v) { return _mm256_cvtps_epi32(v); }
  static F add(F a, F b) { return _mm256_add_ps(a, b); }
  static F mul(F a, F b) { return _mm256_mul_ps(a, b); }
  static F min(F a, F b) { return _mm256_min_ps(a, b); }
  static V packs32(V a, V b) { return _mm256_packs_epi32(a, b); }
  static V adds16(V a, V b) { return _mm256_adds_epi16(a, b); }
  static V packus16(V a, V b) { return _mm256_packus_epi16(a, b); }
  static V clamp8(V v, V lo, V hi) { return _mm256_min_epu8(_mm256_max_epu8(v, lo), hi); }
  static F f(__m512 v) { return _mm512_castps512_ps256(v); }
  static V i(__m512i v) { return _mm512_castsi512_si256(v); }
};

struct Xmm {
  using V = __m128i;
  using F = __m128;
  static constexpr int kLanes = 1;
  static V zero() { return _mm_setzero_si128(); }
  static V load(const void* p) { return _mm_loadu_si128(static_cast<const __m128i*>(p)); }
  static V load(const void* p, uint64_t mask) {
    return _mm_maskz_loadu_epi8(static_cast<__mmask16>(mask), p);
  }
  static F loadf(const float* p) { return _mm_loadu_ps(p); }
  static void store(void* p, V v) { _mm_storeu_si128(static_cast<__m128i*>(p), v); }
  static void store(void* p, V v, uint64_t mask) {
    _mm_mask_storeu_epi8(p, static_cast<__mmask16>(mask), v);
  }
  static V lo8(V a, V b) { return _mm_unpacklo_epi8(a, b); }
  static V hi8(V a, V b) { return _mm_unpackhi_epi8(a, b); }
  static V lo16(V a, V b) { return _mm_unpacklo_epi16(a, b); }
  static V hi16(V a, V b) { return _mm_unpackhi_epi16(a, b); }
  static V dp(V acc, V a, V w) { return _mm_dpbusd_epi32(acc, a, w); }
  static F cvt(V v) { return _mm_cvtepi32_ps(v); }
  static V cvt(F v) { return _mm_cvtps_epi32(v); }
  static F add(F a, F b) { return _mm_add_ps(a, b); }
  static F mul(F a, F b) { return _mm_mul_ps(a, b); }
  static F min(F a, F b) { return _mm_min_ps(a, b); }
  static V packs32(V a, V b) { return _mm_packs_epi32(a, b); }
  static V adds16(V a, V b) { return _mm_adds_epi16(a, b); }
  static V packus16(V a, V b) { return _mm_packus_epi16(a, b); }
  static V clamp8(V v, V lo, V hi) { return _mm_min_epu8(_mm_max_epu8(v, lo), hi); }
  static F f(__m512 v) { return _mm512_castps512_ps128(v); }
  static V i(__m512i v) { return _mm512_castsi512_si128(v); }
};

// requant_avx512.h's zmm_requant at width W (see there for the exactness
// of the cap and the saturating clamp).
template <class W, bool kFbgemm, bool kCap>
typename W::V requant1(typename W::V acc, const float* mult, const float* bias,
                       const ZmmRequant& q) {
  typename W::F v = W::cvt(acc);
  if (kFbgemm) v = W::add(v, W::loadf(bias));
  v = W::mul(v, W::loadf(mult));
  if (kCap) v = W::min(W::f(q.cap), v);
  return W::cvt(v);
}

// The dwconv_direct.h vector type at width O.
template <class O>
struct Dw : O {
  using V = typename O::V;
  using Q = ZmmRequant;
  static constexpr int kTg = 4;
  static void group(const V* x, V* g) { dw_group4<O>(x, g); }
  static V pad(uint8_t zp) { return O::i(_mm512_set1_epi8(static_cast<char>(zp))); }
  static V dot(V acc, V x, V w) { return O::dp(acc, x, w); }
  // packs_epi32 / packus_epi16 per lane put the outputs in channel order.
  template <bool kFbgemm, bool kCap>
  static V requant(const V* acc, const uint8_t* params, const Q& q) {
    const size_t vb = 16 * O::kLanes;
    const float* mult = reinterpret_cast<const float*>(params + 4 * vb);
    const float* bias = reinterpret_cast<const float*>(params + 8 * vb);
    const size_t fv = 4 * O::kLanes;  // floats per vector
    V r[4];
    for (int i = 0; i < 4; ++i) {
      r[i] = requant1<O, kFbgemm, kCap>(acc[i], mult + i * fv, bias + i * fv, q);
    }
    const V zp16 = O::i(q.zp16);
    const V bytes = O::packus16(O::adds16(O::packs32(r[0], r[1]), zp16),
                                O::adds16(O::packs32(r[2], r[3]), zp16));
    return O::clamp8(bytes, O::i(q.lo8), O::i(q.hi8));
  }
};

using DZ = Dw<Zmm>;
using DY = Dw<Ymm>;
using DX = Dw<Xmm>;

// One block of W::kLanes * 16 channels at `start` of one output pixel
// through the indirection buffer. kMasked: only the channels in `mask`
// exist (the tail).
template <class W, bool kMasked, bool kFbgemm, bool kCap>
void indirect_block(const uint8_t* blk, const uint8_t* const* ind, int taps, int start,
                    uint64_t mask, uint8_t* out, const ZmmRequant& q) {
  const auto load = [&](int t) {
    if constexpr (kMasked) {
      return W::load(ind[t] + start, mask);
    } else {
      return W::load(ind[t] + start);
    }
  };
  const typename W::V y = dw_taps<W, kFbgemm, kCap>(blk, taps, load, q);
  if constexpr (kMasked) {
    W::store(out + start, y, mask);
  } else {
    W::store(out + start, y);
  }
}

// A whole run for a kKh x kKw kernel (0: any size). 64 channels per step;
// the channel tail (C % 64) runs on the narrowest register that holds it
// (xmm for up to 16 channels, ymm for 32, else zmm) with masked loads and
// stores: a 64-wide block for 16 channels would cost as much as a full one.
template <int kKh, int kKw>
struct Run {
  template <bool kFbgemm, bool kCap>
  static void indirect(const DwConvArgs& args, int m_begin, int m_end) {
    const DwPacked* h = static_cast<const DwPacked*>(args.packed);
    const int taps = kKh ? kKh * kKw : h->taps;
    const int channels = h->channels;
    const int full_blocks = channels / h->vc;
    const int tail = channels - full_blocks * h->vc;
    const int tail_start = full_blocks * h->vc;
    const uint64_t tail_mask = tail == 0 ? 0 : (uint64_t{1} << tail) - 1;
    const ZmmRequant q = zmm_requant_setup(h->out_zp, h->out_min, h->out_max);
    for (int m = m_begin; m < m_end; ++m) {
      const uint8_t* const* ind = args.indirection + static_cast<size_t>(m) * taps;
      uint8_t* out = args.out + static_cast<size_t>(m) * channels;
      for (int b = 0; b < full_blocks; ++b) {
        indirect_block<DZ, false, kFbgemm, kCap>(dw_block(h, b), ind, taps, b * h->vc, 0, out, q);
      }
      if (tail == 0) continue;
      const uint8_t* blk = dw_block(h, full_blocks);
      if (tail <= 16) {
        indirect_block<DX, true, kFbgemm, kCap>(blk, ind, taps, tail_start, tail_mask, out, q);
      } else if (tail <= 32) {
        indirect_block<DY, true, kFbgemm, kCap>(blk, ind, taps, tail_start, tail_mask, out, q);
      } else {
        indirect_block<DZ, true, kFbgemm, kCap>(blk, ind, taps, tail_start, tail_mask, out, q);
      }
    }
  }

  template <bool kFbgemm, bool kCap, bool kTwo>
  static void blocks(const DwPacked* h, const uint8_t* image, int oy, int ox0, int ox1,
                     uint8_t* out_row, const ZmmRequant& q, __m512i* cols) {
    constexpr int kRg = (kKh + 3) / 4;
    const int full_blocks = h->channels / h->vc;
    const int tail = h->channels - full_blocks * h->vc;
    for (int b = 0; b < full_blocks; ++b) {
      dw_segment<DZ, false, kFbgemm, kCap, kKw, kRg, kTwo>(h, image, dw_block(h, b), b * h->vc, 0,
                                                          oy, ox0, ox1, out_row, q, cols);
    }
    if (tail == 0) return;
    const uint8_t* blk = dw_block(h, full_blocks);
    const int start = full_blocks * h->vc;
    const uint64_t mask = (uint64_t{1} << tail) - 1;
    if (tail <= 16) {
      dw_segment<DX, true, kFbgemm, kCap, kKw, kRg, kTwo>(h, image, blk, start, mask, oy, ox0, ox1,
                                                         out_row, q,
                                                         reinterpret_cast<__m128i*>(cols));
    } else if (tail <= 32) {
      dw_segment<DY, true, kFbgemm, kCap, kKw, kRg, kTwo>(h, image, blk, start, mask, oy, ox0, ox1,
                                                         out_row, q,
                                                         reinterpret_cast<__m256i*>(cols));
    } else {
      dw_segment<DZ, true, kFbgemm, kCap, kKw, kRg, kTwo>(h, image, blk, start, mask, oy, ox0, ox1,
                                                         out_row, q, cols);
    }
  }

  template <bool kFbgemm, bool kCap>
  static void direct(const DwConvArgs& args, int m_begin, int m_end) {
    const DwPacked* h = static_cast<const DwPacked*>(args.packed);
    const ZmmRequant q = zmm_requant_setup(h->out_zp, h->out_min, h->out_max);
    alignas(64) __m512i cols[kDwDirectColumnBytes / sizeof(__m512i)];
    dw_walk(h, args.indirection[0], args.out, m_begin, m_end,
            [&](const uint8_t* image, int oy, int ox0, int ox1, uint8_t* out_row, bool two) {
              if (two) {
                blocks<kFbgemm, kCap, true>(h, image, oy, ox0, ox1, out_row, q, cols);
              } else {
                blocks<kFbgemm, kCap, false>(h, image, oy, ox0, ox1, out_row, q, cols);
              }
            });
  }
};

}  // namespace

// 4 lanes, 4 vectors, 4 taps per group, narrow tails, row kernels.
const DwTier kDwTierAvx512vnni = {{4, 4, 4, false, true, true},
                                  &dw_dispatch<Run<3, 3>>,
                                  &dw_dispatch<Run<5, 5>>,
                                  &dw_dispatch<Run<0, 0>>};

}  // namespace qrt::kernels::x86
