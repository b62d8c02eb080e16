// GEMM microkernel on ARMv8.2 dot product: gemm_u8s8_8x8_neondot (aarch64,
// compiled with -march=armv8.2-a+dotprod, called only when AT_HWCAP has
// ASIMDDP).
//
// sdot multiplies signed bytes only (u8 x s8 needs ARMv8.6 usdot), so
// activations enter as a XOR 0x80 = a - 128 and the packed accumulator
// start carries + 128 * sum_k w (GemmLayout::a_offset). Each sdot adds four
// byte products into each int32 lane; |sum| <= 4 * 128 * 128 per step and
// the int32 sums wrap like the reference's.
//
// Register tile: 8 rows x 8 columns = 16 int32x4 accumulators. Weights are
// packed in groups of 4 k steps per column (kr = 4): 16 bytes hold columns
// 0-3, the next 16 columns 4-7. Each row loads 16 activation bytes (4
// groups) and the lane-indexed sdot broadcasts one group to all columns.
#include <arm_neon.h>

#include <cstring>
#include <utility>

#include "kernels/arm/layout.h"
#include "kernels/arm/requant_neon.h"

namespace qrt::kernels::arm {
namespace {

constexpr int kMr = 8;
constexpr int kNr = 8;

// The rows are unrolled through index sequences, not loops, so that the
// accumulators stay in registers (see gemm_store_tile8).
template <int L, size_t... R>
static inline void group16(int32x4_t (&acc)[kMr][2], const int8x16_t (&a)[kMr], const int8_t* w,
                           std::index_sequence<R...>) {
  const int8x16_t w0 = vld1q_s8(w + L * 32);
  const int8x16_t w1 = vld1q_s8(w + L * 32 + 16);
  ((acc[R][0] = vdotq_laneq_s32(acc[R][0], w0, a[R], L),
    acc[R][1] = vdotq_laneq_s32(acc[R][1], w1, a[R], L)), ...);
}

// Half step: 8 bytes of two rows share one register (row 2i in lanes 0-1,
// row 2i + 1 in lanes 2-3), which halves the flips.
template <int L, size_t... P>
static inline void group8x2(int32x4_t (&acc)[kMr][2], const int8x16_t (&a)[kMr / 2],
                            const int8_t* w, std::index_sequence<P...>) {
  const int8x16_t w0 = vld1q_s8(w + L * 32);
  const int8x16_t w1 = vld1q_s8(w + L * 32 + 16);
  ((acc[2 * P][0] = vdotq_laneq_s32(acc[2 * P][0], w0, a[P], L),
    acc[2 * P][1] = vdotq_laneq_s32(acc[2 * P][1], w1, a[P], L),
    acc[2 * P + 1][0] = vdotq_laneq_s32(acc[2 * P + 1][0], w0, a[P], L + 2),
    acc[2 * P + 1][1] = vdotq_laneq_s32(acc[2 * P + 1][1], w1, a[P], L + 2)),
   ...);
}

// One k step of 16 (all rows) or 8 bytes per row: activations flipped to
// signed, then 4 or 2 groups of 4.
template <size_t... R>
static inline void step16(int32x4_t (&acc)[kMr][2], const uint8_t* const* a, int k,
                          const int8_t* w, std::index_sequence<R...> rows) {
  const uint8x16_t flip = vdupq_n_u8(0x80);
  const int8x16_t av[kMr] = {vreinterpretq_s8_u8(veorq_u8(vld1q_u8(a[R] + k), flip))...};
  group16<0>(acc, av, w, rows);
  group16<1>(acc, av, w, rows);
  group16<2>(acc, av, w, rows);
  group16<3>(acc, av, w, rows);
}

template <size_t... P>
static inline void step8(int32x4_t (&acc)[kMr][2], const uint8_t* const* a, int k,
                         const int8_t* w, std::index_sequence<P...> pairs) {
  const uint8x16_t flip = vdupq_n_u8(0x80);
  const int8x16_t av[kMr / 2] = {vreinterpretq_s8_u8(
      veorq_u8(vcombine_u8(vld1_u8(a[2 * P] + k), vld1_u8(a[2 * P + 1] + k)), flip))...};
  group8x2<0>(acc, av, w, pairs);
  group8x2<1>(acc, av, w, pairs);
}

template <bool kFbgemm>
void tile(const GemmPacked* g, const uint8_t* const* a, int panel, uint8_t* out, size_t out_stride,
          int rows, int cols, const NeonRequant& q) {
  constexpr auto kRows = std::make_index_sequence<kMr>();
  const int8_t* w = gemm_weights(g) + g->panel_bytes * panel;
  const int32_t* init = gemm_init(g) + panel * kNr;
  const int32x4_t init0 = vld1q_s32(init);
  const int32x4_t init1 = vld1q_s32(init + 4);
  int32x4_t acc[kMr][2] = {{init0, init1}, {init0, init1}, {init0, init1}, {init0, init1},
                           {init0, init1}, {init0, init1}, {init0, init1}, {init0, init1}};
  // k_pad is a multiple of 8: an odd half step goes first, while the row
  // pointers are being loaded anyway.
  const int k_pad = g->k_pad;
  int k = 0;
  if (k_pad % 16 != 0) {
    step8(acc, a, 0, w, std::make_index_sequence<kMr / 2>());
    k = 8;
    w += 8 * kNr;
  }
  for (; k < k_pad; k += 16, w += 16 * kNr) step16(acc, a, k, w, kRows);

  gemm_store_tile8<kFbgemm>(acc, g, panel, out, out_stride, rows, cols, q, kRows);
}

template <bool kFbgemm>
void rows_impl(const GemmRows& r) {
  const GemmPacked* g = r.g;
  const NeonRequant q = neon_requant_setup(g->out_zp, g->out_min, g->out_max);
  const size_t k_pad = static_cast<size_t>(g->k_pad);
  const bool in_place = r.a_padded || g->k == g->k_pad;
  uint8_t* buf = static_cast<uint8_t*>(r.scratch);
  for (int m = 0; m < r.rows; m += kMr) {
    const int mr = r.rows - m < kMr ? r.rows - m : kMr;
    const uint8_t* a[kMr];
    for (int i = 0; i < mr; ++i) {
      const uint8_t* src = r.a + static_cast<size_t>(m + i) * r.a_stride;
      if (in_place) {
        a[i] = src;
      } else {
        uint8_t* dst = buf + i * k_pad;
        std::memcpy(dst, src, static_cast<size_t>(g->k));
        std::memset(dst + g->k, 0, k_pad - static_cast<size_t>(g->k));
        a[i] = dst;
      }
    }
    for (int i = mr; i < kMr; ++i) a[i] = a[mr - 1];
    uint8_t* out = r.out + static_cast<size_t>(m) * r.out_stride;
    for (int p = 0; p < g->panels; ++p) {
      const int cols = g->n - p * kNr < kNr ? g->n - p * kNr : kNr;
      tile<kFbgemm>(g, a, p, out + p * kNr, r.out_stride, mr, cols, q);
    }
  }
}

void rows(const GemmRows& r) {
  if (r.g->profile == static_cast<int32_t>(Profile::fbgemm)) {
    rows_impl<true>(r);
  } else {
    rows_impl<false>(r);
  }
}

size_t scratch_bytes(int k) {
  return round_up(static_cast<size_t>(kMr) * round_up(static_cast<size_t>(k), kGemmKAlign), 64);
}

}  // namespace

const GemmTier kGemmTierNeonDot = {{kNr, 4, 128}, kMr, &rows, &scratch_bytes};

}  // namespace qrt::kernels::arm
