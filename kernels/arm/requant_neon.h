// Vectorised requantization on NEON (aarch64 and armv7), bit-exact with
// kernels::requantize (kernels/ref/quant_math.h) when the packed parameters
// are `fast` (GemmPacked::fast): every multiplier normal, every float bias
// finite and normal or zero, so v below is never NaN. Every helper has
// internal linkage (see layout.h).
//
//   qnnpack: v = f32(float(acc) * m)            (acc already holds bias_q)
//   fbgemm:  v = f32(f32(float(acc) + bias) * m)
//   y = clamp(rne(v) + zp, lo, hi),  0 <= lo <= hi <= 255
//
// aarch64: fcvtns (vcvtnq) rounds to nearest even and saturates to int32,
// and the narrowing below saturates again (int16, then 0..255); saturation
// is monotonic and lo..hi lies inside every range, so
// clamp(sat(rne(v)) + zp) = clamp(rne(v) + zp) for every v, infinities
// included.
//
// armv7 has no round-to-nearest conversion (vcvt truncates). v is clamped
// in float to [lo - zp, hi - zp] first (exact: the bounds are integers and
// rne is monotonic), then rounded with the magic number 1.5 * 2^23: for
// |v| < 2^22, v + 1.5 * 2^23 lies in [2^23, 2^24) where the float spacing
// is 1, so the addition itself rounds v to nearest even, and the integer is
// the low mantissa bits: bits(v + magic) - bits(magic) = rne(v). armv7 NEON
// flushes subnormals to zero; with fast parameters a subnormal can only be
// a product |v| < 2^-126, which rounds to 0 either way.
#pragma once

#include <arm_neon.h>

#include <cstddef>
#include <cstdint>
#include <utility>

#include "kernels/arm/layout.h"

namespace qrt::kernels::arm {

struct NeonRequant {
  float32x4_t lo_f;  // out_min - out_zp
  float32x4_t hi_f;  // out_max - out_zp
  int16x8_t zp;
  uint8x8_t lo, hi;
};

static inline NeonRequant neon_requant_setup(int32_t out_zp, int32_t out_min, int32_t out_max) {
  NeonRequant q;
  q.lo_f = vdupq_n_f32(static_cast<float>(out_min - out_zp));
  q.hi_f = vdupq_n_f32(static_cast<float>(out_max - out_zp));
  q.zp = vdupq_n_s16(static_cast<int16_t>(out_zp));
  q.lo = vdup_n_u8(static_cast<uint8_t>(out_min));
  q.hi = vdup_n_u8(static_cast<uint8_t>(out_max));
  return q;
}

// Four accumulators -> rne(v) as int32, without the zero point.
template <bool kFbgemm>
static inline int32x4_t neon_requant(int32x4_t acc, float32x4_t mult, float32x4_t bias,
                                     const NeonRequant& q) {
  float32x4_t v = vcvtq_f32_s32(acc);
  if (kFbgemm) v = vaddq_f32(v, bias);
  v = vmulq_f32(v, mult);
#if defined(__aarch64__)
  (void)q;
  return vcvtnq_s32_f32(v);
#else
  v = vminq_f32(vmaxq_f32(v, q.lo_f), q.hi_f);
  const float32x4_t magic = vdupq_n_f32(12582912.0f);
  return vsubq_s32(vreinterpretq_s32_f32(vaddq_f32(v, magic)), vreinterpretq_s32_f32(magic));
#endif
}

// Two vectors of 4 rounded columns (a then b) -> 8 bytes with the zero
// point added and the clamp applied.
static inline uint8x8_t neon_pack8(int32x4_t a, int32x4_t b, const NeonRequant& q) {
  const int16x8_t w = vqaddq_s16(vcombine_s16(vqmovn_s32(a), vqmovn_s32(b)), q.zp);
  return vmin_u8(vmax_u8(vqmovun_s16(w), q.lo), q.hi);
}

// The first n (<= 8) bytes of v to dst.
static inline void store_bytes8(uint8_t* dst, uint8x8_t v, int n) {
  if (n >= 8) {
    vst1_u8(dst, v);
    return;
  }
  uint8_t tmp[8];
  vst1_u8(tmp, v);
  for (int i = 0; i < n; ++i) dst[i] = tmp[i];
}

// Epilogue of the GEMM microkernels: rows [0, rows) and columns [0, cols)
// of an MR x 8 tile of accumulators (acc[r][0] columns 0-3, acc[r][1]
// columns 4-7) requantized with panel `panel`'s parameters and stored. The
// rows are expanded through an index sequence, never a loop over r: with
// constant indices GCC keeps the accumulators in registers (a variable
// index makes it round-trip the whole tile through the stack).
template <bool kFbgemm, int kMr, size_t... R>
static inline void gemm_store_tile8(const int32x4_t (&acc)[kMr][2], const GemmPacked* g, int panel,
                                    uint8_t* out, size_t out_stride, int rows, int cols,
                                    const NeonRequant& q, std::index_sequence<R...>) {
  const float* mult = gemm_mult(g) + panel * 8;
  const float* bias = gemm_bias(g) + panel * 8;
  if (!g->fast) {
    int32_t spill[kMr][8];
    ((vst1q_s32(spill[R], acc[R][0]), vst1q_s32(spill[R] + 4, acc[R][1])), ...);
    requant_scalar(&spill[0][0], 8, rows, cols, mult, bias, g->profile, g->out_zp, g->out_min,
                   g->out_max, out, out_stride);
    return;
  }
  const float32x4_t m0 = vld1q_f32(mult), m1 = vld1q_f32(mult + 4);
  const float32x4_t b0 = vld1q_f32(bias), b1 = vld1q_f32(bias + 4);
  ((static_cast<int>(R) < rows
        ? store_bytes8(out + R * out_stride,
                       neon_pack8(neon_requant<kFbgemm>(acc[R][0], m0, b0, q),
                                  neon_requant<kFbgemm>(acc[R][1], m1, b1, q), q),
                       cols)
        : void()),
   ...);
}

}  // namespace qrt::kernels::arm
