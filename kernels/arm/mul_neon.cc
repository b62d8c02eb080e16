// Quantized elementwise multiply on NEON: mul_u8_x16_neon (aarch64 and
// armv7), bit-exact with mul_u8_ref (kernels/ref/binary.h), for a
// same-shape b or a b repeating with a period (kernels/cpu.h, MulKernel).
// 16 elements per step.
//
//   y = clamp(out_zp + rne(f32(float((a - a_zp) * (b - b_zp)) * m)), lo, hi)
//
// a - a_zp and b - b_zp come out of vsubl_u8 as exact int16 in [-255, 255];
// vmull_s16 gives their product exactly in int32 (at most 65025 in
// magnitude), which converts to float exactly; vmulq_f32 rounds once like
// the reference's float multiply. requant_neon.h then rounds to nearest even
// and clamps: vcvtnq on aarch64 (saturating, so infinities are safe), on
// armv7 a float clamp to [lo - zp, hi - zp] and the magic number 1.5 * 2^23.
// Neither handles NaN as the reference does (out_min), and v is NaN only
// for 0 * inf, so a non-finite multiplier runs the scalar fallback. armv7
// NEON flushes subnormals to zero: with a subnormal multiplier |v| <
// 65025 * 2^-126, and a subnormal v is below 2^-126; either rounds to 0
// with or without the flush.
//
// Walking b as in mul_avx2.cc: a contiguous run takes full steps and ends
// with a step overlapping the one before, computed before the run stores
// anything (out may alias a); periods below one step read b from a local
// copy repeated past 16 bytes, at the current phase.
#include <arm_neon.h>

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "kernels/arm/requant_neon.h"
#include "kernels/arm/tables.h"
#include "kernels/ref/binary.h"

namespace qrt::kernels::arm {
namespace {

constexpr size_t kStep = 16;

struct MulConsts {
  uint8x8_t a_zp8, b_zp8;
  float32x4_t mult;
  NeonRequant q;
};

MulConsts make_consts(const MulParams& p) {
  MulConsts c;
  c.a_zp8 = vdup_n_u8(static_cast<uint8_t>(p.a_zp));
  c.b_zp8 = vdup_n_u8(static_cast<uint8_t>(p.b_zp));
  c.mult = vdupq_n_f32(p.multiplier);
  c.q = neon_requant_setup(p.out_zp, p.out_min, p.out_max);
  return c;
}

// Eight elements -> eight clamped output bytes.
uint8x8_t mul8(uint8x8_t a, uint8x8_t b, const MulConsts& c) {
  // u8 - u8 wraps in uint16; as int16 it is the exact difference.
  const int16x8_t xa = vreinterpretq_s16_u16(vsubl_u8(a, c.a_zp8));
  const int16x8_t xb = vreinterpretq_s16_u16(vsubl_u8(b, c.b_zp8));
  const int32x4_t p0 = vmull_s16(vget_low_s16(xa), vget_low_s16(xb));
  const int32x4_t p1 = vmull_s16(vget_high_s16(xa), vget_high_s16(xb));
  const float32x4_t zero = vdupq_n_f32(0.f);
  return neon_pack8(neon_requant<false>(p0, c.mult, zero, c.q),
                    neon_requant<false>(p1, c.mult, zero, c.q), c.q);
}

uint8x16_t block16(const uint8_t* a, const uint8_t* b, const MulConsts& c) {
  const uint8x16_t va = vld1q_u8(a);
  const uint8x16_t vb = vld1q_u8(b);
  return vcombine_u8(mul8(vget_low_u8(va), vget_low_u8(vb), c),
                     mul8(vget_high_u8(va), vget_high_u8(vb), c));
}

// Fewer than kStep elements through zero-padded copies; b_full: b has a
// whole step readable (the repeated copy), so it needs no copy.
void tail(const uint8_t* a, const uint8_t* b, bool b_full, uint8_t* out, size_t n,
          const MulConsts& c) {
  uint8_t ta[kStep] = {}, tb[kStep] = {}, to[kStep];
  std::memcpy(ta, a, n);
  if (!b_full) std::memcpy(tb, b, n);
  vst1q_u8(to, block16(ta, b_full ? b : tb, c));
  std::memcpy(out, to, n);
}

// n elements with a and b both contiguous.
void run_contiguous(const uint8_t* a, const uint8_t* b, uint8_t* out, size_t n,
                    const MulConsts& c) {
  if (n < kStep) {
    tail(a, b, false, out, n, c);
    return;
  }
  const size_t last = n - kStep;
  const uint8x16_t y_last = block16(a + last, b + last, c);
  for (size_t i = 0; i < last; i += kStep) vst1q_u8(out + i, block16(a + i, b + i, c));
  vst1q_u8(out + last, y_last);
}

// n elements of a with b[j % period] for j from `phase`, period < kStep.
void run_short_period(const uint8_t* a, const uint8_t* b, size_t period, size_t phase, uint8_t* out,
                      size_t n, const MulConsts& c) {
  // b repeated: every window [phase, phase + kStep) with phase < period
  // reads the period's bytes in order.
  uint8_t rep[2 * kStep];
  for (size_t j = 0; j < sizeof rep; ++j) rep[j] = b[j % period];
  const size_t advance = kStep % period;
  size_t i = 0;
  for (; i + kStep <= n; i += kStep) {
    vst1q_u8(out + i, block16(a + i, rep + phase, c));
    phase += advance;
    if (phase >= period) phase -= period;
  }
  if (i < n) tail(a + i, rep + phase, true, out + i, n - i, c);
}

// What the vector code assumes: byte zero points and clamp, and a
// multiplier that cannot make v NaN.
bool params_fit(const MulParams& p) {
  const auto byte = [](int32_t v) { return v >= 0 && v <= 255; };
  return byte(p.a_zp) && byte(p.b_zp) && byte(p.out_zp) && byte(p.out_min) && byte(p.out_max) &&
         p.out_min <= p.out_max && std::isfinite(p.multiplier);
}

}  // namespace

void mul_u8_x16_neon(const MulParams& p, const uint8_t* a, const uint8_t* b, size_t b_period,
                     uint8_t* out, size_t begin, size_t end) {
  if (end <= begin || b_period == 0) return;
  if (!params_fit(p)) {
    for (size_t i = begin; i < end; ++i) out[i] = mul_u8_one(p, a[i], b[i % b_period]);
    return;
  }
  const MulConsts c = make_consts(p);
  if (b_period < kStep) {
    run_short_period(a + begin, b, b_period, begin % b_period, out + begin, end - begin, c);
    return;
  }
  // One contiguous run per period (row) that [begin, end) touches.
  for (size_t i = begin; i < end;) {
    const size_t phase = i % b_period;
    const size_t n = end - i < b_period - phase ? end - i : b_period - phase;
    run_contiguous(a + i, b + phase, out + i, n, c);
    i += n;
  }
}

}  // namespace qrt::kernels::arm
