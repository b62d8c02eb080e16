// Quantized global average pool on AVX2: global_avg_pool_u8_x32_avx2,
// bit-exact with global_avg_pool_u8_ref (kernels/ref/pool.h) in both
// profiles, which differ only in the multiplier baked into the params.
//
// Per channel acc = bias + sum_i in[i][c] in int32, exact: prepare keeps
// hw < 2^23, so the sum is below 255 * 2^23 < 2^31 and |bias| = in_zp * hw
// likewise. 32 channels per step: the bytes of up to 257 pixels add exactly
// in uint16 lanes (257 * 255 = 65535), so pixels go in runs of 256 into
// uint16 sums that are then widened into the int32 sums. Then
// v = f32(float(acc) * multiplier) and requant_avx2.h's capped cvtps2dq and
// saturating packs give clamp(rne(v) + out_zp, out_min, out_max), NaN and
// infinities included. Channels past the last multiple of 32 go 8 at a
// time, the last 0..7 through scalar sums and the same vector requant.
//
// Every x86 tier runs this kernel: the pool streams each byte once with one
// add, so it is bound by loads, not by vector width.
#include <immintrin.h>

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "kernels/ref/pool.h"
#include "kernels/x86/requant_avx2.h"
#include "kernels/x86/tables.h"

namespace qrt::kernels::x86 {
namespace {

constexpr int kRun = 256;  // pixels per uint16 run

struct PoolConsts {
  __m256i bias;
  __m256 mult;
  YmmRequant q;
};

// Eight int32 sums -> eight output bytes in the low 8 bytes.
__m128i requant8(__m256i sum, const PoolConsts& k) {
  const __m256 v = _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_add_epi32(sum, k.bias)), k.mult);
  const __m256i r = _mm256_cvtps_epi32(_mm256_min_ps(k.q.cap, v));
  return _mm256_castsi256_si128(ymm_pack32(r, r, r, r, k.q));
}

void block32(const uint8_t* in, size_t stride, int hw, const PoolConsts& k, uint8_t* out) {
  __m256i s[4] = {_mm256_setzero_si256(), _mm256_setzero_si256(), _mm256_setzero_si256(),
                  _mm256_setzero_si256()};
  for (int i0 = 0; i0 < hw; i0 += kRun) {
    const int i1 = hw - i0 < kRun ? hw : i0 + kRun;
    __m256i lo = _mm256_setzero_si256();
    __m256i hi = _mm256_setzero_si256();
    const uint8_t* p = in + static_cast<size_t>(i0) * stride;
    for (int i = i0; i < i1; ++i, p += stride) {
      const __m256i b = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
      lo = _mm256_add_epi16(lo, _mm256_cvtepu8_epi16(_mm256_castsi256_si128(b)));
      hi = _mm256_add_epi16(hi, _mm256_cvtepu8_epi16(_mm256_extracti128_si256(b, 1)));
    }
    s[0] = _mm256_add_epi32(s[0], _mm256_cvtepu16_epi32(_mm256_castsi256_si128(lo)));
    s[1] = _mm256_add_epi32(s[1], _mm256_cvtepu16_epi32(_mm256_extracti128_si256(lo, 1)));
    s[2] = _mm256_add_epi32(s[2], _mm256_cvtepu16_epi32(_mm256_castsi256_si128(hi)));
    s[3] = _mm256_add_epi32(s[3], _mm256_cvtepu16_epi32(_mm256_extracti128_si256(hi, 1)));
  }
  __m256i r[4];
  for (int j = 0; j < 4; ++j) {
    const __m256 v =
        _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_add_epi32(s[j], k.bias)), k.mult);
    r[j] = _mm256_cvtps_epi32(_mm256_min_ps(k.q.cap, v));
  }
  _mm256_storeu_si256(reinterpret_cast<__m256i*>(out), ymm_pack32(r[0], r[1], r[2], r[3], k.q));
}

void block8(const uint8_t* in, size_t stride, int hw, const PoolConsts& k, uint8_t* out) {
  __m256i s = _mm256_setzero_si256();
  const uint8_t* p = in;
  for (int i = 0; i < hw; ++i, p += stride) {
    s = _mm256_add_epi32(s, _mm256_cvtepu8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(p))));
  }
  _mm_storel_epi64(reinterpret_cast<__m128i*>(out), requant8(s, k));
}

// n < 8 channels: scalar sums, vector requant, n bytes stored.
void block_tail(const uint8_t* in, size_t stride, int hw, int n, const PoolConsts& k,
                uint8_t* out) {
  alignas(32) int32_t sums[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  const uint8_t* p = in;
  for (int i = 0; i < hw; ++i, p += stride) {
    for (int j = 0; j < n; ++j) sums[j] += p[j];
  }
  alignas(16) uint8_t bytes[16];
  _mm_store_si128(reinterpret_cast<__m128i*>(bytes),
                  requant8(_mm256_load_si256(reinterpret_cast<const __m256i*>(sums)), k));
  std::memcpy(out, bytes, static_cast<size_t>(n));
}

}  // namespace

void global_avg_pool_u8_x32_avx2(const GlobalAvgPoolParams& p, int batch, int hw, int channels,
                                 const uint8_t* in, uint8_t* out) {
  // The saturating packs are exact for 0 <= out_min <= out_max <= 255 and
  // 0 <= out_zp <= 255 (requant_avx2.h), which u8 tensors always have.
  if (p.out_zp < 0 || p.out_zp > 255 || p.out_min < 0 || p.out_min > p.out_max ||
      p.out_max > 255) {
    global_avg_pool_u8_ref(p, batch, hw, channels, in, out);
    return;
  }
  PoolConsts k;
  k.bias = _mm256_set1_epi32(p.bias);
  k.mult = _mm256_set1_ps(p.multiplier);
  k.q = ymm_requant_setup(p.out_zp, p.out_min, p.out_max);
  const size_t c = static_cast<size_t>(channels);
  for (int b = 0; b < batch; ++b) {
    const uint8_t* image = in + static_cast<size_t>(b) * hw * c;
    uint8_t* o = out + static_cast<size_t>(b) * c;
    size_t c0 = 0;
    for (; c0 + 32 <= c; c0 += 32) block32(image + c0, c, hw, k, o + c0);
    for (; c0 + 8 <= c; c0 += 8) block8(image + c0, c, hw, k, o + c0);
    if (c0 < c) block_tail(image + c0, c, hw, static_cast<int>(c - c0), k, o + c0);
  }
}

}  // namespace qrt::kernels::x86
