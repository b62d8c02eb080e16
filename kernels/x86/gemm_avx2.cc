// GEMM microkernels on AVX2: gemm_u8s8_4x16_avx2.
//
// vpmaddubsw would add pairs of u8 x s8 products in saturating int16, and
// 2 * 255 * -128 does not fit (NUMERICS.md, "Why 0..127"); activations here
// span the full 0..255. So rows of A are widened to int16 once per row block
// (into scratch) and the weights are packed as int16: vpmaddwd multiplies
// int16 pairs into an exact int32 (|a * w| <= 255 * 128, two of them fit),
// then vpaddd accumulates, wrapping like the reference's int32 sum.
//
// Register tile: 4 rows x 2 panels of 8 columns = 8 int32 accumulators. Per
// k pair, each row broadcasts (a[m][k], a[m][k+1]) as two int16 and each
// panel supplies (w[n][k], w[n][k+1]) for 8 columns.
#include <immintrin.h>

#include "kernels/x86/layout.h"
#include "kernels/x86/requant_avx2.h"

namespace qrt::kernels::x86 {
namespace {

constexpr int kMr = 4;
constexpr int kNb = 2;
constexpr int kNr = 8;

// Where a row block's int16 A lives: row r, k pair kp of segment s at byte
// seg[s] + off + r * stride + kp * 4 (one segment of k_pad values for a
// plain GEMM).
struct ASegs {
  const uint8_t* const* seg;
  int segs;
  int seg_pairs;
  size_t off;
  size_t stride;
};

template <int MR, int NB, bool kFbgemm, bool kCap>
void tile(const GemmPacked* g, const ASegs& as, int panel, uint8_t* out, size_t out_stride,
          int n_valid, const YmmRequant& q) {
  static_assert(NB == 1 || NB == 2, "the epilogue packs 2 rows x 2 panels or 4 rows x 1");
  const uint8_t* w = gemm_weights(g) + g->panel_bytes * panel;
  const size_t panel_bytes = g->panel_bytes;
  const size_t a_stride = as.stride;
  const int32_t* init = gemm_init(g) + panel * kNr;
  __m256i acc[MR][NB];
#pragma GCC unroll 2
  for (int j = 0; j < NB; ++j) {
    const __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(init + j * kNr));
#pragma GCC unroll 8
    for (int r = 0; r < MR; ++r) acc[r][j] = v;
  }
  for (int s = 0; s < as.segs; ++s) {
    const uint8_t* a = as.seg[s] + as.off;
    for (int kp = 0; kp < as.seg_pairs; ++kp, w += 32) {
      __m256i wv[NB];
#pragma GCC unroll 2
      for (int j = 0; j < NB; ++j) {
        wv[j] = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(w + j * panel_bytes));
      }
#pragma GCC unroll 8
      for (int r = 0; r < MR; ++r) {
        const __m256i av = ymm_broadcast_i32(a + r * a_stride + kp * 4);
#pragma GCC unroll 2
        for (int j = 0; j < NB; ++j) {
          acc[r][j] = _mm256_add_epi32(acc[r][j], _mm256_madd_epi16(av, wv[j]));
        }
      }
    }
  }
  const float* mult = gemm_mult(g) + panel * kNr;
  const float* bias = gemm_bias(g) + panel * kNr;
  __m256i v[MR][NB];
#pragma GCC unroll 2
  for (int j = 0; j < NB; ++j) {
    const __m256 m = _mm256_loadu_ps(mult + j * kNr);
    const __m256 b = _mm256_loadu_ps(bias + j * kNr);
#pragma GCC unroll 8
    for (int r = 0; r < MR; ++r) v[r][j] = ymm_requant<kFbgemm, kCap>(acc[r][j], m, b, q);
  }
  const int cols = n_valid < NB * kNr ? n_valid : NB * kNr;
  if (NB == 2) {
    // Two rows of 16 columns per 32 bytes.
#pragma GCC unroll 4
    for (int r = 0; r < MR; r += 2) {
      const int r1 = r + 1 < MR ? r + 1 : r;
      const __m256i bytes = ymm_pack32(v[r][0], v[r][NB - 1], v[r1][0], v[r1][NB - 1], q);
      store_bytes16(out + r * out_stride, _mm256_castsi256_si128(bytes), cols);
      if (r1 != r) store_bytes16(out + r1 * out_stride, _mm256_extracti128_si256(bytes, 1), cols);
    }
  } else {
    // Four rows of 8 columns per 32 bytes.
#pragma GCC unroll 2
    for (int r = 0; r < MR; r += 4) {
      const int r1 = r + 1 < MR ? r + 1 : r;
      const int r2 = r + 2 < MR ? r + 2 : r;
      const int r3 = r + 3 < MR ? r + 3 : r;
      const __m256i bytes = ymm_pack32(v[r][0], v[r1][0], v[r2][0], v[r3][0], q);
      const __m128i b01 = _mm256_castsi256_si128(bytes);
      const __m128i b23 = _mm256_extracti128_si256(bytes, 1);
      store_bytes16(out + r * out_stride, b01, cols);
      if (r1 != r) store_bytes16(out + r1 * out_stride, _mm_unpackhi_epi64(b01, b01), cols);
      if (r2 != r) store_bytes16(out + r2 * out_stride, b23, cols);
      if (r3 != r) store_bytes16(out + r3 * out_stride, _mm_unpackhi_epi64(b23, b23), cols);
    }
  }
}

template <int MR, bool kFbgemm, bool kCap>
void row_block(const GemmPacked* g, const ASegs& as, uint8_t* out, size_t out_stride,
               const YmmRequant& q) {
  int p = 0;
  for (; p + kNb <= g->panels; p += kNb) {
    tile<MR, kNb, kFbgemm, kCap>(g, as, p, out + p * kNr, out_stride, g->n - p * kNr, q);
  }
  for (; p < g->panels; ++p) {
    tile<MR, 1, kFbgemm, kCap>(g, as, p, out + p * kNr, out_stride, g->n - p * kNr, q);
  }
}

// row_block<mr> for a run-time mr in [1, MR].
template <int MR, bool kFbgemm, bool kCap>
void row_block_for(int mr, const GemmPacked* g, const ASegs& as, uint8_t* out, size_t out_stride,
                   const YmmRequant& q) {
  if constexpr (MR > 1) {
    if (mr < MR) return row_block_for<MR - 1, kFbgemm, kCap>(mr, g, as, out, out_stride, q);
  }
  row_block<MR, kFbgemm, kCap>(g, as, out, out_stride, q);
}

// n readable bytes of src -> k_pad int16, zero past n.
void widen_row(const uint8_t* src, int n, int k_pad, int16_t* dst) {
  int i = 0;
  for (; i + 16 <= n; i += 16) {
    const __m128i b = _mm_loadu_si128(reinterpret_cast<const __m128i*>(src + i));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst + i), _mm256_cvtepu8_epi16(b));
  }
  for (; i < n; ++i) dst[i] = src[i];
  for (; i < k_pad; ++i) dst[i] = 0;
}

template <bool kFbgemm, bool kCap>
void rows_impl(const GemmRows& r) {
  const GemmPacked* g = r.g;
  const YmmRequant q = ymm_requant_setup(g->out_zp, g->out_min, g->out_max);
  int16_t* a16 = static_cast<int16_t*>(r.scratch);
  const int readable = r.a_padded ? g->k_pad : g->k;
  for (int m = 0; m < r.rows; m += kMr) {
    const int mr = r.rows - m < kMr ? r.rows - m : kMr;
    for (int i = 0; i < mr; ++i) {
      widen_row(r.a + (m + i) * r.a_stride, readable, g->k_pad, a16 + i * g->k_pad);
    }
    uint8_t* out = r.out + m * r.out_stride;
    const uint8_t* a = reinterpret_cast<const uint8_t*>(a16);
    const ASegs as = {&a, 1, g->k_pad / 2, 0, static_cast<size_t>(g->k_pad) * sizeof(int16_t)};
    row_block_for<kMr, kFbgemm, kCap>(mr, g, as, out, r.out_stride, q);
  }
}

// The segments already hold int16 (the conv driver widens while it copies).
template <bool kFbgemm, bool kCap>
void seg_rows_impl(const GemmSegRows& r) {
  const GemmPacked* g = r.g;
  const YmmRequant q = ymm_requant_setup(g->out_zp, g->out_min, g->out_max);
  ASegs as = {r.seg, r.segs, g->k_pad / 2 / r.segs, 0, r.a_stride};
  for (int m = 0; m < r.rows; m += kMr) {
    const int mr = r.rows - m < kMr ? r.rows - m : kMr;
    as.off = m * r.a_stride;
    row_block_for<kMr, kFbgemm, kCap>(mr, g, as, r.out + m * r.out_stride, r.out_stride, q);
  }
}

void seg_rows(const GemmSegRows& r) {
  const bool fbgemm = r.g->profile == static_cast<int32_t>(Profile::fbgemm);
  if (fbgemm) {
    r.g->needs_cap ? seg_rows_impl<true, true>(r) : seg_rows_impl<true, false>(r);
  } else {
    r.g->needs_cap ? seg_rows_impl<false, true>(r) : seg_rows_impl<false, false>(r);
  }
}

void rows(const GemmRows& r) {
  const bool fbgemm = r.g->profile == static_cast<int32_t>(Profile::fbgemm);
  if (fbgemm) {
    r.g->needs_cap ? rows_impl<true, true>(r) : rows_impl<true, false>(r);
  } else {
    r.g->needs_cap ? rows_impl<false, true>(r) : rows_impl<false, false>(r);
  }
}

size_t scratch_bytes(int k) {
  return round_up(static_cast<size_t>(kMr) * round_up(k, 2) * sizeof(int16_t), 64);
}

}  // namespace

const GemmTier kGemmTierAvx2 = {{kNr, 2, true}, kMr, &rows, &scratch_bytes, &seg_rows};

}  // namespace qrt::kernels::x86
