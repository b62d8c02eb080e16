// Float -> 8-bit quantize on AVX2: quantize_f32_u8_x32_avx2 and
// quantize_f32_s8_x32_avx2, bit-exact with quantize_f32_u8_ref /
// quantize_f32_s8_ref (kernels/ref/quantize.h):
//   q = clamp(zp + rne(f32(x * f32(1 / scale))), qmin, qmax)
//
// The reciprocal is computed once in scalar float like the reference, and
// vmulps rounds each product exactly as the scalar multiply does (same
// MXCSR, no FMA). requant_avx2.h's capped cvtps2dq and saturating packs then
// give clamp(rne(v) + zp, 0, 255) for every v: large values and +inf meet
// the 2^16 cap, NaN passes minps (its second operand) and, like -inf and
// anything below -2^31, converts to INT_MIN, which ends at 0 as in the
// reference. That argument needs 0 <= zp <= 255; other zero points run the
// reference loop.
//
// s8 is the u8 computation shifted by 128: clamp(r + zp, -128, 127) + 128 =
// clamp(r + zp + 128, 0, 255) for every r, and NaN gives 0 -> -128, so the
// u8 bytes with zero point zp + 128, xor 0x80, are the s8 bytes.
//
// Every x86 tier runs this kernel: it reads 4 bytes and writes 1 per
// element with a few instructions, so wider vectors would only wait longer
// on memory.
#include <immintrin.h>

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "kernels/ref/quantize.h"
#include "kernels/x86/requant_avx2.h"
#include "kernels/x86/tables.h"

namespace qrt::kernels::x86 {
namespace {

constexpr size_t kStep = 32;

// Eight floats -> rne(x * inv_scale) as int32, capped as requant_avx2.h says.
__m256i round8(const float* in, __m256 inv_scale, const YmmRequant& q) {
  const __m256 v = _mm256_mul_ps(_mm256_loadu_ps(in), inv_scale);
  return _mm256_cvtps_epi32(_mm256_min_ps(q.cap, v));
}

__m256i block32(const float* in, __m256 inv_scale, const YmmRequant& q, __m256i flip) {
  const __m256i bytes = ymm_pack32(round8(in, inv_scale, q), round8(in + 8, inv_scale, q),
                                   round8(in + 16, inv_scale, q), round8(in + 24, inv_scale, q), q);
  return _mm256_xor_si256(bytes, flip);
}

// flip = 0x80 turns the u8 result for zp + 128 into s8 bytes.
void run(size_t n, const float* in, float scale, int32_t zp, uint8_t flip, uint8_t* out) {
  const __m256 inv_scale = _mm256_set1_ps(1.0f / scale);
  const YmmRequant q = ymm_requant_setup(zp, 0, 255);
  const __m256i f = _mm256_set1_epi8(static_cast<char>(flip));
  size_t i = 0;
  for (; i + kStep <= n; i += kStep) {
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + i), block32(in + i, inv_scale, q, f));
  }
  if (i < n) {
    alignas(32) float tin[kStep] = {};
    alignas(32) uint8_t tout[kStep];
    std::memcpy(tin, in + i, (n - i) * sizeof(float));
    _mm256_store_si256(reinterpret_cast<__m256i*>(tout), block32(tin, inv_scale, q, f));
    std::memcpy(out + i, tout, n - i);
  }
}

}  // namespace

void quantize_f32_u8_x32_avx2(size_t n, const float* in, float scale, int32_t zp, uint8_t* out) {
  if (zp < 0 || zp > 255) return quantize_f32_u8_ref(n, in, scale, zp, out);
  run(n, in, scale, zp, 0, out);
}

void quantize_f32_s8_x32_avx2(size_t n, const float* in, float scale, int32_t zp, int8_t* out) {
  if (zp < -128 || zp > 127) return quantize_f32_s8_ref(n, in, scale, zp, out);
  run(n, in, scale, zp + 128, 0x80, reinterpret_cast<uint8_t*>(out));
}

}  // namespace qrt::kernels::x86
