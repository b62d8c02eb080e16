// Quantized elementwise multiply on AVX2: mul_u8_x32_avx2, bit-exact with
// mul_u8_ref (kernels/ref/binary.h), for a same-shape b or a b repeating
// with a period (kernels/cpu.h, MulKernel). 32 elements per step.
//
// The avxvnni and avx512vnni tiers run this kernel too: a multiply does one
// product per element on bytes it streams once, so wider vectors would only
// move the bottleneck to memory.
//
//   y = clamp(out_zp + rne(f32(float((a - a_zp) * (b - b_zp)) * m)), lo, hi)
//
// a - a_zp and b - b_zp are in [-255, 255], so they fit int16 and their
// product (at most 65025 in magnitude) is exact as the int32 that
// vpmullw/vpmulhw give as its low and high halves. The int32 converts to
// float exactly, vmulps rounds once like the reference's float multiply, and
// requant_avx2.h's capped cvtps2dq and saturating packs give
// clamp(rne(v) + out_zp, lo, hi) for every v: overflow to infinity, and the
// NaN of 0 * inf with an infinite multiplier, included.
//
// Walking b: when b advances with a, each run of elements where both are
// contiguous (a whole row of the period, or the part of it inside
// [begin, end)) takes full steps, and its last step overlaps the one before
// instead of going through a padded copy. That last step is computed before
// the run stores anything, so out may alias a. Periods below one step
// (b a scalar, or a row of fewer than 32 channels) read b from a local copy
// of it repeated past 32 bytes, at the current phase.
#include <immintrin.h>

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "kernels/ref/binary.h"
#include "kernels/x86/requant_avx2.h"
#include "kernels/x86/tables.h"

namespace qrt::kernels::x86 {
namespace {

constexpr size_t kStep = 32;

struct MulConsts {
  __m256i a_zp16, b_zp16;
  __m256 mult;
  YmmRequant q;
};

MulConsts make_consts(const MulParams& p) {
  MulConsts c;
  c.a_zp16 = _mm256_set1_epi16(static_cast<int16_t>(p.a_zp));
  c.b_zp16 = _mm256_set1_epi16(static_cast<int16_t>(p.b_zp));
  c.mult = _mm256_set1_ps(p.multiplier);
  c.q = ymm_requant_setup(p.out_zp, p.out_min, p.out_max);
  return c;
}

// 16 elements -> 16 int16 rne(v) + out_zp (saturated), in order: the
// unpacks of the product halves work per 128-bit lane (lo: elements 0-3 |
// 8-11, hi: 4-7 | 12-15), and packs_epi32 interleaves them back per lane.
__m256i mul16(const uint8_t* a, const uint8_t* b, const MulConsts& c) {
  const __m256i xa = _mm256_sub_epi16(
      _mm256_cvtepu8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(a))), c.a_zp16);
  const __m256i xb = _mm256_sub_epi16(
      _mm256_cvtepu8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(b))), c.b_zp16);
  const __m256i lo = _mm256_mullo_epi16(xa, xb);
  const __m256i hi = _mm256_mulhi_epi16(xa, xb);
  const __m256 zero = _mm256_setzero_ps();
  const __m256i y0 = ymm_requant<false, true>(_mm256_unpacklo_epi16(lo, hi), c.mult, zero, c.q);
  const __m256i y1 = ymm_requant<false, true>(_mm256_unpackhi_epi16(lo, hi), c.mult, zero, c.q);
  return ymm_narrow16(y0, y1, c.q);
}

__m256i block32(const uint8_t* a, const uint8_t* b, const MulConsts& c) {
  // packus works per lane (0-7, 16-23 | 8-15, 24-31); the permute restores
  // the order.
  const __m256i bytes = _mm256_packus_epi16(mul16(a, b, c), mul16(a + 16, b + 16, c));
  return ymm_clamp8(_mm256_permute4x64_epi64(bytes, _MM_SHUFFLE(3, 1, 2, 0)), c.q);
}

void store32(uint8_t* out, __m256i v) { _mm256_storeu_si256(reinterpret_cast<__m256i*>(out), v); }

// Fewer than kStep elements through zero-padded copies; b_full: b has a
// whole step readable (the repeated copy), so it needs no copy.
void tail(const uint8_t* a, const uint8_t* b, bool b_full, uint8_t* out, size_t n,
          const MulConsts& c) {
  alignas(32) uint8_t ta[kStep] = {}, tb[kStep] = {}, to[kStep];
  std::memcpy(ta, a, n);
  if (!b_full) std::memcpy(tb, b, n);
  _mm256_store_si256(reinterpret_cast<__m256i*>(to), block32(ta, b_full ? b : tb, c));
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
  const __m256i y_last = block32(a + last, b + last, c);
  for (size_t i = 0; i < last; i += kStep) store32(out + i, block32(a + i, b + i, c));
  store32(out + last, y_last);
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
    store32(out + i, block32(a + i, rep + phase, c));
    phase += advance;
    if (phase >= period) phase -= period;
  }
  if (i < n) tail(a + i, rep + phase, true, out + i, n - i, c);
}

// What the vector code assumes: int16 differences, and a clamp that the
// saturating packs can carry out.
bool params_fit(const MulParams& p) {
  const auto byte = [](int32_t v) { return v >= 0 && v <= 255; };
  return byte(p.a_zp) && byte(p.b_zp) && byte(p.out_zp) && byte(p.out_min) && byte(p.out_max) &&
         p.out_min <= p.out_max;
}

}  // namespace

void mul_u8_x32_avx2(const MulParams& p, const uint8_t* a, const uint8_t* b, size_t b_period,
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

}  // namespace qrt::kernels::x86
