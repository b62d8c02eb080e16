// Quantized elementwise add on NEON: add_u8_x16_neon (aarch64 and armv7),
// bit-exact with add_u8_ref (kernels/ref/add.h) in both profiles. 16
// elements per step; the last 0..15 go through zero-padded copies, so every
// load and store in the vector code is a full one and out may alias a or b.
//
// qnnpack, as QNNPACK's q8vadd NEON kernel: a - a_zp widened to int32 (vsubl
// then vmovl), acc = m_a (a - a_zp) + m_b (b - b_zp) with vmul/vmla, exact
// in int32 because m <= 2^22 and |q - zp| <= 255 give |acc| < 2^31. Round
// half away from zero: vsra adds acc >> 31 (-1 when acc < 0), then vrshl
// by -shift computes (acc' + 2^(shift-1)) >> shift without intermediate
// overflow (the rounding add is architecturally done in wider precision):
//   acc >= 0: floor(acc / 2^s + 1/2)             (half up = away from zero)
//   acc <  0: floor((acc - 1) / 2^s + 1/2)       (half down = away from zero)
// vrshl would not round for shift 0, so parameters outside 1..31 run the
// reference loop (make_add_params never gives them for supported ratios).
//
// fbgemm: x = fma(s_a, a, f32(s_a * -a_zp)) + fma(s_b, b, f32(s_b * -b_zp)),
// v = f32(x * out_inv_scale); vfma rounds once like std::fma, the add and the
// multiply stay separate (-ffp-contract=off). Rounding is rne: vcvtn on
// aarch64, on armv7 a clamp to [out_min - zp, out_max - zp] then the magic
// number 1.5 * 2^23 as in requant_neon.h. Two things differ from scalar
// float and are kept out of reach by limiting s_a, s_b and out_inv_scale to
// [2^-60, 2^60] (other parameters run the reference loop):
//  - vcvtn turns NaN into 0 where the reference gives out_min; with those
//    bounds |x| < 2^69 and v is never NaN (no inf - inf, no 0 * inf).
//  - armv7 NEON flushes subnormals to zero. A dequantized term is a multiple
//    of the unit in the last place of its scale (s q and f32(s zp) both
//    are), so a nonzero fma result or sum is at least 2^-60 * 2^-23, far
//    from subnormal; only v can be subnormal, and then rne gives 0 whether
//    or not it was flushed.
// armv7 without VFPv4 (e.g. -mfpu=neon) has no vector fma: fbgemm then runs
// the reference loop.
#include <arm_neon.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <initializer_list>

#include "kernels/arm/requant_neon.h"
#include "kernels/arm/tables.h"
#include "kernels/ref/add.h"

namespace qrt::kernels::arm {
namespace {

constexpr size_t kStep = 16;

#if defined(__aarch64__) || defined(__ARM_FEATURE_FMA)
#define QRT_ADD_NEON_FMA 1
#else
#define QRT_ADD_NEON_FMA 0
#endif

struct AddConsts {
  // qnnpack
  uint8x8_t a_zp8, b_zp8;
  int32x4_t a_mult, b_mult;
  int32x4_t neg_shift;  // -shift: vrshl shifts right for negative counts
  // fbgemm
  float32x4_t a_scale, b_scale, a_zp_term, b_zp_term, out_inv_scale;
  NeonRequant q;
};

AddConsts make_consts(const AddParams& p) {
  AddConsts c;
  c.a_zp8 = vdup_n_u8(static_cast<uint8_t>(p.a_zp));
  c.b_zp8 = vdup_n_u8(static_cast<uint8_t>(p.b_zp));
  c.a_mult = vdupq_n_s32(p.a_mult);
  c.b_mult = vdupq_n_s32(p.b_mult);
  c.neg_shift = vdupq_n_s32(-p.shift);
  // As add_u8_ref: the zero point premultiplied by the scale in float.
  c.a_scale = vdupq_n_f32(p.a_scale);
  c.b_scale = vdupq_n_f32(p.b_scale);
  c.a_zp_term = vdupq_n_f32(p.a_scale * static_cast<float>(-p.a_zp));
  c.b_zp_term = vdupq_n_f32(p.b_scale * static_cast<float>(-p.b_zp));
  c.out_inv_scale = vdupq_n_f32(p.out_inv_scale);
  c.q = neon_requant_setup(p.out_zp, p.out_min, p.out_max);
  return c;
}

// Four (a - a_zp, b - b_zp) int16 pairs -> rhaz(acc / 2^shift) as int32.
int32x4_t qnnpack4(int16x4_t xa, int16x4_t xb, const AddConsts& c) {
  int32x4_t acc = vmulq_s32(vmovl_s16(xa), c.a_mult);
  acc = vmlaq_s32(acc, vmovl_s16(xb), c.b_mult);
  acc = vsraq_n_s32(acc, acc, 31);
  return vrshlq_s32(acc, c.neg_shift);
}

// Eight elements -> eight clamped output bytes.
uint8x8_t qnnpack8(uint8x8_t a, uint8x8_t b, const AddConsts& c) {
  // u8 - u8 wraps in uint16; as int16 it is the exact difference in [-255, 255].
  const int16x8_t xa = vreinterpretq_s16_u16(vsubl_u8(a, c.a_zp8));
  const int16x8_t xb = vreinterpretq_s16_u16(vsubl_u8(b, c.b_zp8));
  return neon_pack8(qnnpack4(vget_low_s16(xa), vget_low_s16(xb), c),
                    qnnpack4(vget_high_s16(xa), vget_high_s16(xb), c), c.q);
}

#if QRT_ADD_NEON_FMA

// rne(v) as int32, as neon_requant does after its multiply.
int32x4_t round_rne(float32x4_t v, const NeonRequant& q) {
#if defined(__aarch64__)
  (void)q;
  return vcvtnq_s32_f32(v);
#else
  v = vminq_f32(vmaxq_f32(v, q.lo_f), q.hi_f);
  const float32x4_t magic = vdupq_n_f32(12582912.0f);
  return vsubq_s32(vreinterpretq_s32_f32(vaddq_f32(v, magic)), vreinterpretq_s32_f32(magic));
#endif
}

// Four elements (as uint16) -> rne(v) as int32.
int32x4_t fbgemm4(uint16x4_t a, uint16x4_t b, const AddConsts& c) {
  const float32x4_t fa = vcvtq_f32_u32(vmovl_u16(a));
  const float32x4_t fb = vcvtq_f32_u32(vmovl_u16(b));
  const float32x4_t x =
      vaddq_f32(vfmaq_f32(c.a_zp_term, c.a_scale, fa), vfmaq_f32(c.b_zp_term, c.b_scale, fb));
  return round_rne(vmulq_f32(x, c.out_inv_scale), c.q);
}

uint8x8_t fbgemm8(uint8x8_t a, uint8x8_t b, const AddConsts& c) {
  const uint16x8_t wa = vmovl_u8(a);
  const uint16x8_t wb = vmovl_u8(b);
  return neon_pack8(fbgemm4(vget_low_u16(wa), vget_low_u16(wb), c),
                    fbgemm4(vget_high_u16(wa), vget_high_u16(wb), c), c.q);
}

#endif

template <bool kFbgemm>
uint8x16_t block16(const uint8_t* a, const uint8_t* b, const AddConsts& c) {
  const uint8x16_t va = vld1q_u8(a);
  const uint8x16_t vb = vld1q_u8(b);
#if QRT_ADD_NEON_FMA
  if (kFbgemm) {
    return vcombine_u8(fbgemm8(vget_low_u8(va), vget_low_u8(vb), c),
                       fbgemm8(vget_high_u8(va), vget_high_u8(vb), c));
  }
#endif
  return vcombine_u8(qnnpack8(vget_low_u8(va), vget_low_u8(vb), c),
                     qnnpack8(vget_high_u8(va), vget_high_u8(vb), c));
}

template <bool kFbgemm>
void run_impl(const AddParams& p, const uint8_t* a, const uint8_t* b, uint8_t* out, size_t n) {
  const AddConsts c = make_consts(p);
  size_t i = 0;
  for (; i + kStep <= n; i += kStep) vst1q_u8(out + i, block16<kFbgemm>(a + i, b + i, c));
  if (i < n) {
    uint8_t ta[kStep] = {}, tb[kStep] = {}, to[kStep];
    std::memcpy(ta, a + i, n - i);
    std::memcpy(tb, b + i, n - i);
    vst1q_u8(to, block16<kFbgemm>(ta, tb, c));
    std::memcpy(out + i, to, n - i);
  }
}

bool qnnpack_params_fit(const AddParams& p) {
  constexpr int32_t kMaxMult = int32_t{1} << 22;
  return p.shift >= 1 && p.shift <= 31 && p.a_mult >= 0 && p.a_mult <= kMaxMult && p.b_mult >= 0 &&
         p.b_mult <= kMaxMult;
}

bool fbgemm_params_fit(const AddParams& p) {
  if (!QRT_ADD_NEON_FMA) return false;
  for (const float s : {p.a_scale, p.b_scale, p.out_inv_scale}) {
    if (!(s >= 0x1.0p-60f && s <= 0x1.0p+60f)) return false;
  }
  return true;
}

}  // namespace

void add_u8_x16_neon(const AddParams& p, const uint8_t* a, const uint8_t* b, uint8_t* out,
                     size_t begin, size_t end) {
  if (end <= begin) return;
  const size_t n = end - begin;
  a += begin;
  b += begin;
  out += begin;
  if (p.profile == Profile::fbgemm ? fbgemm_params_fit(p) : qnnpack_params_fit(p)) {
    if (p.profile == Profile::fbgemm) {
      run_impl<true>(p, a, b, out, n);
    } else {
      run_impl<false>(p, a, b, out, n);
    }
  } else {
    add_u8_ref(p, n, a, b, out);
  }
}

}  // namespace qrt::kernels::arm
