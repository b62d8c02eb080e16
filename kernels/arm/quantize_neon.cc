// Float -> 8-bit quantize on NEON (aarch64 and armv7): quantize_f32_u8_x16_neon
// and quantize_f32_s8_x16_neon, bit-exact with quantize_f32_u8_ref /
// quantize_f32_s8_ref (kernels/ref/quantize.h):
//   q = clamp(zp + rne(f32(x * f32(1 / scale))), qmin, qmax)
//
// The reciprocal is computed once in scalar float like the reference and
// vmulq rounds each product as the scalar multiply does (no fma). Then v is
// clamped in float to [qmin - zp, qmax - zp], which is exact because the
// bounds are integers and rne is monotonic. The lower clamp is a compare and
// select, v > lo ? v : lo, the reference's own test: it is false for NaN, so
// NaN gives qmin as in the reference (vmaxq would keep the NaN, and vcvtn
// would turn it into 0). After the clamp |v| <= 255, so rounding is exact:
// vcvtn (round to nearest even) on aarch64, on armv7, which lacks it, the
// magic number 1.5 * 2^23 as in requant_neon.h.
//
// armv7 NEON flushes subnormals to zero where the scalar reference does not.
// A flushed product is below 2^-126 and rounds to 0 either way; a flushed
// input x (|x| < 2^-126) changes nothing while |x * inv_scale| < 1/2, i.e.
// inv_scale < 2^125; and inv_scale itself must not be subnormal. armv7 runs
// the reference loop outside 2^-126 <= inv_scale < 2^125 (scale beyond
// about 2^126 or below 2^-125), aarch64 (no flushing by default) never.
//
// s8 is the u8 computation shifted by 128, as in kernels/x86/quantize_avx2.cc:
// u8 bytes with zero point zp + 128, xor 0x80.
#include <arm_neon.h>

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "kernels/arm/tables.h"
#include "kernels/ref/quantize.h"

namespace qrt::kernels::arm {
namespace {

constexpr size_t kStep = 16;

struct Consts {
  float32x4_t inv_scale;
  float32x4_t lo;  // -zp
  float32x4_t hi;  // 255 - zp
  int16x8_t zp;
  uint8x16_t flip;
};

int32x4_t round4(const float* in, const Consts& c) {
  float32x4_t v = vmulq_f32(vld1q_f32(in), c.inv_scale);
  v = vbslq_f32(vcgtq_f32(v, c.lo), v, c.lo);
  v = vminq_f32(v, c.hi);
#if defined(__aarch64__)
  return vcvtnq_s32_f32(v);
#else
  const float32x4_t magic = vdupq_n_f32(12582912.0f);
  return vsubq_s32(vreinterpretq_s32_f32(vaddq_f32(v, magic)), vreinterpretq_s32_f32(magic));
#endif
}

// Eight rounded values plus the zero point, in 0..255 after the clamp.
uint8x8_t narrow8(int32x4_t a, int32x4_t b, const Consts& c) {
  return vqmovun_s16(vaddq_s16(vcombine_s16(vmovn_s32(a), vmovn_s32(b)), c.zp));
}

uint8x16_t block16(const float* in, const Consts& c) {
  const uint8x8_t lo = narrow8(round4(in, c), round4(in + 4, c), c);
  const uint8x8_t hi = narrow8(round4(in + 8, c), round4(in + 12, c), c);
  return veorq_u8(vcombine_u8(lo, hi), c.flip);
}

bool vector_exact(float inv_scale) {
#if defined(__aarch64__)
  (void)inv_scale;
  return true;
#else
  return inv_scale >= 0x1p-126f && inv_scale < 0x1p125f;
#endif
}

void run(size_t n, const float* in, float inv_scale, int32_t zp, uint8_t flip, uint8_t* out) {
  Consts c;
  c.inv_scale = vdupq_n_f32(inv_scale);
  c.lo = vdupq_n_f32(static_cast<float>(-zp));
  c.hi = vdupq_n_f32(static_cast<float>(255 - zp));
  c.zp = vdupq_n_s16(static_cast<int16_t>(zp));
  c.flip = vdupq_n_u8(flip);
  size_t i = 0;
  for (; i + kStep <= n; i += kStep) vst1q_u8(out + i, block16(in + i, c));
  if (i < n) {
    float tin[kStep] = {};
    uint8_t tout[kStep];
    std::memcpy(tin, in + i, (n - i) * sizeof(float));
    vst1q_u8(tout, block16(tin, c));
    std::memcpy(out + i, tout, n - i);
  }
}

}  // namespace

void quantize_f32_u8_x16_neon(size_t n, const float* in, float scale, int32_t zp, uint8_t* out) {
  const float inv_scale = 1.0f / scale;
  if (zp < 0 || zp > 255 || !vector_exact(inv_scale))
    return quantize_f32_u8_ref(n, in, scale, zp, out);
  run(n, in, inv_scale, zp, 0, out);
}

void quantize_f32_s8_x16_neon(size_t n, const float* in, float scale, int32_t zp, int8_t* out) {
  const float inv_scale = 1.0f / scale;
  if (zp < -128 || zp > 127 || !vector_exact(inv_scale))
    return quantize_f32_s8_ref(n, in, scale, zp, out);
  run(n, in, inv_scale, zp + 128, 0x80, reinterpret_cast<uint8_t*>(out));
}

}  // namespace qrt::kernels::arm
