// Quantized elementwise add on AVX2: add_u8_x32_avx2, bit-exact with
// add_u8_ref (kernels/ref/add.h) in both profiles. 32 elements per step;
// the last 0..31 go through zero-padded copies, so every load and store in
// the vector code is a full one and out may alias a or b.
//
// The avxvnni and avx512vnni tiers run this kernel too: an add does two
// multiplies per element on bytes it streams once, so wider vectors would
// only move the bottleneck to memory.
//
// qnnpack: acc = m_a (a - a_zp) + m_b (b - b_zp), with m < 2^22 (plus the
// case m = 2^22 exactly) and |q - zp| <= 255, so |acc| <= 2 * 255 * 2^22 <
// 2^31 fits int32. m is split as m = mh * 2^15 + ml (ml < 2^15, mh <= 2^7) so
// that vpmaddwd on interleaved (a, b) int16 pairs forms a ml_a + b ml_b and
// a mh_a + b mh_b exactly; acc = lo + (hi << 15) - (m_a a_zp + m_b b_zp),
// evaluated mod 2^32, which is exact because the true value fits.
// Rounding half away from zero: y = sign(acc) * ((|acc| + 2^(shift-1)) >>
// shift) on the magnitude as uint32, where |acc| + 2^30 < 2^32 cannot wrap
// (a signed acc + half could, near |acc| = 2^31), and vpsignd restores the
// sign (zero stays zero).
//
// fbgemm: x = fma(s_a, a, f32(s_a * -a_zp)) + fma(s_b, b, f32(s_b * -b_zp)),
// v = f32(x * out_inv_scale): vfmadd231ps rounds once like std::fma, the add
// and the multiply are separate instructions (-ffp-contract=off also keeps
// the compiler from fusing them), then requant_avx2.h's capped cvtps2dq and
// saturating packs give clamp(rne(v) + out_zp, out_min, out_max) for every v,
// infinities and NaN included.
#include <immintrin.h>

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "kernels/ref/add.h"
#include "kernels/x86/requant_avx2.h"
#include "kernels/x86/tables.h"

namespace qrt::kernels::x86 {
namespace {

constexpr size_t kStep = 32;

struct AddConsts {
  // qnnpack
  __m256i zp_product;  // -(m_a a_zp + m_b b_zp) mod 2^32
  __m256i mult_lo;     // int16 pairs (ml_a, ml_b)
  __m256i mult_hi;     // int16 pairs (mh_a, mh_b)
  __m256i half;        // 2^(shift - 1)
  __m128i shift;
  // fbgemm
  __m256 a_scale, b_scale, a_zp_term, b_zp_term, out_inv_scale;
  YmmRequant q;
};

__m256i pair16(int32_t lo, int32_t hi) {
  return _mm256_set1_epi32(
      static_cast<int32_t>((static_cast<uint32_t>(hi) << 16) | static_cast<uint32_t>(lo)));
}

AddConsts make_consts(const AddParams& p) {
  AddConsts c;
  const uint32_t zpp = 0u - (static_cast<uint32_t>(p.a_mult) * static_cast<uint32_t>(p.a_zp) +
                             static_cast<uint32_t>(p.b_mult) * static_cast<uint32_t>(p.b_zp));
  c.zp_product = _mm256_set1_epi32(static_cast<int32_t>(zpp));
  c.mult_lo = pair16(p.a_mult & 0x7fff, p.b_mult & 0x7fff);
  c.mult_hi = pair16(p.a_mult >> 15, p.b_mult >> 15);
  c.half = _mm256_set1_epi32(p.shift >= 1 && p.shift <= 31 ? int32_t{1} << (p.shift - 1) : 0);
  c.shift = _mm_cvtsi32_si128(p.shift);
  // As add_u8_ref: the zero point premultiplied by the scale in float.
  c.a_scale = _mm256_set1_ps(p.a_scale);
  c.b_scale = _mm256_set1_ps(p.b_scale);
  c.a_zp_term = _mm256_set1_ps(p.a_scale * static_cast<float>(-p.a_zp));
  c.b_zp_term = _mm256_set1_ps(p.b_scale * static_cast<float>(-p.b_zp));
  c.out_inv_scale = _mm256_set1_ps(p.out_inv_scale);
  c.q = ymm_requant_setup(p.out_zp, p.out_min, p.out_max);
  return c;
}

// Eight interleaved (a, b) int16 pairs -> rhaz(acc / 2^shift) as int32.
__m256i qnnpack8(__m256i pairs, const AddConsts& c) {
  const __m256i lo = _mm256_madd_epi16(pairs, c.mult_lo);
  const __m256i hi = _mm256_madd_epi16(pairs, c.mult_hi);
  const __m256i acc =
      _mm256_add_epi32(_mm256_add_epi32(c.zp_product, lo), _mm256_slli_epi32(hi, 15));
  const __m256i mag = _mm256_srl_epi32(_mm256_add_epi32(_mm256_abs_epi32(acc), c.half), c.shift);
  return _mm256_sign_epi32(mag, acc);
}

// 16 elements -> 16 int16 rhaz(acc / 2^shift) + out_zp (saturated), in order:
// the unpacks work per 128-bit lane (lo: elements 0-3 | 8-11, hi: 4-7 |
// 12-15), and packs_epi32 interleaves them back per lane.
__m256i qnnpack16(const uint8_t* a, const uint8_t* b, const AddConsts& c) {
  const __m256i va = _mm256_cvtepu8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(a)));
  const __m256i vb = _mm256_cvtepu8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(b)));
  const __m256i y_lo = qnnpack8(_mm256_unpacklo_epi16(va, vb), c);
  const __m256i y_hi = qnnpack8(_mm256_unpackhi_epi16(va, vb), c);
  return ymm_narrow16(y_lo, y_hi, c.q);
}

// Eight elements -> rne(v) as int32 (INT_MIN for NaN and below -2^31).
__m256i fbgemm8(const uint8_t* a, const uint8_t* b, const AddConsts& c) {
  const __m256 fa = _mm256_cvtepi32_ps(
      _mm256_cvtepu8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(a))));
  const __m256 fb = _mm256_cvtepi32_ps(
      _mm256_cvtepu8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(b))));
  const __m256 x = _mm256_add_ps(_mm256_fmadd_ps(c.a_scale, fa, c.a_zp_term),
                                 _mm256_fmadd_ps(c.b_scale, fb, c.b_zp_term));
  const __m256 v = _mm256_min_ps(c.q.cap, _mm256_mul_ps(x, c.out_inv_scale));
  return _mm256_cvtps_epi32(v);
}

template <bool kFbgemm>
__m256i block32(const uint8_t* a, const uint8_t* b, const AddConsts& c) {
  if (kFbgemm) {
    return ymm_pack32(fbgemm8(a, b, c), fbgemm8(a + 8, b + 8, c), fbgemm8(a + 16, b + 16, c),
                      fbgemm8(a + 24, b + 24, c), c.q);
  }
  // packus works per lane (0-7, 16-23 | 8-15, 24-31); the permute restores
  // the order.
  const __m256i bytes = _mm256_packus_epi16(qnnpack16(a, b, c), qnnpack16(a + 16, b + 16, c));
  return ymm_clamp8(_mm256_permute4x64_epi64(bytes, _MM_SHUFFLE(3, 1, 2, 0)), c.q);
}

template <bool kFbgemm>
void run_impl(const AddParams& p, const uint8_t* a, const uint8_t* b, uint8_t* out, size_t n) {
  const AddConsts c = make_consts(p);
  size_t i = 0;
  for (; i + kStep <= n; i += kStep) {
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + i), block32<kFbgemm>(a + i, b + i, c));
  }
  if (i < n) {
    alignas(32) uint8_t ta[kStep] = {}, tb[kStep] = {}, to[kStep];
    std::memcpy(ta, a + i, n - i);
    std::memcpy(tb, b + i, n - i);
    _mm256_store_si256(reinterpret_cast<__m256i*>(to), block32<kFbgemm>(ta, tb, c));
    std::memcpy(out + i, to, n - i);
  }
}

// What the fixed-point code above assumes; make_add_params guarantees it
// whenever add_scales_supported holds.
bool qnnpack_params_fit(const AddParams& p) {
  constexpr int32_t kMaxMult = int32_t{1} << 22;
  return p.shift >= 1 && p.shift <= 31 && p.a_mult >= 0 && p.a_mult <= kMaxMult && p.b_mult >= 0 &&
         p.b_mult <= kMaxMult;
}

}  // namespace

void add_u8_x32_avx2(const AddParams& p, const uint8_t* a, const uint8_t* b, uint8_t* out,
                     size_t begin, size_t end) {
  if (end <= begin) return;
  const size_t n = end - begin;
  a += begin;
  b += begin;
  out += begin;
  if (p.profile == Profile::fbgemm) {
    run_impl<true>(p, a, b, out, n);
  } else if (qnnpack_params_fit(p)) {
    run_impl<false>(p, a, b, out, n);
  } else {
    add_u8_ref(p, n, a, b, out);
  }
}

}  // namespace qrt::kernels::x86
