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
// tail (C % 64) runs on the narrowest register that holds it (xmm for up to
// 16 channels, ymm for 32, else zmm) with masked loads and stores: a 64-wide
// block for 16 channels would cost as much as a full one.

// GCC 12 warns inside its own AVX-512 headers, whose _mm512_undefined_*
// initialise a variable with itself.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#include <immintrin.h>

#include <algorithm>

#include "kernels/x86/layout.h"
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
typename W::V requant(typename W::V acc, const float* mult, const float* bias,
                      const ZmmRequant& q) {
  typename W::F v = W::cvt(acc);
  if (kFbgemm) v = W::add(v, W::loadf(bias));
  v = W::mul(v, W::loadf(mult));
  if (kCap) v = W::min(W::f(q.cap), v);
  return W::cvt(v);
}

// Requantizes a block's four accumulator vectors with the parameters at
// `params` (init, mult, bias: four vectors each) and stores the bytes.
template <class W, bool kMasked, bool kFbgemm, bool kCap>
inline void finish(const uint8_t* params, typename W::V acc0, typename W::V acc1,
                   typename W::V acc2, typename W::V acc3, uint64_t mask, uint8_t* out,
                   const ZmmRequant& q) {
  using V = typename W::V;
  const size_t vb = 16 * W::kLanes;
  const float* mult = reinterpret_cast<const float*>(params + 4 * vb);
  const float* bias = reinterpret_cast<const float*>(params + 8 * vb);
  const size_t fv = 4 * W::kLanes;  // floats per vector
  const V r0 = requant<W, kFbgemm, kCap>(acc0, mult, bias, q);
  const V r1 = requant<W, kFbgemm, kCap>(acc1, mult + fv, bias + fv, q);
  const V r2 = requant<W, kFbgemm, kCap>(acc2, mult + 2 * fv, bias + 2 * fv, q);
  const V r3 = requant<W, kFbgemm, kCap>(acc3, mult + 3 * fv, bias + 3 * fv, q);
  const V zp16 = W::i(q.zp16);
  const V bytes =
      W::packus16(W::adds16(W::packs32(r0, r1), zp16), W::adds16(W::packs32(r2, r3), zp16));
  const V y = W::clamp8(bytes, W::i(q.lo8), W::i(q.hi8));
  if (kMasked) {
    W::store(out, y, mask);
  } else {
    W::store(out, y);
  }
}

// One block of 16 * W::kLanes channels starting at `start` of one output
// pixel. kMasked: only the channels in `mask` exist (the tail).
template <class W, bool kMasked, bool kFbgemm, bool kCap>
void block(const uint8_t* blk, const uint8_t* const* ind, int taps, int start, uint64_t mask,
           uint8_t* out, const ZmmRequant& q) {
  using V = typename W::V;
  const int groups = (taps + 3) / 4;
  const size_t vb = 16 * W::kLanes;  // bytes per vector
  const auto vec = [&](int index) { return W::load(blk + index * vb); };
  V acc0 = vec(4 * groups + 0);
  V acc1 = vec(4 * groups + 1);
  V acc2 = vec(4 * groups + 2);
  V acc3 = vec(4 * groups + 3);
#pragma GCC unroll 8
  for (int g = 0; g < groups; ++g) {
    V x[4];
#pragma GCC unroll 4
    for (int e = 0; e < 4; ++e) {
      const int t = 4 * g + e;
      if (t >= taps) {
        x[e] = W::zero();
      } else if (kMasked) {
        x[e] = W::load(ind[t] + start, mask);
      } else {
        x[e] = W::load(ind[t] + start);
      }
    }
    const V u01lo = W::lo8(x[0], x[1]);
    const V u01hi = W::hi8(x[0], x[1]);
    const V u23lo = W::lo8(x[2], x[3]);
    const V u23hi = W::hi8(x[2], x[3]);
    acc0 = W::dp(acc0, W::lo16(u01lo, u23lo), vec(4 * g + 0));
    acc1 = W::dp(acc1, W::hi16(u01lo, u23lo), vec(4 * g + 1));
    acc2 = W::dp(acc2, W::lo16(u01hi, u23hi), vec(4 * g + 2));
    acc3 = W::dp(acc3, W::hi16(u01hi, u23hi), vec(4 * g + 3));
  }
  finish<W, kMasked, kFbgemm, kCap>(blk + 4 * groups * vb, acc0, acc1, acc2, acc3, mask,
                                    out + start, q);
}

// kTaps = 0: the tap count is read at run time.
template <int kTaps, bool kFbgemm, bool kCap>
void run_impl(const DwConvArgs& args, int m_begin, int m_end) {
  const DwPacked* h = static_cast<const DwPacked*>(args.packed);
  const int taps = kTaps ? kTaps : h->taps;
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
      block<Zmm, false, kFbgemm, kCap>(dw_block(h, b), ind, taps, b * h->vc, 0, out, q);
    }
    if (tail == 0) continue;
    const uint8_t* blk = dw_block(h, full_blocks);
    if (tail <= 16) {
      block<Xmm, true, kFbgemm, kCap>(blk, ind, taps, tail_start, tail_mask, out, q);
    } else if (tail <= 32) {
      block<Ymm, true, kFbgemm, kCap>(blk, ind, taps, tail_start, tail_mask, out, q);
    } else {
      block<Zmm, true, kFbgemm, kCap>(blk, ind, taps, tail_start, tail_mask, out, q);
    }
  }
}

// The direct path (layout.h, dw_direct). One segment [ox0, ox1) of output
// row oy of image `image`, channels [start, start + 16 * W::kLanes) (those in
// `mask` when kMasked), with at most kDwDirectColumns input columns.
// kKh/kKw: the kernel size, 0 when read at run time.
template <class W, bool kMasked, bool kFbgemm, bool kCap, int kKh, int kKw>
void direct_segment(const DwPacked* h, const uint8_t* image, const uint8_t* blk, int start,
                    uint64_t mask, int oy, int ox0, int ox1, uint8_t* out_row, const ZmmRequant& q,
                    typename W::V* cols) {
  using V = typename W::V;
  const Conv2DShape& s = h->shape;
  const int kh = kKh ? kKh : s.kernel_h;
  const int kw = kKw ? kKw : s.kernel_w;
  const int rg = kKh ? (kKh + 3) / 4 : h->row_groups;
  const int channels = h->channels;
  const size_t vb = 16 * W::kLanes;
  const size_t row_bytes = static_cast<size_t>(s.in_w) * channels;
  // The kernel rows of this output row; null for padding and for the
  // element slots past kernel_h (their weights are zero).
  const uint8_t* rows[4 * kDwDirectMaxRowGroups];
  for (int e = 0; e < 4 * rg; ++e) {
    const int iy = oy * s.stride_h - s.pad_top + e * s.dilation_h;
    rows[e] = e < kh && iy >= 0 && iy < s.in_h ? image + iy * row_bytes + start : nullptr;
  }
  const V pad = W::i(_mm512_set1_epi8(static_cast<char>(dw_zero(h)[0])));
  const int ix0 = ox0 * s.stride_w - s.pad_left;
  const int ix1 = (ox1 - 1) * s.stride_w - s.pad_left + (kw - 1) * s.dilation_w + 1;
  for (int ix = ix0; ix < ix1; ++ix) {
    V* col = cols + static_cast<size_t>(ix - ix0) * rg * 4;
    const bool inside = ix >= 0 && ix < s.in_w;
    const size_t offset = static_cast<size_t>(inside ? ix : 0) * channels;
    for (int r = 0; r < rg; ++r) {
      V x[4];
#pragma GCC unroll 4
      for (int e = 0; e < 4; ++e) {
        const uint8_t* row = rows[4 * r + e];
        if (!inside || row == nullptr) {
          x[e] = pad;
        } else if (kMasked) {
          x[e] = W::load(row + offset, mask);
        } else {
          x[e] = W::load(row + offset);
        }
      }
      const V u01lo = W::lo8(x[0], x[1]);
      const V u01hi = W::hi8(x[0], x[1]);
      const V u23lo = W::lo8(x[2], x[3]);
      const V u23hi = W::hi8(x[2], x[3]);
      col[4 * r + 0] = W::lo16(u01lo, u23lo);
      col[4 * r + 1] = W::hi16(u01lo, u23lo);
      col[4 * r + 2] = W::lo16(u01hi, u23hi);
      col[4 * r + 3] = W::hi16(u01hi, u23hi);
    }
  }
  const uint8_t* params = blk + static_cast<size_t>(kw) * rg * 4 * vb;
  const auto weight = [&](int index) { return W::load(blk + index * vb); };
  const V init0 = W::load(params + 0 * vb);
  const V init1 = W::load(params + 1 * vb);
  const V init2 = W::load(params + 2 * vb);
  const V init3 = W::load(params + 3 * vb);
  for (int ox = ox0; ox < ox1; ++ox) {
    V acc0 = init0, acc1 = init1, acc2 = init2, acc3 = init3;
    const V* base = cols + static_cast<size_t>(ox - ox0) * s.stride_w * rg * 4;
#pragma GCC unroll 5
    for (int kx = 0; kx < kw; ++kx) {
      const V* col = base + static_cast<size_t>(kx) * s.dilation_w * rg * 4;
#pragma GCC unroll 2
      for (int r = 0; r < rg; ++r) {
        const int g = kx * rg + r;
        acc0 = W::dp(acc0, col[4 * r + 0], weight(4 * g + 0));
        acc1 = W::dp(acc1, col[4 * r + 1], weight(4 * g + 1));
        acc2 = W::dp(acc2, col[4 * r + 2], weight(4 * g + 2));
        acc3 = W::dp(acc3, col[4 * r + 3], weight(4 * g + 3));
      }
    }
    finish<W, kMasked, kFbgemm, kCap>(params, acc0, acc1, acc2, acc3, mask,
                                      out_row + static_cast<size_t>(ox) * channels + start, q);
  }
}

template <int kKh, int kKw, bool kFbgemm, bool kCap>
void run_direct(const DwConvArgs& args, int m_begin, int m_end) {
  const DwPacked* h = static_cast<const DwPacked*>(args.packed);
  const Conv2DShape& s = h->shape;
  const int channels = h->channels;
  const int full_blocks = channels / h->vc;
  const int tail = channels - full_blocks * h->vc;
  const int tail_start = full_blocks * h->vc;
  const uint64_t tail_mask = tail == 0 ? 0 : (uint64_t{1} << tail) - 1;
  const ZmmRequant q = zmm_requant_setup(h->out_zp, h->out_min, h->out_max);
  const uint8_t* in = args.indirection[0];
  const size_t image_bytes = static_cast<size_t>(s.in_h) * s.in_w * channels;
  const int kw = kKw ? kKw : s.kernel_w;
  // Output pixels per pass such that their input columns fit the buffer.
  const int span = (kDwDirectColumns - ((kw - 1) * s.dilation_w + 1)) / s.stride_w + 1;
  alignas(64) __m512i cols[kDwDirectColumns * 4 * kDwDirectMaxRowGroups];
  const int plane = s.out_h * s.out_w;
  int m = m_begin;
  while (m < m_end) {
    const int n = m / plane;
    const int oy = (m % plane) / s.out_w;
    const int ox_begin = m % s.out_w;
    const int ox_end = std::min(s.out_w, ox_begin + (m_end - m));
    const uint8_t* image = in + image_bytes * n;
    uint8_t* out_row = args.out + (static_cast<size_t>(n) * s.out_h + oy) * s.out_w * channels;
    for (int ox0 = ox_begin; ox0 < ox_end; ox0 += span) {
      const int ox1 = std::min(ox_end, ox0 + span);
      for (int b = 0; b < full_blocks; ++b) {
        direct_segment<Zmm, false, kFbgemm, kCap, kKh, kKw>(h, image, dw_block(h, b), b * h->vc,
                                                            0, oy, ox0, ox1, out_row, q, cols);
      }
      if (tail == 0) continue;
      const uint8_t* blk = dw_block(h, full_blocks);
      if (tail <= 16) {
        direct_segment<Xmm, true, kFbgemm, kCap, kKh, kKw>(
            h, image, blk, tail_start, tail_mask, oy, ox0, ox1, out_row, q,
            reinterpret_cast<__m128i*>(cols));
      } else if (tail <= 32) {
        direct_segment<Ymm, true, kFbgemm, kCap, kKh, kKw>(
            h, image, blk, tail_start, tail_mask, oy, ox0, ox1, out_row, q,
            reinterpret_cast<__m256i*>(cols));
      } else {
        direct_segment<Zmm, true, kFbgemm, kCap, kKh, kKw>(h, image, blk, tail_start, tail_mask,
                                                           oy, ox0, ox1, out_row, q, cols);
      }
    }
    m += ox_end - ox_begin;
  }
}

template <int kTaps, bool kFbgemm, bool kCap>
void dispatch(const DwConvArgs& args, int m_begin, int m_end) {
  const DwPacked* h = static_cast<const DwPacked*>(args.packed);
  if (!h->direct) {
    run_impl<kTaps, kFbgemm, kCap>(args, m_begin, m_end);
  } else if (kTaps == 9) {
    run_direct<3, 3, kFbgemm, kCap>(args, m_begin, m_end);
  } else if (kTaps == 25) {
    run_direct<5, 5, kFbgemm, kCap>(args, m_begin, m_end);
  } else {
    run_direct<0, 0, kFbgemm, kCap>(args, m_begin, m_end);
  }
}

template <int kTaps>
void run(const DwConvArgs& args, int m_begin, int m_end) {
  const DwPacked* h = static_cast<const DwPacked*>(args.packed);
  const bool fbgemm = h->profile == static_cast<int32_t>(Profile::fbgemm);
  if (fbgemm) {
    h->needs_cap ? dispatch<kTaps, true, true>(args, m_begin, m_end)
                 : dispatch<kTaps, true, false>(args, m_begin, m_end);
  } else {
    h->needs_cap ? dispatch<kTaps, false, true>(args, m_begin, m_end)
                 : dispatch<kTaps, false, false>(args, m_begin, m_end);
  }
}

}  // namespace

// 4 lanes, 4 vectors, 4 taps per group, narrow tails.
const DwTier kDwTierAvx512vnni = {{4, 4, 4, false, true, true}, &run<9>, &run<25>, &run<0>};

}  // namespace qrt::kernels::x86
