// Quantized average pools on AVX2, bit-exact with their references
// (kernels/ref/pool.h):
//
// global_avg_pool_u8_x32_avx2, as global_avg_pool_u8_ref in both profiles,
// which differ only in the multiplier baked into the params. Per channel
// acc = bias + sum_i in[i][c] in int32, exact: prepare keeps hw < 2^23, so
// the sum is below 255 * 2^23 < 2^31 and |bias| = in_zp * hw likewise.
//
// avg_pool2d_u8_x32_avx2, as avg_pool2d_u8_ref: per output pixel the same
// sums over the window's in-bounds taps, with bias -in_zp * taps and the
// window's multiplier (kernel area < 2^23, so again exact).
//
// Both take 32 channels per step: the bytes of up to 257 pixels add exactly
// in uint16 lanes (257 * 255 = 65535), so pixels go in runs of 256 into
// uint16 sums that are then widened into the int32 sums. Then
// v = f32(float(acc) * multiplier) and requant_avx2.h's capped cvtps2dq and
// saturating packs give clamp(rne(v) + out_zp, out_min, out_max), NaN and
// infinities included. Channels past the last multiple of 32 go 8 at a
// time, the last 0..7 through scalar sums and the same vector requant.
//
// Every x86 tier runs these kernels: a pool streams each byte once with one
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

// The pixels one output sums: rows x cols of them, pixel (r, i) at
// base + r * row_stride + i * col_stride.
struct Taps {
  const uint8_t* base;
  int rows, cols;
  size_t row_stride, col_stride;
};

// Eight int32 sums -> eight int32 rne(v) (INT_MIN for NaN).
__m256i requant_rne8(__m256i sum, const PoolConsts& k) {
  const __m256 v = _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_add_epi32(sum, k.bias)), k.mult);
  return _mm256_cvtps_epi32(_mm256_min_ps(k.q.cap, v));
}

// Eight int32 sums -> eight output bytes in the low 8 bytes.
__m128i requant8(__m256i sum, const PoolConsts& k) {
  const __m256i r = requant_rne8(sum, k);
  return _mm256_castsi256_si128(ymm_pack32(r, r, r, r, k.q));
}

// Adds the uint16 sums of 32 channels into their int32 sums.
void widen32(__m256i lo, __m256i hi, __m256i s[4]) {
  s[0] = _mm256_add_epi32(s[0], _mm256_cvtepu16_epi32(_mm256_castsi256_si128(lo)));
  s[1] = _mm256_add_epi32(s[1], _mm256_cvtepu16_epi32(_mm256_extracti128_si256(lo, 1)));
  s[2] = _mm256_add_epi32(s[2], _mm256_cvtepu16_epi32(_mm256_castsi256_si128(hi)));
  s[3] = _mm256_add_epi32(s[3], _mm256_cvtepu16_epi32(_mm256_extracti128_si256(hi, 1)));
}

void block32(const Taps& t, size_t c0, const PoolConsts& k, uint8_t* out) {
  __m256i s[4] = {_mm256_setzero_si256(), _mm256_setzero_si256(), _mm256_setzero_si256(),
                  _mm256_setzero_si256()};
  __m256i lo = _mm256_setzero_si256();
  __m256i hi = _mm256_setzero_si256();
  int run = 0;
  for (int r = 0; r < t.rows; ++r) {
    const uint8_t* p = t.base + r * t.row_stride + c0;
    for (int i = 0; i < t.cols; ++i, p += t.col_stride) {
      const __m256i b = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
      lo = _mm256_add_epi16(lo, _mm256_cvtepu8_epi16(_mm256_castsi256_si128(b)));
      hi = _mm256_add_epi16(hi, _mm256_cvtepu8_epi16(_mm256_extracti128_si256(b, 1)));
      if (++run == kRun) {
        widen32(lo, hi, s);
        lo = hi = _mm256_setzero_si256();
        run = 0;
      }
    }
  }
  widen32(lo, hi, s);
  _mm256_storeu_si256(reinterpret_cast<__m256i*>(out),
                      ymm_pack32(requant_rne8(s[0], k), requant_rne8(s[1], k),
                                 requant_rne8(s[2], k), requant_rne8(s[3], k), k.q));
}

void block8(const Taps& t, size_t c0, const PoolConsts& k, uint8_t* out) {
  __m256i s = _mm256_setzero_si256();
  for (int r = 0; r < t.rows; ++r) {
    const uint8_t* p = t.base + r * t.row_stride + c0;
    for (int i = 0; i < t.cols; ++i, p += t.col_stride) {
      s = _mm256_add_epi32(
          s, _mm256_cvtepu8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(p))));
    }
  }
  _mm_storel_epi64(reinterpret_cast<__m128i*>(out), requant8(s, k));
}

// n < 8 channels: scalar sums, vector requant, n bytes stored.
void block_tail(const Taps& t, size_t c0, int n, const PoolConsts& k, uint8_t* out) {
  alignas(32) int32_t sums[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  for (int r = 0; r < t.rows; ++r) {
    const uint8_t* p = t.base + r * t.row_stride + c0;
    for (int i = 0; i < t.cols; ++i, p += t.col_stride) {
      for (int j = 0; j < n; ++j) sums[j] += p[j];
    }
  }
  alignas(16) uint8_t bytes[16];
  _mm_store_si128(reinterpret_cast<__m128i*>(bytes),
                  requant8(_mm256_load_si256(reinterpret_cast<const __m256i*>(sums)), k));
  std::memcpy(out, bytes, static_cast<size_t>(n));
}

// All channels of one output pixel.
void pool_pixel(const Taps& t, size_t channels, const PoolConsts& k, uint8_t* out) {
  size_t c0 = 0;
  for (; c0 + 32 <= channels; c0 += 32) block32(t, c0, k, out + c0);
  for (; c0 + 8 <= channels; c0 += 8) block8(t, c0, k, out + c0);
  if (c0 < channels) block_tail(t, c0, static_cast<int>(channels - c0), k, out + c0);
}

// The in-bounds taps [begin, end) of a window starting at `start` along an
// axis of n (dilation 1), as taps_inside in kernels/ref/pool.cc finds them.
struct AxisTaps {
  int begin, end;
};

AxisTaps axis_taps(int start, int kernel, int n) {
  const int64_t stop = int64_t{start} + kernel;
  AxisTaps a{start < 0 ? 0 : start, static_cast<int>(stop < n ? stop : n)};
  if (a.end < a.begin) a.end = a.begin;
  return a;
}

}  // namespace

void global_avg_pool_u8_x32_avx2(const GlobalAvgPoolParams& p, int batch, int hw, int channels,
                                 const uint8_t* in, uint8_t* out) {
  // The saturating packs are exact for 0 <= out_min <= out_max <= 255 and
  // 0 <= out_zp <= 255 (requant_avx2.h), which u8 tensors always have.
  if (p.out_zp < 0 || p.out_zp > 255 || p.out_min < 0 || p.out_min > p.out_max || p.out_max > 255) {
    global_avg_pool_u8_ref(p, batch, hw, channels, in, out);
    return;
  }
  PoolConsts k;
  k.bias = _mm256_set1_epi32(p.bias);
  k.mult = _mm256_set1_ps(p.multiplier);
  k.q = ymm_requant_setup(p.out_zp, p.out_min, p.out_max);
  const size_t c = static_cast<size_t>(channels);
  for (int b = 0; b < batch; ++b) {
    const Taps t{in + static_cast<size_t>(b) * hw * c, 1, hw, 0, c};
    pool_pixel(t, c, k, out + static_cast<size_t>(b) * c);
  }
}

void avg_pool2d_u8_x32_avx2(const Pool2DWindow& s, const AvgPoolParams& p, const uint8_t* in,
                            uint8_t* out) {
  if (p.out_zp < 0 || p.out_zp > 255 || s.dilation_h != 1 || s.dilation_w != 1) {
    avg_pool2d_u8_ref(s, p, in, out);
    return;
  }
  PoolConsts k;
  k.q = ymm_requant_setup(p.out_zp, 0, 255);
  const size_t c = static_cast<size_t>(s.channels);
  const size_t row_stride = static_cast<size_t>(s.in_w) * c;
  // The generic multiplier changes only with the divisor, which is the same
  // for most windows: recompute it when the divisor changes.
  bool have_divisor = false;
  int64_t divisor = 0;
  float multiplier = p.multiplier;
  for (int n = 0; n < s.batch; ++n) {
    const uint8_t* image = in + static_cast<size_t>(n) * s.in_h * row_stride;
    for (int oy = 0; oy < s.out_h; ++oy) {
      const AxisTaps ry = axis_taps(oy * s.stride_h - s.pad_top, s.kernel_h, s.in_h);
      for (int ox = 0; ox < s.out_w; ++ox) {
        const AxisTaps rx = axis_taps(ox * s.stride_w - s.pad_left, s.kernel_w, s.in_w);
        if (!p.qnnpack_kernel) {
          const int64_t d = avg_pool_divisor(s, p, oy, ox);
          if (!have_divisor || d != divisor) {
            have_divisor = true;
            divisor = d;
            multiplier = avg_pool_generic_multiplier(p.scale_ratio, d);
          }
        }
        const Taps t{image + ry.begin * row_stride + static_cast<size_t>(rx.begin) * c,
                     ry.end - ry.begin, rx.end - rx.begin, row_stride, c};
        k.bias = _mm256_set1_epi32(-p.in_zp * (t.rows * t.cols));
        k.mult = _mm256_set1_ps(multiplier);
        pool_pixel(t, c, k, out + ((static_cast<size_t>(n) * s.out_h + oy) * s.out_w + ox) * c);
      }
    }
  }
}

}  // namespace qrt::kernels::x86
