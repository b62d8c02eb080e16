// GEMM microkernels on zmm vpdpbusd (AVX512-VNNI): gemm_u8s8_8x32_avx512vnni.
//
// Per k group of 4, each row broadcasts a[m][k..k+3] (the u8 operand) and
// each panel supplies w[n][k..k+3] for 16 columns (the s8 operand); vpdpbusd
// adds the four exact u8 x s8 products to the int32 lane, wrapping like the
// reference's int32 sum.
//
// Rows go in blocks of 8. Tiles: 4 rows x 4 panels over the interleaved
// column groups of a short-k GEMM (layout.h: each row's 64 columns come out
// of the packs in order, one store, no permute), then 8 rows x 2 panels and
// 8 rows x 1 over the remaining panels. A last panel of at most 8 columns
// runs on ymm (kHalf).
//
// With the short k of MobileNetV2's 1x1 convs (16..32) a tile spends about
// as many zmm uops on requantizing and narrowing as on the products. Each
// tile requantizes straight from its accumulators: software pipelining the
// tiles (products of tile t, then the requantization of tile t - 1 from
// where its accumulators were parked) was 5-15% slower on AMD Zen 4, whose
// out-of-order window already overlaps consecutive tiles.

// GCC 12 warns inside its own AVX-512 headers, whose _mm512_undefined_*
// initialise a variable with itself. (Clang has no -Wmaybe-uninitialized,
// and -Werror would turn the unknown name into an error.)
#if !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#endif
#include <immintrin.h>

#include <cstring>

#include "kernels/x86/layout.h"
#include "kernels/x86/requant_avx2.h"
#include "kernels/x86/requant_avx512.h"

namespace qrt::kernels::x86 {
namespace {

constexpr int kMr = 8;
constexpr int kNr = 16;

// acc += dot4(a u8, w s8). GCC 12 does not tie the accumulator of the
// vpdpbusd builtin to its output inside loops and shuffles every accumulator
// through a copy (and the stack) per k step; the asm ties it.
inline void dpbusd(__m512i& acc, __m512i a, __m512i w) {
  __asm__("vpdpbusd %2, %1, %0" : "+v"(acc) : "v"(a), "v"(w));
}

// The epilogue's flags, fixed per packed GEMM.
template <bool kFbgemm_, bool kCap_, bool kClamp_>
struct Epi {
  static constexpr bool kFbgemm = kFbgemm_;
  static constexpr bool kCap = kCap_;      // see requant_needs_cap
  static constexpr bool kClamp = kClamp_;  // [out_min, out_max] != [0, 255]
};

// A block of up to kMr rows: row r, k group kg of segment s at
// seg[s] + off[r] + kg * 4 (one segment of k_pad bytes for a plain GEMM).
// Rows past `rows` repeat the last row and are not stored.
struct Block {
  const uint8_t* const* seg;
  int segs;
  int seg_groups;
  int rows;
  size_t off[kMr];
  uint8_t* out;
  size_t out_stride;
};

inline void dpbusd(__m256i& acc, __m256i a, __m256i w) {
  __asm__("vpdpbusd %2, %1, %0" : "+v"(acc) : "v"(a), "v"(w));
}

// Accumulators of rows [row0, row0 + MR) x panels [panel, panel + NB),
// into out[r * NB + j]. kHalf: the last panel holds at most 8 columns (the
// first 32 bytes of its k groups) and runs on ymm, whose vpdpbusd costs
// half a zmm one on CPUs that split zmm uops (AMD Zen 4); its accumulators
// are in the low halves of out[r * NB + NB - 1].
template <int MR, int NB, bool kHalf = false>
inline void products(const GemmPacked* g, const Block& b, int row0, int panel, __m512i* out) {
  constexpr int NZ = kHalf ? NB - 1 : NB;  // zmm panels
  const uint8_t* w = gemm_weights(g) + g->panel_bytes * panel;
  const size_t panel_bytes = g->panel_bytes;
  const int32_t* init = gemm_init(g) + panel * kNr;
  __m512i acc[MR][NZ ? NZ : 1];
  __m256i half[kHalf ? MR : 1];
#pragma GCC unroll 4
  for (int j = 0; j < NZ; ++j) {
    const __m512i v = _mm512_loadu_si512(init + j * kNr);
#pragma GCC unroll 8
    for (int r = 0; r < MR; ++r) acc[r][j] = v;
  }
  if constexpr (kHalf) {
    const __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(init + NZ * kNr));
#pragma GCC unroll 8
    for (int r = 0; r < MR; ++r) half[r] = v;
  }
  for (int s = 0; s < b.segs; ++s) {
    const uint8_t* a = b.seg[s];
    for (int kg = 0; kg < b.seg_groups; ++kg, w += 64) {
      __m512i wv[NZ ? NZ : 1];
#pragma GCC unroll 4
      for (int j = 0; j < NZ; ++j) wv[j] = _mm512_loadu_si512(w + j * panel_bytes);
      __m256i wh;
      if constexpr (kHalf) {
        wh = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(w + NZ * panel_bytes));
      }
#pragma GCC unroll 8
      for (int r = 0; r < MR; ++r) {
        const __m512i av = zmm_broadcast_i32(a + b.off[row0 + r] + kg * 4);
#pragma GCC unroll 4
        for (int j = 0; j < NZ; ++j) dpbusd(acc[r][j], av, wv[j]);
        if constexpr (kHalf) dpbusd(half[r], _mm512_castsi512_si256(av), wh);
      }
    }
  }
#pragma GCC unroll 8
  for (int r = 0; r < MR; ++r) {
#pragma GCC unroll 4
    for (int j = 0; j < NZ; ++j) out[r * NB + j] = acc[r][j];
    if constexpr (kHalf) out[r * NB + NZ] = _mm512_castsi256_si512(half[r]);
  }
}

// Four rows of an interleaved group: 64 output bytes per row, in order.
template <class E>
inline void requant_group(const GemmPacked* g, const Block& b, int row0, int panel,
                          const __m512i* acc, const ZmmRequant& q) {
  const float* mult = gemm_mult(g) + panel * kNr;
  const float* bias = gemm_bias(g) + panel * kNr;
  __m512 m[4], bv[4];
#pragma GCC unroll 4
  for (int j = 0; j < 4; ++j) {
    m[j] = _mm512_loadu_ps(mult + j * kNr);
    bv[j] = _mm512_loadu_ps(bias + j * kNr);
  }
#pragma GCC unroll 4
  for (int r = 0; r < 4; ++r) {
    __m512i v[4];
#pragma GCC unroll 4
    for (int j = 0; j < 4; ++j) {
      v[j] = zmm_requant<E::kFbgemm, E::kCap>(acc[r * 4 + j], m[j], bv[j], q);
    }
    const __m512i bytes = zmm_pack64_group<E::kClamp>(v[0], v[1], v[2], v[3], q);
    if (row0 + r < b.rows) {
      _mm512_storeu_si512(b.out + (row0 + r) * b.out_stride + panel * kNr, bytes);
    }
  }
}

// kMr rows x NB natural panels: columns [panel * 16, n) at most NB * 16.
// kHalf: as products; the last panel's upper 8 lanes are left undefined and
// never stored.
template <int NB, class E, bool kHalf = false>
inline void requant_panels(const GemmPacked* g, const Block& b, int panel, const __m512i* acc,
                           const ZmmRequant& q) {
  constexpr int NZ = kHalf ? NB - 1 : NB;
  const float* mult = gemm_mult(g) + panel * kNr;
  const float* bias = gemm_bias(g) + panel * kNr;
  __m512i v[kMr][NB];
#pragma GCC unroll 4
  for (int j = 0; j < NZ; ++j) {
    const __m512 m = _mm512_loadu_ps(mult + j * kNr);
    const __m512 bv = _mm512_loadu_ps(bias + j * kNr);
#pragma GCC unroll 8
    for (int r = 0; r < kMr; ++r) {
      v[r][j] = zmm_requant<E::kFbgemm, E::kCap>(acc[r * NB + j], m, bv, q);
    }
  }
  if constexpr (kHalf) {
    const __m256 m = _mm256_loadu_ps(mult + NZ * kNr);
    const __m256 bv = _mm256_loadu_ps(bias + NZ * kNr);
#pragma GCC unroll 8
    for (int r = 0; r < kMr; ++r) {
      v[r][NZ] = _mm512_castsi256_si512(ymm_requant<E::kFbgemm, E::kCap>(
          _mm512_castsi512_si256(acc[r * NB + NZ]), m, bv, _mm512_castps512_ps256(q.cap)));
    }
  }
  const int n_valid = g->n - panel * kNr;
  const int cols = n_valid < NB * kNr ? n_valid : NB * kNr;
  uint8_t* out = b.out + panel * kNr;
  const size_t os = b.out_stride;
  if (NB == 2) {
    // Two rows of 32 columns per 64 bytes.
    const __mmask32 mask = mask32(cols);
#pragma GCC unroll 4
    for (int r = 0; r < kMr; r += 2) {
      const __m512i bytes =
          zmm_pack64<E::kClamp>(v[r][0], v[r][NB - 1], v[r + 1][0], v[r + 1][NB - 1], q);
      const __m256i lo = _mm512_castsi512_si256(bytes);
      const __m256i hi = _mm512_extracti64x4_epi64(bytes, 1);
      if (cols == 32) {
        if (r < b.rows) _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + r * os), lo);
        if (r + 1 < b.rows) _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + (r + 1) * os), hi);
      } else {
        if (r < b.rows) _mm256_mask_storeu_epi8(out + r * os, mask, lo);
        if (r + 1 < b.rows) _mm256_mask_storeu_epi8(out + (r + 1) * os, mask, hi);
      }
    }
  } else {
    // Four rows of 16 columns per 64 bytes.
    const __mmask16 mask = mask16(cols);
#pragma GCC unroll 2
    for (int r = 0; r < kMr; r += 4) {
      const __m512i bytes =
          zmm_pack64<E::kClamp>(v[r][0], v[r + 1][0], v[r + 2][0], v[r + 3][0], q);
      if (r < b.rows) _mm_mask_storeu_epi8(out + r * os, mask, _mm512_castsi512_si128(bytes));
      if (r + 1 < b.rows) {
        _mm_mask_storeu_epi8(out + (r + 1) * os, mask, _mm512_extracti32x4_epi32(bytes, 1));
      }
      if (r + 2 < b.rows) {
        _mm_mask_storeu_epi8(out + (r + 2) * os, mask, _mm512_extracti32x4_epi32(bytes, 2));
      }
      if (r + 3 < b.rows) {
        _mm_mask_storeu_epi8(out + (r + 3) * os, mask, _mm512_extracti32x4_epi32(bytes, 3));
      }
    }
  }
}

// kHalf: the last panel holds at most 8 columns and runs on ymm (products).
template <class E, bool kHalf>
void block(const GemmPacked* g, const Block& b, const ZmmRequant& q) {
  for (int group = 0; group < g->groups; ++group) {
    __m512i acc[16];
    products<4, 4>(g, b, 0, 4 * group, acc);
    requant_group<E>(g, b, 0, 4 * group, acc, q);
    if (b.rows > 4) {
      products<4, 4>(g, b, 4, 4 * group, acc);
      requant_group<E>(g, b, 4, 4 * group, acc, q);
    }
  }
  int p = 4 * g->groups;
  for (; p + 2 <= g->panels; p += 2) {
    __m512i acc[16];
    if (kHalf && p + 2 == g->panels) {
      products<kMr, 2, kHalf>(g, b, 0, p, acc);
      requant_panels<2, E, kHalf>(g, b, p, acc, q);
    } else {
      products<kMr, 2>(g, b, 0, p, acc);
      requant_panels<2, E>(g, b, p, acc, q);
    }
  }
  if (p < g->panels) {
    __m512i acc[8];
    products<kMr, 1, kHalf>(g, b, 0, p, acc);
    requant_panels<1, E, kHalf>(g, b, p, acc, q);
  }
}

// A block of one row (FullyConnected with batch 1, the last row of an odd
// M): 4 panels at a time, without the 8-row tiles' duplicate rows.
template <class E>
[[gnu::noinline]] void single_row(const GemmPacked* g, const Block& b, const ZmmRequant& q) {
  const float* mult = gemm_mult(g);
  const float* bias = gemm_bias(g);
  __m512i acc[4];
  int p = 0;
  for (; p + 4 <= g->panels; p += 4) {
    products<1, 4>(g, b, 0, p, acc);
    __m512i v[4];
#pragma GCC unroll 4
    for (int j = 0; j < 4; ++j) {
      const int c = (p + j) * kNr;
      v[j] = zmm_requant<E::kFbgemm, E::kCap>(acc[j], _mm512_loadu_ps(mult + c),
                                              _mm512_loadu_ps(bias + c), q);
    }
    const __m512i bytes = p < 4 * g->groups
                              ? zmm_pack64_group<E::kClamp>(v[0], v[1], v[2], v[3], q)
                              : zmm_pack64<E::kClamp>(v[0], v[1], v[2], v[3], q);
    _mm512_mask_storeu_epi8(b.out + p * kNr, mask64(g->n - p * kNr), bytes);
  }
  for (; p < g->panels; ++p) {
    products<1, 1>(g, b, 0, p, acc);
    const __m512i v = zmm_requant<E::kFbgemm, E::kCap>(acc[0], _mm512_loadu_ps(mult + p * kNr),
                                                       _mm512_loadu_ps(bias + p * kNr), q);
    const __m512i bytes = zmm_pack64<E::kClamp>(v, v, v, v, q);
    _mm_mask_storeu_epi8(b.out + p * kNr, mask16(g->n - p * kNr), _mm512_castsi512_si128(bytes));
  }
}

// Blocks of rows: row m of segment s at seg[s] + m * stride.
template <class E>
void blocks(const GemmPacked* g, const uint8_t* const* seg, int segs, size_t stride, int rows,
            uint8_t* out, size_t out_stride, bool copy, void* scratch) {
  const ZmmRequant q = zmm_requant_setup(g->out_zp, g->out_min, g->out_max);
  const bool half = g->n - (g->panels - 1) * kNr <= kNr / 2;
  for (int m = 0; m < rows; m += kMr) {
    Block b;
    b.rows = rows - m < kMr ? rows - m : kMr;
    b.segs = segs;
    b.seg_groups = g->k_pad / 4 / segs;
    b.out = out + m * out_stride;
    b.out_stride = out_stride;
    size_t first = m * stride, step = stride;
    const uint8_t* a = seg[0];
    if (copy) {
      // Rows must hold k_pad bytes: copy them out zero-padded.
      uint8_t* buf = static_cast<uint8_t*>(scratch);
      for (int i = 0; i < b.rows; ++i) {
        std::memcpy(buf + i * g->k_pad, a + first + i * stride, g->k);
        std::memset(buf + i * g->k_pad + g->k, 0, g->k_pad - g->k);
      }
      a = buf;
      first = 0;
      step = g->k_pad;
    }
    b.seg = segs == 1 ? &a : seg;
    for (int r = 0; r < kMr; ++r) b.off[r] = first + (r < b.rows ? r : b.rows - 1) * step;
    if (b.rows == 1) {
      single_row<E>(g, b, q);
    } else if (half) {
      block<E, true>(g, b, q);
    } else {
      block<E, false>(g, b, q);
    }
  }
}

template <class E>
struct Rows {
  static void run(const GemmRows& r) {
    const bool copy = !r.a_padded && r.g->k != r.g->k_pad;
    blocks<E>(r.g, &r.a, 1, r.a_stride, r.rows, r.out, r.out_stride, copy, r.scratch);
  }
};

template <class E>
struct SegRows {
  static void run(const GemmSegRows& r) {
    blocks<E>(r.g, r.seg, r.segs, r.a_stride, r.rows, r.out, r.out_stride, false, nullptr);
  }
};

// F<Epi<...>>::run(x) for the flags of g.
template <template <class> class F, class X>
void dispatch(const GemmPacked* g, const X& x) {
  const bool fbgemm = g->profile == static_cast<int32_t>(Profile::fbgemm);
  const bool clamp = g->out_min != 0 || g->out_max != 255;
  if (g->needs_cap) {
    // Rare (multipliers above 1/2 or huge biases): one variant serves all.
    fbgemm ? F<Epi<true, true, true>>::run(x) : F<Epi<false, true, true>>::run(x);
  } else if (fbgemm) {
    clamp ? F<Epi<true, false, true>>::run(x) : F<Epi<true, false, false>>::run(x);
  } else {
    clamp ? F<Epi<false, false, true>>::run(x) : F<Epi<false, false, false>>::run(x);
  }
}

void rows(const GemmRows& r) { dispatch<Rows>(r.g, r); }
void seg_rows(const GemmSegRows& r) { dispatch<SegRows>(r.g, r); }

size_t scratch_bytes(int k) { return round_up(static_cast<size_t>(kMr) * round_up(k, 4), 64); }

}  // namespace

const GemmTier kGemmTierAvx512vnni = {{kNr, 4, false, true}, kMr, &rows, &scratch_bytes,
                                       &seg_rows};

}  // namespace qrt::kernels::x86
