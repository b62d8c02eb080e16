// Vectorised requantization on ymm registers (AVX2), bit-exact with
// kernels::requantize (kernels/ref/quant_math.h). For files compiled with
// -mavx2; every helper has internal linkage (see layout.h).
//
//   qnnpack: v = f32(float(acc) * m)            (acc already holds bias_q)
//   fbgemm:  v = f32(f32(float(acc) + bias) * m)
//   y = clamp(rne(v) + zp, lo, hi),  0 <= lo <= hi <= 255, 0 <= zp <= 255
//
// How the clamp stays exact without clamping v to [lo - zp, hi - zp] in
// float first:
//  - v = min(2^16, v) (minps returns its second operand, v, when either is
//    NaN). cvtps2dq then gives rne(v) exactly for every v in
//    [-2^31, 2^16], and INT_MIN for NaN, -inf and anything below -2^31.
//  - packssdw saturates to int16, the zero point is added with int16
//    saturation, packuswb saturates to 0..255, then max/min with lo/hi.
//    Each saturation only triggers when rne(v) + zp is already above 255
//    (the result is 255, then hi) or below 0 (the result is 0, then lo),
//    so the bytes equal clamp(rne(v) + zp, lo, hi); INT_MIN gives lo, which
//    is what the reference gives for NaN and -inf.
#pragma once

#include <immintrin.h>

#include <cstddef>
#include <cstdint>
#include <cstring>

namespace qrt::kernels::x86 {

struct YmmRequant {
  __m256 cap;    // 2^16: large v and +inf still round to an int32
  __m256i zp16;  // out_zp in every int16
  __m256i lo8;   // out_min in every byte
  __m256i hi8;   // out_max in every byte
};

static inline YmmRequant ymm_requant_setup(int32_t out_zp, int32_t out_min, int32_t out_max) {
  YmmRequant q;
  q.cap = _mm256_set1_ps(65536.f);
  q.zp16 = _mm256_set1_epi16(static_cast<int16_t>(out_zp));
  q.lo8 = _mm256_set1_epi8(static_cast<char>(out_min));
  q.hi8 = _mm256_set1_epi8(static_cast<char>(out_max));
  return q;
}

// Eight accumulators -> rne(v) as int32 (INT_MIN for NaN and below -2^31).
// kCap = false when pack proved |v| < 2^30 (requant_needs_cap in layout.h).
template <bool kFbgemm, bool kCap>
static inline __m256i ymm_requant(__m256i acc, __m256 mult, __m256 bias, __m256 cap) {
  __m256 v = _mm256_cvtepi32_ps(acc);
  if (kFbgemm) v = _mm256_add_ps(v, bias);
  v = _mm256_mul_ps(v, mult);
  if (kCap) v = _mm256_min_ps(cap, v);
  return _mm256_cvtps_epi32(v);
}

template <bool kFbgemm, bool kCap>
static inline __m256i ymm_requant(__m256i acc, __m256 mult, __m256 bias, const YmmRequant& q) {
  return ymm_requant<kFbgemm, kCap>(acc, mult, bias, q.cap);
}

// Saturating narrowing of two int32 vectors plus the zero point; int16
// elements in the order packs_epi32 leaves them (per 128-bit lane: a, b).
static inline __m256i ymm_narrow16(__m256i a, __m256i b, const YmmRequant& q) {
  return _mm256_adds_epi16(_mm256_packs_epi32(a, b), q.zp16);
}

static inline __m256i ymm_clamp8(__m256i bytes, const YmmRequant& q) {
  return _mm256_min_epu8(_mm256_max_epu8(bytes, q.lo8), q.hi8);
}

// Four vectors of 8 requantized columns -> 32 output bytes a | b | c | d.
// The packs work per 128-bit lane, leaving dwords a0-3 b0-3 c0-3 d0-3 |
// a4-7 b4-7 c4-7 d4-7; the permute restores the order.
static inline __m256i ymm_pack32(__m256i a, __m256i b, __m256i c, __m256i d, const YmmRequant& q) {
  const __m256i bytes = _mm256_packus_epi16(ymm_narrow16(a, b, q), ymm_narrow16(c, d, q));
  const __m256i ordered =
      _mm256_permutevar8x32_epi32(bytes, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
  return ymm_clamp8(ordered, q);
}

// The first n (< 16) bytes of v to dst.
static inline void store_partial16(uint8_t* dst, __m128i v, int n) {
  alignas(16) uint8_t tmp[16];
  _mm_store_si128(reinterpret_cast<__m128i*>(tmp), v);
  for (int i = 0; i < n; ++i) dst[i] = tmp[i];
}

// min(n, 16) bytes of v to dst.
static inline void store_bytes16(uint8_t* dst, __m128i v, int n) {
  if (n >= 16) {
    _mm_storeu_si128(reinterpret_cast<__m128i*>(dst), v);
  } else if (n == 8) {
    _mm_storel_epi64(reinterpret_cast<__m128i*>(dst), v);
  } else if (n > 0) {
    store_partial16(dst, v, n);
  }
}

static inline __m256i ymm_broadcast_i32(const void* p) {
  int32_t v;
  std::memcpy(&v, p, 4);
  return _mm256_set1_epi32(v);
}

}  // namespace qrt::kernels::x86
