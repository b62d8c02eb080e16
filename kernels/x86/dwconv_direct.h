// The depthwise kernels of the x86 tiers (dwconv_avx2.cc, dwconv_avxvnni.cc,
// dwconv_avx512vnni.cc), written once over a tier's vector type W:
//
//   V, Q                vector of 16 * kLanes channels; requantization constants
//   kLanes, kTg         128-bit lanes; taps summed per 32-bit lane by dot
//   load, store         16 * kLanes bytes (AVX-512 also with a byte mask)
//   group(x, g)         kTg vectors of channels in order, one per tap (or
//                       input row) -> four vectors of interleaved taps:
//                       vector i, lane L, element d holds channel
//                       16 L + 4 i + d, the order per-lane unpacks leave
//                       them (DwLayout with nv = 4)
//   pad(zp)             what group makes of kTg vectors of zp
//   dot(acc, x, w)      acc + the kTg products of each 32-bit lane, exact
//   requant(acc, p, q)  four accumulator vectors -> bytes in channel order
//
// Everything here has internal linkage: each tier file compiles its own copy
// with its own -m flags (see layout.h).
#pragma once

#include <immintrin.h>

#include <algorithm>
#include <cstring>

#include "kernels/x86/layout.h"
#include "kernels/x86/requant_avx2.h"

namespace qrt::kernels::x86 {
namespace {

template <class W>
inline typename W::V dw_vec(const uint8_t* base, size_t index) {
  return W::load(base + index * (16 * W::kLanes));
}

// Four rows' bytes -> four-tap groups for vpdpbusd: bytes of rows 0 and 1
// (2 and 3) interleaved, then 16-bit pairs of the two.
template <class O>
inline void dw_group4(const typename O::V* x, typename O::V* g) {
  const typename O::V u01lo = O::lo8(x[0], x[1]);
  const typename O::V u01hi = O::hi8(x[0], x[1]);
  const typename O::V u23lo = O::lo8(x[2], x[3]);
  const typename O::V u23hi = O::hi8(x[2], x[3]);
  g[0] = O::lo16(u01lo, u23lo);
  g[1] = O::hi16(u01lo, u23lo);
  g[2] = O::lo16(u01hi, u23hi);
  g[3] = O::hi16(u01hi, u23hi);
}

// One block of channels of one output pixel through the indirection
// buffer; load(t) gives tap t's input vector. Taps past `taps` meet zero
// weights.
template <class W, bool kFbgemm, bool kCap, class Load>
typename W::V dw_taps(const uint8_t* blk, int taps, Load&& load, const typename W::Q& q) {
  using V = typename W::V;
  const int groups = (taps + W::kTg - 1) / W::kTg;
  const uint8_t* params = blk + static_cast<size_t>(groups) * 4 * 16 * W::kLanes;
  V acc[4];
  for (int i = 0; i < 4; ++i) acc[i] = dw_vec<W>(params, i);
#pragma GCC unroll 16
  for (int g = 0; g < groups; ++g) {
    V x[W::kTg];
    V u[4];
#pragma GCC unroll 4
    for (int e = 0; e < W::kTg; ++e) {
      const int t = g * W::kTg + e;
      x[e] = t < taps ? load(t) : W::zero();
    }
    W::group(x, u);
#pragma GCC unroll 4
    for (int i = 0; i < 4; ++i) acc[i] = W::dot(acc[i], u[i], dw_vec<W>(blk, 4 * g + i));
  }
  return W::template requant<kFbgemm, kCap>(acc, params, q);
}

// The direct path (layout.h, dw_direct): output pixels [ox0, ox1) of output
// row oy, and of row oy + 1 with kTwo, of one image; the channels of the
// block at `start` (those in `mask` when kMasked). kKw, kRg: kernel_w and
// row_groups, 0 when read at run time. cols: the column buffer.
template <class W, bool kMasked, bool kFbgemm, bool kCap, int kKw, int kRg, bool kTwo>
void dw_segment(const DwPacked* h, const uint8_t* image, const uint8_t* blk, int start,
                uint64_t mask, int oy, int ox0, int ox1, uint8_t* out_row,
                const typename W::Q& q, typename W::V* cols) {
  using V = typename W::V;
  const Conv2DShape& s = h->shape;
  const int kw = kKw ? kKw : s.kernel_w;
  const int rg = kRg ? kRg : h->row_groups;
  const size_t c = static_cast<size_t>(h->channels);
  const size_t col_vecs = static_cast<size_t>(rg) * 4;

  // Columns [ix0, ix1); those in [lo, hi) are inside the image. A slot's
  // row pointer walks the columns; padding rows and unused slots read the
  // row of in_zp in place (step 0).
  const int ix0 = ox0 * s.stride_w - s.pad_left;
  const int ix1 = (ox1 - 1) * s.stride_w - s.pad_left + (kw - 1) * s.dilation_w + 1;
  const int lo = std::min(std::max(ix0, 0), ix1);
  const int hi = std::max(std::min(ix1, s.in_w), lo);
  const uint8_t* zero = dw_zero(h) + start;
  const uint8_t* row[kDwDirectSlots];
  size_t step[kDwDirectSlots];
  for (int k = 0; k < rg * W::kTg; ++k) {
    const int off = h->row_offset[k];
    const int iy = oy * s.stride_h - s.pad_top + off;
    const bool inside = off >= 0 && iy >= 0 && iy < s.in_h;
    row[k] = inside ? image + (static_cast<size_t>(iy) * s.in_w + lo) * c + start : zero;
    step[k] = inside ? c : 0;
  }
  // Builds column `built` into g (col_vecs vectors) and moves to the next.
  const V pad = W::pad(zero[0]);
  int built = ix0;
  const auto build_next = [&](V* g) {
    if (built < lo || built >= hi) {
      for (size_t v = 0; v < col_vecs; ++v) g[v] = pad;
    } else {
#pragma GCC unroll 4
      for (int r = 0; r < rg; ++r) {
        V x[W::kTg];
#pragma GCC unroll 4
        for (int e = 0; e < W::kTg; ++e) {
          const int k = r * W::kTg + e;
          if constexpr (kMasked) {
            x[e] = W::load(row[k], mask);
          } else {
            x[e] = W::load(row[k]);
          }
          row[k] += step[k];
        }
        W::group(x, g + 4 * r);
      }
    }
    ++built;
  };

  const uint8_t* params = blk + static_cast<size_t>(h->tap_groups) * 4 * 16 * W::kLanes;
  uint8_t* out = out_row + start;
  const size_t next_row = static_cast<size_t>(s.out_w) * c;
  const auto store = [&](int ox, const V* a, const V* b) {
    uint8_t* y = out + static_cast<size_t>(ox) * c;
    if constexpr (kMasked) {
      W::store(y, W::template requant<kFbgemm, kCap>(a, params, q), mask);
      if constexpr (kTwo) W::store(y + next_row, W::template requant<kFbgemm, kCap>(b, params, q), mask);
    } else {
      W::store(y, W::template requant<kFbgemm, kCap>(a, params, q));
      if constexpr (kTwo) W::store(y + next_row, W::template requant<kFbgemm, kCap>(b, params, q));
    }
  };

  // 3x3 on four-tap tiers with unit stride and dilation along the row: a
  // pixel reads columns ox .. ox + 2, so the last three stay in registers
  // and each is built once, with no column buffer. 10-15% faster than the
  // column buffer on AMD Zen 4, whose 512-bit stores take two cycles.
  if constexpr (kKw == 3 && kRg == 1 && W::kTg == 4) {
    if (s.stride_w == 1 && s.dilation_w == 1) {
      // Output row oy's twelve weights stay in registers (with the ring and
      // the accumulators they fill the register file), row oy + 1's are
      // vpdpbusd memory operands: AMD Zen 4 loads one zmm register per
      // cycle, and all 24 from memory made the loop load-bound.
      V wa[12];
      for (int v = 0; v < 12; ++v) wa[v] = dw_vec<W>(blk, v);
      V c0[4], c1[4], c2[4];
      build_next(c0);
      build_next(c1);
      for (int ox = ox0; ox < ox1; ++ox) {
        build_next(c2);
        V a[4], b[4];
#pragma GCC unroll 4
        for (int i = 0; i < 4; ++i) {
          const V init = dw_vec<W>(params, i);
          a[i] = W::dot(init, c0[i], wa[i]);
          a[i] = W::dot(a[i], c1[i], wa[4 + i]);
          a[i] = W::dot(a[i], c2[i], wa[8 + i]);
          if constexpr (kTwo) {
            b[i] = W::dot(init, c0[i], dw_vec<W>(blk, 12 + i));
            b[i] = W::dot(b[i], c1[i], dw_vec<W>(blk, 16 + i));
            b[i] = W::dot(b[i], c2[i], dw_vec<W>(blk, 20 + i));
          }
        }
        store(ox, a, b);
#pragma GCC unroll 4
        for (int i = 0; i < 4; ++i) {
          c0[i] = c1[i];
          c1[i] = c2[i];
        }
      }
      return;
    }
  }

  // Otherwise columns go to the column buffer, each built just before the
  // first pixel that reads it, so that its unpacks overlap the previous
  // pixels' arithmetic.
  V* col = cols;
  const auto build_to = [&](int end) {
    while (built < end) {
      build_next(col);
      col += col_vecs;
    }
  };

  // Weights of known size are copied to locals, which the output stores
  // cannot alias, so that they may stay in registers; not on AVX2, whose
  // vpmaddwd takes them from memory as cheaply (measured), so that short
  // rows do not pay the copy.
  const int set_vecs = kw * rg * 4;
  constexpr int kFixed = W::kTg == 4 ? kKw * kRg * 4 : 0;
  V wa[kFixed ? kFixed : 1];
  V wb[kFixed && kTwo ? kFixed : 1];
  if constexpr (kFixed != 0) {
    for (int v = 0; v < kFixed; ++v) wa[v] = dw_vec<W>(blk, v);
    if constexpr (kTwo) {
      for (int v = 0; v < kFixed; ++v) wb[v] = dw_vec<W>(blk, kFixed + v);
    }
  }
  const auto weight = [&](int set, int v) {
    if constexpr (kFixed != 0) {
      return set == 0 ? wa[v] : wb[v];
    } else {
      return dw_vec<W>(blk, static_cast<size_t>(set * set_vecs + v));
    }
  };
  V init[4];
  for (int i = 0; i < 4; ++i) init[i] = dw_vec<W>(params, i);
  const size_t pixel_vecs = static_cast<size_t>(s.stride_w) * col_vecs;
  const size_t kx_vecs = static_cast<size_t>(s.dilation_w) * col_vecs;
  const int reach = (kw - 1) * s.dilation_w + 1;  // columns of one pixel
  const V* base = cols;
  for (int ox = ox0; ox < ox1; ++ox, base += pixel_vecs) {
    build_to(ox * s.stride_w - s.pad_left + reach);
    V a[4], b[4];
    for (int i = 0; i < 4; ++i) a[i] = b[i] = init[i];
#pragma GCC unroll 5
    for (int kx = 0; kx < kw; ++kx) {
      const V* cx = base + kx * kx_vecs;
#pragma GCC unroll 4
      for (int r = 0; r < rg; ++r) {
#pragma GCC unroll 4
        for (int i = 0; i < 4; ++i) {
          const int v = (kx * rg + r) * 4 + i;
          const V x = cx[4 * r + i];
          a[i] = W::dot(a[i], x, weight(0, v));
          if constexpr (kTwo) b[i] = W::dot(b[i], x, weight(1, v));
        }
      }
    }
    store(ox, a, b);
  }
}

// Calls seg(image, oy, ox0, ox1, out_row, two) for the output pixels
// [m_begin, m_end) in row segments of at most h->span pixels. two: the
// segment also covers row oy + 1, for whole rows both in the range when the
// packing has two output rows per column buffer.
template <class Seg>
void dw_walk(const DwPacked* h, const uint8_t* in, uint8_t* out, int m_begin, int m_end,
             Seg&& seg) {
  const Conv2DShape& s = h->shape;
  const size_t c = static_cast<size_t>(h->channels);
  const size_t image_bytes = static_cast<size_t>(s.in_h) * s.in_w * c;
  const int plane = s.out_h * s.out_w;
  int m = m_begin;
  while (m < m_end) {
    const int n = m / plane;
    const int oy = m % plane / s.out_w;
    const int ox_begin = m % s.out_w;
    const int ox_end = std::min(s.out_w, ox_begin + (m_end - m));
    const bool two = h->out_rows == 2 && ox_begin == 0 && oy + 1 < s.out_h &&
                     m_end - m >= 2 * s.out_w;
    const uint8_t* image = in + image_bytes * n;
    uint8_t* out_row = out + (static_cast<size_t>(n) * s.out_h + oy) * s.out_w * c;
    for (int ox0 = ox_begin; ox0 < ox_end; ox0 += h->span) {
      seg(image, oy, ox0, std::min(ox_end, ox0 + h->span), out_row, two);
    }
    m += two ? 2 * s.out_w : ox_end - ox_begin;
  }
}

template <class F, bool kFbgemm, bool kCap>
void dw_path(const DwConvArgs& args, int m_begin, int m_end) {
  if (static_cast<const DwPacked*>(args.packed)->direct) {
    F::template direct<kFbgemm, kCap>(args, m_begin, m_end);
  } else {
    F::template indirect<kFbgemm, kCap>(args, m_begin, m_end);
  }
}

// Calls F::direct or F::indirect <kFbgemm, kCap> for the packed path and
// profile.
template <class F>
void dw_dispatch(const DwConvArgs& args, int m_begin, int m_end) {
  const DwPacked* h = static_cast<const DwPacked*>(args.packed);
  if (h->profile == static_cast<int32_t>(Profile::fbgemm)) {
    h->needs_cap ? dw_path<F, true, true>(args, m_begin, m_end)
                 : dw_path<F, true, false>(args, m_begin, m_end);
  } else {
    h->needs_cap ? dw_path<F, false, true>(args, m_begin, m_end)
                 : dw_path<F, false, false>(args, m_begin, m_end);
  }
}

// The ymm vector type of the AVX2 and AVX-VNNI tiers: 32 channels, the tail
// by overlap (the last block is channels [C - 32, C), which recomputes some
// channels with their own weights and writes the same bytes again). Dot
// supplies kTg, group, pad and dot.
template <class Dot>
struct DwYmm : Dot {
  using V = __m256i;
  using Q = YmmRequant;
  static constexpr int kLanes = 2;
  static V zero() { return _mm256_setzero_si256(); }
  static V load(const void* p) { return _mm256_loadu_si256(static_cast<const __m256i*>(p)); }
  static void store(void* p, V v) { _mm256_storeu_si256(static_cast<__m256i*>(p), v); }
  static Q setup(const DwPacked* h) { return ymm_requant_setup(h->out_zp, h->out_min, h->out_max); }
  template <bool kFbgemm, bool kCap>
  static V requant(const V* acc, const uint8_t* params, const Q& q) {
    const float* mult = reinterpret_cast<const float*>(params + 4 * 32);
    const float* bias = reinterpret_cast<const float*>(params + 8 * 32);
    V r[4];
    for (int i = 0; i < 4; ++i) {
      r[i] = ymm_requant<kFbgemm, kCap>(acc[i], _mm256_loadu_ps(mult + 8 * i),
                                        _mm256_loadu_ps(bias + 8 * i), q);
    }
    // packs per lane: r0 r1 -> channels 16 L + 0..7, r2 r3 -> 16 L + 8..15.
    return ymm_clamp8(_mm256_packus_epi16(ymm_narrow16(r[0], r[1], q), ymm_narrow16(r[2], r[3], q)),
                      q);
  }
};

// A whole run on a DwYmm type for a kKh x kKw kernel (0: any size).
template <class W, int kKh, int kKw>
struct DwYmmRun {
  static constexpr int kVc = 32;

  template <bool kFbgemm, bool kCap>
  static void direct(const DwConvArgs& args, int m_begin, int m_end) {
    constexpr int kRg = (kKh + W::kTg - 1) / W::kTg;
    const DwPacked* h = static_cast<const DwPacked*>(args.packed);
    const typename W::Q q = W::setup(h);
    alignas(64) __m256i cols[kDwDirectColumnBytes / sizeof(__m256i)];
    dw_walk(h, args.indirection[0], args.out, m_begin, m_end,
            [&](const uint8_t* image, int oy, int ox0, int ox1, uint8_t* out_row, bool two) {
              for (int b = 0; b < h->blocks; ++b) {
                const int start = dw_block_start(h, b);
                if (two) {
                  dw_segment<W, false, kFbgemm, kCap, kKw, kRg, true>(
                      h, image, dw_block(h, b), start, 0, oy, ox0, ox1, out_row, q, cols);
                } else {
                  dw_segment<W, false, kFbgemm, kCap, kKw, kRg, false>(
                      h, image, dw_block(h, b), start, 0, oy, ox0, ox1, out_row, q, cols);
                }
              }
            });
  }

  // Fewer than 32 channels go through zero-padded copies of each tap.
  template <bool kFbgemm, bool kCap>
  static void indirect(const DwConvArgs& args, int m_begin, int m_end) {
    const DwPacked* h = static_cast<const DwPacked*>(args.packed);
    const int taps = kKh ? kKh * kKw : h->taps;
    const size_t channels = static_cast<size_t>(h->channels);
    const typename W::Q q = W::setup(h);
    for (int m = m_begin; m < m_end; ++m) {
      const uint8_t* const* ind = args.indirection + static_cast<size_t>(m) * taps;
      uint8_t* out = args.out + static_cast<size_t>(m) * channels;
      if (channels < kVc) {
        const __m256i y = dw_taps<W, kFbgemm, kCap>(
            dw_block(h, 0), taps,
            [&](int t) {
              alignas(32) uint8_t tmp[kVc] = {};
              std::memcpy(tmp, ind[t], channels);
              return W::load(tmp);
            },
            q);
        alignas(32) uint8_t tmp[kVc];
        W::store(tmp, y);
        std::memcpy(out, tmp, channels);
        continue;
      }
      for (int b = 0; b < h->blocks; ++b) {
        const int start = dw_block_start(h, b);
        W::store(out + start, dw_taps<W, kFbgemm, kCap>(
                                  dw_block(h, b), taps, [&](int t) { return W::load(ind[t] + start); },
                                  q));
      }
    }
  }
};

}  // namespace
}  // namespace qrt::kernels::x86
