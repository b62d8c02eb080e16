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

#include "kernels/arm/layout.h"
#include "kernels/arm/requant_neon.h"

namespace qrt::kernels::arm {
namespace {

constexpr int kMr = 8;
constexpr int kNr = 8;

template <int L>
static inline void group16(int32x4_t (&acc)[kMr][2], const int8x16_t (&a)[kMr], const int8_t* w) {
  const int8x16_t w0 = vld1q_s8(w + L * 32);
  const int8x16_t w1 = vld1q_s8(w + L * 32 + 16);
#pragma GCC unroll 8
  for (int r = 0; r < kMr; ++r) {
    acc[r][0] = vdotq_laneq_s32(acc[r][0], w0, a[r], L);
    acc[r][1] = vdotq_laneq_s32(acc[r][1], w1, a[r], L);
  }
}

template <int L>
static inline void group8(int32x4_t (&acc)[kMr][2], const int8x8_t (&a)[kMr], const int8_t* w) {
  const int8x16_t w0 = vld1q_s8(w + L * 32);
  const int8x16_t w1 = vld1q_s8(w + L * 32 + 16);
#pragma GCC unroll 8
  for (int r = 0; r < kMr; ++r) {
    acc[r][0] = vdotq_lane_s32(acc[r][0], w0, a[r], L);
    acc[r][1] = vdotq_lane_s32(acc[r][1], w1, a[r], L);
  }
}

template <bool kFbgemm>
void tile(const GemmPacked* g, const uint8_t* const* a, int panel, uint8_t* out, size_t out_stride,
          int rows, int cols, const NeonRequant& q) {
  const int8_t* w = gemm_weights(g) + g->panel_bytes * panel;
  const int32_t* init = gemm_init(g) + panel * kNr;
  int32x4_t acc[kMr][2];
  const int32x4_t init0 = vld1q_s32(init);
  const int32x4_t init1 = vld1q_s32(init + 4);
#pragma GCC unroll 8
  for (int r = 0; r < kMr; ++r) {
    acc[r][0] = init0;
    acc[r][1] = init1;
  }
  const uint8x16_t flip = vdupq_n_u8(0x80);
  const int k_pad = g->k_pad;
  int k = 0;
  for (; k + 16 <= k_pad; k += 16, w += 16 * kNr) {
    int8x16_t av[kMr];
#pragma GCC unroll 8
    for (int r = 0; r < kMr; ++r) av[r] = vreinterpretq_s8_u8(veorq_u8(vld1q_u8(a[r] + k), flip));
    group16<0>(acc, av, w);
    group16<1>(acc, av, w);
    group16<2>(acc, av, w);
    group16<3>(acc, av, w);
  }
  if (k < k_pad) {  // k_pad is a multiple of 8: one half step left
    int8x8_t av[kMr];
#pragma GCC unroll 8
    for (int r = 0; r < kMr; ++r) {
      av[r] = vreinterpret_s8_u8(veor_u8(vld1_u8(a[r] + k), vget_low_u8(flip)));
    }
    group8<0>(acc, av, w);
    group8<1>(acc, av, w);
  }

  const float* mult = gemm_mult(g) + panel * kNr;
  const float* bias = gemm_bias(g) + panel * kNr;
  if (!g->fast) {
    int32_t spill[kMr][kNr];
    for (int r = 0; r < rows; ++r) {
      vst1q_s32(spill[r], acc[r][0]);
      vst1q_s32(spill[r] + 4, acc[r][1]);
    }
    requant_scalar(&spill[0][0], kNr, rows, cols, mult, bias, g->profile, g->out_zp, g->out_min,
                   g->out_max, out, out_stride);
    return;
  }
  const float32x4_t m0 = vld1q_f32(mult);
  const float32x4_t m1 = vld1q_f32(mult + 4);
  const float32x4_t b0 = vld1q_f32(bias);
  const float32x4_t b1 = vld1q_f32(bias + 4);
#pragma GCC unroll 8
  for (int r = 0; r < kMr; ++r) {
    if (r >= rows) break;
    const uint8x8_t y = neon_pack8(neon_requant<kFbgemm>(acc[r][0], m0, b0, q),
                                   neon_requant<kFbgemm>(acc[r][1], m1, b1, q), q);
    store_bytes8(out + r * out_stride, y, cols);
  }
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
