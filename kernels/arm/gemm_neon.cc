// GEMM microkernels on NEON: gemm_u8s8_8x8_neon (aarch64),
// gemm_u8s8_4x8_neon (armv7).
//
// QNNPACK's scheme: activations and weights are widened to int16 (uxtl /
// sxtl) and vmlal (smlal) multiplies four int16 weight columns by one
// activation lane into four exact int32 sums (|a * w| <= 255 * 128). The
// activation zero point is folded into the packed accumulator start, so the
// raw bytes are used and the int32 sums wrap exactly like the reference's.
//
// Register tile: MR rows x 8 columns = MR x 2 int32x4 accumulators. Per 8 k
// steps, each row loads 8 activation bytes (widened once) and each k step
// widens 8 weight bytes, shared by all rows. aarch64 has 32 vector
// registers: 16 accumulators, 8 activation vectors and the weights; armv7
// has 16 and takes 4 rows.
//
// Rows past the end of the block reuse the last valid row's pointer
// (QNNPACK's trick): one kernel for every row count, results not stored.
#include <arm_neon.h>

#include <cstring>
#include <utility>

#include "kernels/arm/layout.h"
#include "kernels/arm/requant_neon.h"

namespace qrt::kernels::arm {
namespace {

#if defined(__aarch64__)
constexpr int kMr = 8;
#else
constexpr int kMr = 4;
#endif
constexpr int kNr = 8;

// acc += w[0..3] * a[L] and acc += w[4..7] * a[L].
template <int L>
static inline int32x4_t mla_lo(int32x4_t acc, int16x8_t w, int16x8_t a) {
#if defined(__aarch64__)
  return vmlal_laneq_s16(acc, vget_low_s16(w), a, L);
#else
  if constexpr (L < 4) {
    return vmlal_lane_s16(acc, vget_low_s16(w), vget_low_s16(a), L);
  } else {
    return vmlal_lane_s16(acc, vget_low_s16(w), vget_high_s16(a), L - 4);
  }
#endif
}

template <int L>
static inline int32x4_t mla_hi(int32x4_t acc, int16x8_t w, int16x8_t a) {
#if defined(__aarch64__)
  return vmlal_high_laneq_s16(acc, w, a, L);
#else
  if constexpr (L < 4) {
    return vmlal_lane_s16(acc, vget_high_s16(w), vget_low_s16(a), L);
  } else {
    return vmlal_lane_s16(acc, vget_high_s16(w), vget_high_s16(a), L - 4);
  }
#endif
}

// k steps L and L + 1: 16 weight bytes (8 columns each). Rows unrolled
// through an index sequence so the accumulators stay in registers (see
// gemm_store_tile8).
template <int L, size_t... R>
__attribute__((always_inline)) static inline void k_pair(int32x4_t (&acc)[kMr][2], const int16x8_t (&a)[kMr], const int8_t* w,
                          std::index_sequence<R...>) {
  const int8x16_t wb = vld1q_s8(w + L * kNr);
  const int16x8_t w0 = vmovl_s8(vget_low_s8(wb));
  const int16x8_t w1 = vmovl_s8(vget_high_s8(wb));
  ((acc[R][0] = mla_lo<L>(acc[R][0], w0, a[R]), acc[R][1] = mla_hi<L>(acc[R][1], w0, a[R])), ...);
  ((acc[R][0] = mla_lo<L + 1>(acc[R][0], w1, a[R]),
    acc[R][1] = mla_hi<L + 1>(acc[R][1], w1, a[R])),
   ...);
}

// 8 k steps: 8 activation bytes per row, widened once.
template <size_t... R>
__attribute__((always_inline)) static inline void step8(int32x4_t (&acc)[kMr][2], const uint8_t* const* a, int k,
                         const int8_t* w, std::index_sequence<R...> rows) {
  const int16x8_t av[kMr] = {vreinterpretq_s16_u16(vmovl_u8(vld1_u8(a[R] + k)))...};
  k_pair<0>(acc, av, w, rows);
  k_pair<2>(acc, av, w, rows);
  k_pair<4>(acc, av, w, rows);
  k_pair<6>(acc, av, w, rows);
}

template <size_t... R>
__attribute__((always_inline)) static inline void init_tile(int32x4_t (&acc)[kMr][2], const int32_t* init,
                             std::index_sequence<R...>) {
  const int32x4_t init0 = vld1q_s32(init);
  const int32x4_t init1 = vld1q_s32(init + 4);
  ((acc[R][0] = init0, acc[R][1] = init1), ...);
}

template <bool kFbgemm>
void tile(const GemmPacked* g, const uint8_t* const* a, int panel, uint8_t* out, size_t out_stride,
          int rows, int cols, const NeonRequant& q) {
  constexpr auto kRows = std::make_index_sequence<kMr>();
  const int8_t* w = gemm_weights(g) + g->panel_bytes * panel;
  int32x4_t acc[kMr][2];
  init_tile(acc, gemm_init(g) + panel * kNr, kRows);
  const int k_pad = g->k_pad;
  for (int k = 0; k < k_pad; k += 8, w += 8 * kNr) step8(acc, a, k, w, kRows);
  gemm_store_tile8<kFbgemm>(acc, g, panel, out, out_stride, rows, cols, q, kRows);
}

template <bool kFbgemm>
void rows_impl(const GemmRows& r) {
  const GemmPacked* g = r.g;
  const NeonRequant q = neon_requant_setup(g->out_zp, g->out_min, g->out_max);
  const size_t k_pad = static_cast<size_t>(g->k_pad);
  // Rows are read 8 bytes at a time up to k_pad: in place when they hold
  // that many bytes, else copied and zero-padded into scratch.
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

const GemmTier kGemmTierNeon = {{kNr, 1, 0}, kMr, &rows, &scratch_bytes};

}  // namespace qrt::kernels::arm
