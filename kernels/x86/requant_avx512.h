// Vectorised requantization on zmm registers (AVX-512 F/BW/VL), bit-exact
// with kernels::requantize. Same formulas and the same argument for the
// exactness of the saturating clamp as requant_avx2.h; for files compiled
// with the AVX-512 flags, every helper with internal linkage (see layout.h).
#pragma once

#include <immintrin.h>

#include <cstdint>
#include <cstring>

namespace qrt::kernels::x86 {

struct ZmmRequant {
  __m512 cap;    // 2^16: large v and +inf still round to an int32
  __m512i zp16;  // out_zp in every int16
  __m512i lo8;   // out_min in every byte
  __m512i hi8;   // out_max in every byte
};

static inline ZmmRequant zmm_requant_setup(int32_t out_zp, int32_t out_min, int32_t out_max) {
  ZmmRequant q;
  q.cap = _mm512_set1_ps(65536.f);
  q.zp16 = _mm512_set1_epi16(static_cast<int16_t>(out_zp));
  q.lo8 = _mm512_set1_epi8(static_cast<char>(out_min));
  q.hi8 = _mm512_set1_epi8(static_cast<char>(out_max));
  return q;
}

// Sixteen accumulators -> rne(v) as int32 (INT_MIN for NaN and below
// -2^31); minps returns its second operand, v, when either is NaN.
// kCap = false when pack proved |v| < 2^30 (requant_needs_cap in layout.h).
template <bool kFbgemm, bool kCap>
static inline __m512i zmm_requant(__m512i acc, __m512 mult, __m512 bias, const ZmmRequant& q) {
  __m512 v = _mm512_cvtepi32_ps(acc);
  if (kFbgemm) v = _mm512_add_ps(v, bias);
  v = _mm512_mul_ps(v, mult);
  if (kCap) v = _mm512_min_ps(q.cap, v);
  return _mm512_cvtps_epi32(v);
}

static inline __m512i zmm_narrow16(__m512i a, __m512i b, const ZmmRequant& q) {
  return _mm512_adds_epi16(_mm512_packs_epi32(a, b), q.zp16);
}

static inline __m512i zmm_clamp8(__m512i bytes, const ZmmRequant& q) {
  return _mm512_min_epu8(_mm512_max_epu8(bytes, q.lo8), q.hi8);
}

// zmm_clamp8, or nothing when kClamp = false ([out_min, out_max] =
// [0, 255], which packus already gives; the byte max/min run on one port).
template <bool kClamp>
static inline __m512i zmm_clamp8_if(__m512i bytes, const ZmmRequant& q) {
  return kClamp ? zmm_clamp8(bytes, q) : bytes;
}

// Four vectors of 16 requantized columns -> 64 output bytes a | b | c | d.
// The packs leave, per 128-bit lane L, dwords a, b, c, d of columns
// 4L..4L+3; the permute gathers each vector's four dwords.
template <bool kClamp = true>
static inline __m512i zmm_pack64(__m512i a, __m512i b, __m512i c, __m512i d, const ZmmRequant& q) {
  const __m512i bytes = _mm512_packus_epi16(zmm_narrow16(a, b, q), zmm_narrow16(c, d, q));
  const __m512i order = _mm512_setr_epi32(0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15);
  return zmm_clamp8_if<kClamp>(_mm512_permutexvar_epi32(order, bytes), q);
}

// Four vectors of an interleaved column group (layout.h) -> its 64 output
// bytes in order: the packs alone put them there.
template <bool kClamp>
static inline __m512i zmm_pack64_group(__m512i a, __m512i b, __m512i c, __m512i d,
                                       const ZmmRequant& q) {
  return zmm_clamp8_if<kClamp>(
      _mm512_packus_epi16(zmm_narrow16(a, b, q), zmm_narrow16(c, d, q)), q);
}

static inline __m512i zmm_broadcast_i32(const void* p) {
  int32_t v;
  std::memcpy(&v, p, 4);
  return _mm512_set1_epi32(v);
}

static inline __mmask16 mask16(int n) {
  return n >= 16 ? static_cast<__mmask16>(0xffff)
                 : static_cast<__mmask16>((1u << (n > 0 ? n : 0)) - 1);
}

static inline __mmask32 mask32(int n) {
  return n >= 32 ? ~static_cast<__mmask32>(0) : static_cast<__mmask32>((1u << (n > 0 ? n : 0)) - 1);
}

static inline __mmask64 mask64(int n) {
  return n >= 64 ? ~static_cast<__mmask64>(0) : (static_cast<__mmask64>(1) << (n > 0 ? n : 0)) - 1;
}

}  // namespace qrt::kernels::x86
