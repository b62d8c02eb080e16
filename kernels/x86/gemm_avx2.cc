// GEMM microkernels on AVX2: gemm_u8s8_6x16_avx2.
//
// vpmaddubsw adds pairs of u8 x s8 products in saturating int16, and
// 2 * 255 * -128 does not fit (NUMERICS.md, "Why 0..127"). A packed GEMM
// therefore takes one of two forms (layout.h, u8_when_safe):
//  - int16: rows of A are widened to int16 once per row block (into
//    scratch) and the weights are packed as int16: vpmaddwd multiplies
//    int16 pairs into an exact int32 (|a * w| <= 255 * 128, two of them
//    fit), then vpaddd accumulates, wrapping like the reference's int32 sum.
//    16 products per two uops.
//  - u8 (fbgemm profile, or weights whose pairs cannot saturate): vpmaddubsw
//    on A in place, vpmaddwd by ones to int32, vpaddd: 32 products per three
//    uops. Exact when the pairs cannot saturate or when every activation of
//    the row block is at most 127 (2 * 127 * 128 fits), which the fbgemm
//    profile's 0..127 calibration makes the rule. A row block with a larger
//    value is split, a = (a & 127) + 128 * (a >> 7): both parts pass
//    vpmaddubsw exactly (the second's pairs are at most 2 * 128), and
//    vpmaddwd scales the second by 128.
//  - u8 scheduled (qnnpack weights with a few unsafe pairs): the same u8
//    steps, in place on full-range A, where the pack repeats each unsafe k
//    group with its pairs split into single products (layout.h). Costs at
//    most a quarter more steps, and saves the int16 path's widening copy
//    and a third of its uops per product. Steps whose weights are small
//    enough run as fused pairs: two vpmaddubsw, a vpaddw, then one vpmaddwd
//    for both, 64 products per 5 uops (trained weights mostly fuse). fbgemm
//    GEMMs whose steps fuse are scheduled too, their pairs exact for
//    0..127: rows with a larger byte run them split, like the dense steps.
//
// Register tile: 6 rows x 2 panels of 8 columns = 12 int32 accumulators
// (with 4 rows, a short k spent 40% of the instructions outside the k loop).
// Per step, each row broadcasts 4 bytes of A (two int16 or four u8) and each
// panel supplies the matching 8 columns x 4 bytes of weights. The tile is
// inlined into the loop over a row block's panels.
#include <immintrin.h>

#include <cstring>

#include "kernels/x86/layout.h"
#include "kernels/x86/requant_avx2.h"

namespace qrt::kernels::x86 {
namespace {

constexpr int kMr = 6;
constexpr int kNb = 2;
constexpr int kNr = 8;

enum class Mode { kWide, kU8, kSplit };

// Where a row block's A lives: row r, step i of segment s at byte
// seg[s] + off + r * stride + 4 * i (one segment of k_pad values for a
// plain GEMM). kSplit: the a >> 7 bytes lie hi bytes after the a & 127
// bytes.
struct ASegs {
  const uint8_t* const* seg;
  int segs;
  int seg_steps;
  size_t off;
  size_t stride;
  size_t hi;
};

alignas(32) constexpr int16_t kOnes16[16] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1};

// One step: row r's 4 bytes at a + r * a_stride + i * 4 times the panels'
// weights wv, into acc.
template <int MR, int NB, Mode M>
inline __attribute__((always_inline)) void step(__m256i (&acc)[MR][NB], const __m256i (&wv)[NB],
                                                const uint8_t* a, size_t a_stride, size_t hi,
                                                int i) {
  const __m256i ones = _mm256_set1_epi16(1);
  const __m256i c128 = _mm256_set1_epi16(128);
#pragma GCC unroll 8
  for (int r = 0; r < MR; ++r) {
    const __m256i av = ymm_broadcast_i32(a + r * a_stride + i * 4);
    if (M == Mode::kWide) {
#pragma GCC unroll 2
      for (int j = 0; j < NB; ++j) {
        acc[r][j] = _mm256_add_epi32(acc[r][j], _mm256_madd_epi16(av, wv[j]));
      }
    } else if (M == Mode::kU8) {
#pragma GCC unroll 2
      for (int j = 0; j < NB; ++j) {
        __m256i pairs = _mm256_maddubs_epi16(av, wv[j]);
        // The ones from memory: a register for them would push one of the
        // 6 x 2 accumulators onto the stack.
        __asm__("vpmaddwd %1, %0, %0" : "+x"(pairs) : "m"(kOnes16));
        acc[r][j] = _mm256_add_epi32(acc[r][j], pairs);
      }
    } else {
      const __m256i ah = ymm_broadcast_i32(a + hi + r * a_stride + i * 4);
#pragma GCC unroll 2
      for (int j = 0; j < NB; ++j) {
        const __m256i lo = _mm256_madd_epi16(_mm256_maddubs_epi16(av, wv[j]), ones);
        const __m256i h = _mm256_madd_epi16(_mm256_maddubs_epi16(ah, wv[j]), c128);
        acc[r][j] = _mm256_add_epi32(acc[r][j], _mm256_add_epi32(lo, h));
      }
    }
  }
}

// A fused pair of u8 steps (layout.h): row r's 4 bytes at step i and at
// step i2, times the weights at w (NB vectors of step i, then NB of i2);
// the int16 pair sums add in int16, and one vpmaddwd widens both. kSplit:
// then the same for the a >> 7 bytes, scaled by 128. The weights come from
// memory: with 12 accumulators, two broadcasts, the ones and a sum in
// registers, none are left for them.
template <int MR, int NB, Mode M>
inline __attribute__((always_inline)) void step_pair(__m256i (&acc)[MR][NB], const uint8_t* w,
                                                     const uint8_t* a, size_t a_stride, size_t hi,
                                                     int i, int i2) {
  const __m256i ones = _mm256_set1_epi16(1);
#pragma GCC unroll 8
  for (int r = 0; r < MR; ++r) {
#pragma GCC unroll 2
    for (int part = 0; part < (M == Mode::kSplit ? 2 : 1); ++part) {
      const uint8_t* ar = a + part * hi + r * a_stride;
      const __m256i av = ymm_broadcast_i32(ar + i * 4);
      const __m256i av2 = ymm_broadcast_i32(ar + i2 * 4);
      const __m256i scale = part == 0 ? ones : _mm256_set1_epi16(128);
#pragma GCC unroll 2
      for (int j = 0; j < NB; ++j) {
        // asm, so that the compiler neither keeps the weights in registers
        // nor merges the loads of different rows.
        __m256i p, p2;
        __asm__("vpmaddubsw %1, %2, %0" : "=x"(p) : "m"(*(const __m256i*)(w + 32 * j)), "x"(av));
        __asm__("vpmaddubsw %1, %2, %0"
                : "=x"(p2)
                : "m"(*(const __m256i*)(w + 32 * (NB + j))), "x"(av2));
        acc[r][j] =
            _mm256_add_epi32(acc[r][j], _mm256_madd_epi16(_mm256_add_epi16(p, p2), scale));
      }
    }
  }
}

// kSched: the packed GEMM is scheduled (layout.h); M is kU8, or kSplit for
// a fbgemm schedule on rows with a byte above 127.
template <int MR, int NB, Mode M, bool kFbgemm, bool kCap, bool kSched>
inline __attribute__((always_inline)) void tile(const GemmPacked* g, const ASegs& as, int panel,
                                                uint8_t* out, size_t out_stride, int n_valid,
                                                const YmmRequant& q) {
  static_assert(NB == 1 || NB == 2, "the epilogue packs 2 rows x 2 panels or 4 rows x 1");
  static_assert(!kSched || M != Mode::kWide, "a schedule's steps are u8");
  const int32_t* init = gemm_init(g) + panel * kNr;
  __m256i acc[MR][NB];
#pragma GCC unroll 2
  for (int j = 0; j < NB; ++j) {
    const __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(init + j * kNr));
#pragma GCC unroll 8
    for (int r = 0; r < MR; ++r) acc[r][j] = v;
  }
  if (kSched) {
    const uint32_t* start = gemm_sched(g);
    const int blocks = gemm_sched_blocks(g);
    const int block = panel / kSchedPanels;
    const uint32_t* groups = start + 2 * blocks + 1;
    const uint32_t* pair = groups + start[block];
    const uint32_t* pair_end = pair + 2 * start[blocks + 1 + block];
    const uint32_t* next = pair_end;
    const uint32_t* end = groups + start[block + 1];
    const uint8_t* wp = gemm_weights(g) + static_cast<size_t>(kSchedPanels) * 32 * start[block];
    const uint8_t* w = wp + (pair_end - pair) * 32 * NB;
    const auto run_pair = [&](const uint8_t* a, uint32_t i, uint32_t i2) {
      step_pair<MR, NB, M>(acc, wp, a, as.stride, as.hi, static_cast<int>(i), static_cast<int>(i2));
      wp += 64 * NB;
    };
    const auto run = [&](const uint8_t* a, uint32_t step_index) {
      __m256i wv[NB];
#pragma GCC unroll 2
      for (int j = 0; j < NB; ++j) {
        wv[j] = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(w + 32 * j));
      }
      step<MR, NB, M>(acc, wv, a, as.stride, as.hi, static_cast<int>(step_index));
      w += 32 * NB;
    };
    if (as.segs == 1) {
      const uint8_t* a = as.seg[0] + as.off;
      for (; pair != pair_end; pair += 2) run_pair(a, pair[0], pair[1]);
      for (; next != end; ++next) run(a, *next);
    } else {
      // Both lists are in k order, and a pair lies in one segment: each
      // segment takes the steps below its end.
      uint32_t first = 0;
      for (int s = 0; s < as.segs; ++s, first += as.seg_steps) {
        const uint8_t* a = as.seg[s] + as.off;
        const uint32_t limit = first + as.seg_steps;
        for (; pair != pair_end && pair[0] < limit; pair += 2) {
          run_pair(a, pair[0] - first, pair[1] - first);
        }
        for (; next != end && *next < limit; ++next) run(a, *next - first);
      }
    }
  } else {
    const uint8_t* w = gemm_weights(g) + g->panel_bytes * panel;
    const size_t panel_bytes = g->panel_bytes;
    const auto run = [&](const uint8_t* a, int i) {
      __m256i wv[NB];
#pragma GCC unroll 2
      for (int j = 0; j < NB; ++j) {
        wv[j] = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(w + j * panel_bytes));
      }
      step<MR, NB, M>(acc, wv, a, as.stride, as.hi, i);
      w += 32;
    };
    if (as.segs == 1) {
      const uint8_t* a = as.seg[0] + as.off;
      for (int i = 0; i < as.seg_steps; ++i) run(a, i);
    } else {
      for (int s = 0; s < as.segs; ++s) {
        const uint8_t* a = as.seg[s] + as.off;
        for (int i = 0; i < as.seg_steps; ++i) run(a, i);
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

template <int MR, Mode M, bool kFbgemm, bool kCap, bool kSched>
void row_block(const GemmPacked* g, const ASegs& as, uint8_t* out, size_t out_stride,
               const YmmRequant& q_in) {
  static_assert(kNb == kSchedPanels, "a schedule's block is one tile wide");
  // A local copy: the output stores cannot alias it, so its vectors stay in
  // registers across the tiles.
  const YmmRequant q = q_in;
  int p = 0;
  for (; p + kNb <= g->panels; p += kNb) {
    tile<MR, kNb, M, kFbgemm, kCap, kSched>(g, as, p, out + p * kNr, out_stride, g->n - p * kNr,
                                            q);
  }
  for (; p < g->panels; ++p) {
    tile<MR, 1, M, kFbgemm, kCap, kSched>(g, as, p, out + p * kNr, out_stride, g->n - p * kNr, q);
  }
}

// row_block<mr> for a run-time mr in [1, MR].
template <int MR, Mode M, bool kFbgemm, bool kCap, bool kSched = false>
void row_block_for(int mr, const GemmPacked* g, const ASegs& as, uint8_t* out, size_t out_stride,
                   const YmmRequant& q) {
  if constexpr (MR > 1) {
    if (mr < MR) {
      return row_block_for<MR - 1, M, kFbgemm, kCap, kSched>(mr, g, as, out, out_stride, q);
    }
  }
  row_block<MR, M, kFbgemm, kCap, kSched>(g, as, out, out_stride, q);
}

// A row block of u8 steps (M is kU8 or kSplit), dense or scheduled.
template <Mode M, bool kFbgemm, bool kCap>
void u8_row_block(int mr, const GemmPacked* g, const ASegs& as, uint8_t* out, size_t out_stride,
                  const YmmRequant& q) {
  if (g->scheduled) {
    return row_block_for<kMr, M, kFbgemm, kCap, true>(mr, g, as, out, out_stride, q);
  }
  row_block_for<kMr, M, kFbgemm, kCap>(mr, g, as, out, out_stride, q);
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

// Whether all n bytes at p are below 128. Reads only those bytes: the last
// pieces overlap the previous ones.
bool below_128(const uint8_t* p, size_t n) {
  if (n >= 32) {
    __m256i any = _mm256_setzero_si256();
    size_t i = 0;
    for (; i + 32 <= n; i += 32) {
      any = _mm256_or_si256(any, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + i)));
    }
    any = _mm256_or_si256(any, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + n - 32)));
    return _mm256_movemask_epi8(any) == 0;
  }
  uint64_t any = 0;
  if (n >= 8) {
    for (size_t i = 0; i + 8 <= n; i += 8) {
      uint64_t v;
      std::memcpy(&v, p + i, 8);
      any |= v;
    }
    uint64_t v;
    std::memcpy(&v, p + n - 8, 8);
    any |= v;
  } else {
    for (size_t i = 0; i < n; ++i) any |= p[i];
  }
  return (any & 0x8080808080808080ull) == 0;
}

// Rows of segs segments of seg_bytes (segment s of row r at
// seg[s] + off + r * stride), one after the other: a & 127 to dst + r * pitch,
// a >> 7 to dst + hi + r * pitch.
void split_rows(const uint8_t* const* seg, int segs, size_t off, size_t stride, int rows,
                int seg_bytes, int pitch, uint8_t* dst, size_t hi) {
  for (int r = 0; r < rows; ++r) {
    for (int s = 0; s < segs; ++s) {
      const uint8_t* src = seg[s] + off + r * stride;
      uint8_t* lo = dst + r * pitch + s * seg_bytes;
      for (int i = 0; i < seg_bytes; ++i) {
        lo[i] = src[i] & 127;
        lo[hi + i] = src[i] >> 7;
      }
    }
  }
}

template <bool kFbgemm, bool kCap>
void rows_impl(const GemmRows& r) {
  const GemmPacked* g = r.g;
  const YmmRequant q = ymm_requant_setup(g->out_zp, g->out_min, g->out_max);
  const int readable = r.a_padded ? g->k_pad : g->k;
  uint8_t* buf = static_cast<uint8_t*>(r.scratch);
  for (int m = 0; m < r.rows; m += kMr) {
    const int mr = r.rows - m < kMr ? r.rows - m : kMr;
    const uint8_t* a = r.a + m * r.a_stride;
    uint8_t* out = r.out + m * r.out_stride;
    if (g->kr == 2) {
      int16_t* a16 = reinterpret_cast<int16_t*>(buf);
      for (int i = 0; i < mr; ++i) {
        widen_row(a + i * r.a_stride, readable, g->k_pad, a16 + i * g->k_pad);
      }
      const uint8_t* staged = buf;
      const ASegs as = {&staged, 1, g->k_pad / 2, 0, static_cast<size_t>(g->k_pad) * 2, 0};
      row_block_for<kMr, Mode::kWide, kFbgemm, kCap>(mr, g, as, out, r.out_stride, q);
    } else if (g->pairs_safe || below_128(a, (mr - 1) * r.a_stride + readable)) {
      ASegs as = {&a, 1, g->k_pad / 4, 0, r.a_stride, 0};
      const uint8_t* staged = buf;
      if (readable != g->k_pad) {
        // Rows must hold k_pad bytes: copy them out zero-padded.
        for (int i = 0; i < mr; ++i) {
          std::memcpy(buf + i * g->k_pad, a + i * r.a_stride, g->k);
          std::memset(buf + i * g->k_pad + g->k, 0, g->k_pad - g->k);
        }
        as.seg = &staged;
        as.stride = g->k_pad;
      }
      u8_row_block<Mode::kU8, kFbgemm, kCap>(mr, g, as, out, r.out_stride, q);
    } else {
      const size_t hi = static_cast<size_t>(kMr) * g->k_pad;
      std::memset(buf, 0, 2 * hi);
      split_rows(&a, 1, 0, r.a_stride, mr, readable, g->k_pad, buf, hi);
      const uint8_t* staged = buf;
      const ASegs as = {&staged, 1, g->k_pad / 4, 0, static_cast<size_t>(g->k_pad), hi};
      u8_row_block<Mode::kSplit, kFbgemm, kCap>(mr, g, as, out, r.out_stride, q);
    }
  }
}

// The segments already hold int16 when the GEMM is (the conv driver widens
// while it copies).
template <bool kFbgemm, bool kCap>
void seg_rows_impl(const GemmSegRows& r) {
  const GemmPacked* g = r.g;
  const YmmRequant q = ymm_requant_setup(g->out_zp, g->out_min, g->out_max);
  const int seg_bytes = g->k_pad / r.segs * (g->kr == 2 ? 2 : 1);
  ASegs as = {r.seg, r.segs, seg_bytes / 4, 0, r.a_stride, 0};
  for (int m = 0; m < r.rows; m += kMr) {
    const int mr = r.rows - m < kMr ? r.rows - m : kMr;
    as.off = m * r.a_stride;
    uint8_t* out = r.out + m * r.out_stride;
    if (g->kr == 2) {
      row_block_for<kMr, Mode::kWide, kFbgemm, kCap>(mr, g, as, out, r.out_stride, q);
      continue;
    }
    bool in_place = true;
    for (int s = 0; s < r.segs && in_place && !g->pairs_safe; ++s) {
      in_place = below_128(r.seg[s] + as.off, (mr - 1) * r.a_stride + seg_bytes);
    }
    if (in_place) {
      u8_row_block<Mode::kU8, kFbgemm, kCap>(mr, g, as, out, r.out_stride, q);
    } else {
      uint8_t* buf = static_cast<uint8_t*>(r.scratch);
      const size_t hi = static_cast<size_t>(kMr) * g->k_pad;
      split_rows(r.seg, r.segs, as.off, r.a_stride, mr, seg_bytes, g->k_pad, buf, hi);
      const uint8_t* staged = buf;
      const ASegs split = {&staged, 1, g->k_pad / 4, 0, static_cast<size_t>(g->k_pad), hi};
      u8_row_block<Mode::kSplit, kFbgemm, kCap>(mr, g, split, out, r.out_stride, q);
    }
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

// The largest of: int16 rows, u8 rows padded to k_pad, split rows (twice).
size_t scratch_bytes(int k) {
  return round_up(static_cast<size_t>(2 * kMr) * round_up(k, 4), 64);
}

}  // namespace

const GemmTier kGemmTierAvx2 = {{kNr, 2, true, false, true}, kMr, &rows, &scratch_bytes,
                                &seg_rows};

}  // namespace qrt::kernels::x86
