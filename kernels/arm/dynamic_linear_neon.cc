// Dynamic linear on NEON without the dot product (armv7 and aarch64):
// dynamic_linear_u8s8_2x8_neon, and the scan and quantize both ARM tiers
// share (dynamic_linear.h has the numbers).
//
// The k groups of 4 bytes are dynamic_linear_neondot.cc's layout: both
// operands widen to int16 and vmlal_s16 adds a column's 4 products into
// the 4 int32 lanes of that column's own accumulator (exact: |q w| <=
// 255 * 128), and the epilogue adds the lanes pairwise.
//
// armv7 NEON flushes subnormals: its scan is the scalar loop (a flushed
// min or max would change the quantization), and dynamic_linear.cc sends
// calls whose reciprocal scale, weight scales, bias or bounds could meet a
// flushed operand to the reference. A flushed input x or product x * inv
// (|.| < 2^-126, inv <= 2^14) rounds to the same integer either way.
#include <arm_neon.h>

#include <algorithm>
#include <cmath>
#include <cstring>

#include "kernels/arm/dynamic_linear_neon.h"
#include "kernels/dynamic_linear.h"
#include "kernels/dynamic_linear_tile.h"

namespace qrt::kernels::dynlin {
namespace {

int32x4_t add_lanes4(int32x4_t a0, int32x4_t a1, int32x4_t a2, int32x4_t a3) {
#if defined(__aarch64__)
  return vpaddq_s32(vpaddq_s32(a0, a1), vpaddq_s32(a2, a3));
#else
  const int32x2_t s0 = vpadd_s32(vget_low_s32(a0), vget_high_s32(a0));
  const int32x2_t s1 = vpadd_s32(vget_low_s32(a1), vget_high_s32(a1));
  const int32x2_t s2 = vpadd_s32(vget_low_s32(a2), vget_high_s32(a2));
  const int32x2_t s3 = vpadd_s32(vget_low_s32(a3), vget_high_s32(a3));
  return vcombine_s32(vpadd_s32(s0, s1), vpadd_s32(s2, s3));
#endif
}

// One accumulator per column, its lanes the 4 products of a k group.
struct Neon {
#if defined(__aarch64__)
  static constexpr int kMr = 2;
#else
  static constexpr int kMr = 1;  // 16 q registers
#endif
  static constexpr int kNr = 4, kPanels = 2, kSets = 1;
  struct Acc {
    int32x4_t c[4];
  };
  struct W {
    int16x8_t c01, c23;
  };
  using A = int16x4_t;
  using Epilogue = NeonEpilogue;
  static Acc zero() { return {{vdupq_n_s32(0), vdupq_n_s32(0), vdupq_n_s32(0), vdupq_n_s32(0)}}; }
  static Acc add(const Acc& x, const Acc& y) {
    return {{vaddq_s32(x.c[0], y.c[0]), vaddq_s32(x.c[1], y.c[1]), vaddq_s32(x.c[2], y.c[2]),
             vaddq_s32(x.c[3], y.c[3])}};
  }
  static W load_w(const int8_t* w) {
    const int8x16_t raw = vld1q_s8(w);
    return {vmovl_s8(vget_low_s8(raw)), vmovl_s8(vget_high_s8(raw))};
  }
  static A load_a(const uint8_t* a) {
    uint32_t x;
    std::memcpy(&x, a, 4);
    return vget_low_s16(vreinterpretq_s16_u16(vmovl_u8(vreinterpret_u8_u32(vdup_n_u32(x)))));
  }
  static void dot(Acc& acc, const A& a, const W& w) {
    acc.c[0] = vmlal_s16(acc.c[0], vget_low_s16(w.c01), a);
    acc.c[1] = vmlal_s16(acc.c[1], vget_high_s16(w.c01), a);
    acc.c[2] = vmlal_s16(acc.c[2], vget_low_s16(w.c23), a);
    acc.c[3] = vmlal_s16(acc.c[3], vget_high_s16(w.c23), a);
  }
  static void store(const Epilogue& e, const Acc& acc, int col, float* out) {
    neon_store4(e, add_lanes4(acc.c[0], acc.c[1], acc.c[2], acc.c[3]), col, out);
  }
};

void gemm(const Packed* p, const Quant& q, int rows, const uint8_t* a, float* out) {
  gemm_blocks<Neon>(p, neon_epilogue(p, q, 0), rows, a, out);
}

constexpr TierOps kOps = {scan_neon, quantize_neon, gemm, 0};

// Four quantized values as int32, before the clamp: qnnpack rounds x * inv
// and adds zp after, fbgemm rounds fma(x, inv, zp). Inputs are finite and
// within the scanned range, so |value| stays far below 2^22, where armv7's
// magic-number rounding (requant_neon.h) is exact.
int32x4_t round4(const float* in, const Quant& q, float32x4_t inv, float32x4_t zpf) {
  const float32x4_t x = vld1q_f32(in);
  const float32x4_t v = q.qnnpack ? vmulq_f32(x, inv) : vfmaq_f32(zpf, x, inv);
#if defined(__aarch64__)
  const int32x4_t r = vcvtnq_s32_f32(v);
#else
  const float32x4_t magic = vdupq_n_f32(12582912.0f);
  const int32x4_t r =
      vsubq_s32(vreinterpretq_s32_f32(vaddq_f32(v, magic)), vreinterpretq_s32_f32(magic));
#endif
  return q.qnnpack ? vaddq_s32(r, vdupq_n_s32(q.zp)) : r;
}

}  // namespace

Range scan_neon(const float* in, size_t n) {
#if defined(__aarch64__)
  Range r{in[0], in[0], true};
  size_t i = 0;
  if (n >= 4) {
    float32x4_t lo = vld1q_f32(in), hi = lo;
    // x - x is +0 for a finite x and NaN otherwise.
    uint32x4_t bad = vdupq_n_u32(0);
    for (; i + 4 <= n; i += 4) {
      const float32x4_t x = vld1q_f32(in + i);
      lo = vminq_f32(lo, x);
      hi = vmaxq_f32(hi, x);
      bad = vorrq_u32(bad, vreinterpretq_u32_f32(vsubq_f32(x, x)));
    }
    r.lo = vminvq_f32(lo);
    r.hi = vmaxvq_f32(hi);
    r.finite = vmaxvq_u32(bad) == 0;
  }
  // The sign of a zero min or max does not change choose_quantization_params.
  for (; i < n; ++i) {
    r.lo = std::min(r.lo, in[i]);
    r.hi = std::max(r.hi, in[i]);
    r.finite &= std::isfinite(in[i]);
  }
  return r;
#else
  return scan_scalar(in, n);
#endif
}

// The saturating narrows are exactly clamp(value, 0, 255).
void quantize_neon(const float* in, int k, int k_pad, const Quant& q, uint8_t flip, uint8_t* out) {
  const float32x4_t inv = vdupq_n_f32(q.inv);
  const float32x4_t zpf = vdupq_n_f32(static_cast<float>(q.zp));
  const uint8x8_t f = vdup_n_u8(flip);
  float tail_in[8];
  uint8_t tail_out[8];
  for (int i = 0; i < k; i += 8) {
    const int count = std::min(8, k - i);
    const float* src = in + i;
    if (count < 8) {
      std::memset(tail_in, 0, sizeof(tail_in));
      std::memcpy(tail_in, src, count * sizeof(float));
      src = tail_in;
    }
    const int16x8_t v16 =
        vcombine_s16(vqmovn_s32(round4(src, q, inv, zpf)), vqmovn_s32(round4(src + 4, q, inv, zpf)));
    const uint8x8_t bytes = veor_u8(vqmovun_s16(v16), f);
    if (count == 8) {
      vst1_u8(out + i, bytes);
    } else {
      vst1_u8(tail_out, bytes);
      std::memcpy(out + i, tail_out, count);
    }
  }
  std::memset(out + k, 0, k_pad - k);
}

const DynamicLinearKernel kNeon = {"dynamic_linear_u8s8_2x8_neon", Isa::neon, packed_bytes_for<Neon>,
                                   pack_for<Neon>, scratch_bytes, run_with<kOps>};

}  // namespace qrt::kernels::dynlin
