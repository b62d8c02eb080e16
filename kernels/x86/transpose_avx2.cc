// Byte-plane interleave on AVX2 (interleave_u8_x32_avx2), the inner loop of
// transpose_tiled for a u8 transpose whose output rows are 2, 3 or 4 bytes:
// NCHW -> NHWC of an RGB or RGBA image. 32 output rows per step, the last
// 0..31 in scalar code.
//
// The byte shuffles and unpacks work within 128-bit lanes, so lane 0 of each
// result holds rows 0..15 and lane 1 rows 16..31; vperm2i128 puts the
// 16-byte pieces back in output order.
#include <immintrin.h>

#include <cstddef>
#include <cstdint>

#include "kernels/x86/tables.h"

namespace qrt::kernels::x86 {
namespace {

constexpr size_t kStep = 32;

__m256i load(const uint8_t* p) { return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)); }

void store(uint8_t* p, __m256i v) { _mm256_storeu_si256(reinterpret_cast<__m256i*>(p), v); }

void interleave2(const uint8_t* a, const uint8_t* b, uint8_t* out) {
  const __m256i va = load(a), vb = load(b);
  const __m256i lo = _mm256_unpacklo_epi8(va, vb);  // rows 0-7 | 16-23
  const __m256i hi = _mm256_unpackhi_epi8(va, vb);  // rows 8-15 | 24-31
  store(out, _mm256_permute2x128_si256(lo, hi, 0x20));
  store(out + 32, _mm256_permute2x128_si256(lo, hi, 0x31));
}

void interleave4(const uint8_t* a, const uint8_t* b, const uint8_t* c, const uint8_t* d,
                 uint8_t* out) {
  const __m256i va = load(a), vb = load(b), vc = load(c), vd = load(d);
  const __m256i ab_lo = _mm256_unpacklo_epi8(va, vb), ab_hi = _mm256_unpackhi_epi8(va, vb);
  const __m256i cd_lo = _mm256_unpacklo_epi8(vc, vd), cd_hi = _mm256_unpackhi_epi8(vc, vd);
  const __m256i w0 = _mm256_unpacklo_epi16(ab_lo, cd_lo);  // rows 0-3 | 16-19
  const __m256i w1 = _mm256_unpackhi_epi16(ab_lo, cd_lo);  // rows 4-7 | 20-23
  const __m256i w2 = _mm256_unpacklo_epi16(ab_hi, cd_hi);  // rows 8-11 | 24-27
  const __m256i w3 = _mm256_unpackhi_epi16(ab_hi, cd_hi);  // rows 12-15 | 28-31
  store(out, _mm256_permute2x128_si256(w0, w1, 0x20));
  store(out + 32, _mm256_permute2x128_si256(w2, w3, 0x20));
  store(out + 64, _mm256_permute2x128_si256(w0, w1, 0x31));
  store(out + 96, _mm256_permute2x128_si256(w2, w3, 0x31));
}

// Three planes: output byte t of a 48-byte group is plane t % 3, row t / 3.
// mask[m][c] picks plane c's bytes for the m-th 16 bytes (0x80 writes 0,
// so the three shuffles combine with or).
struct Masks3 {
  __m256i m[3][3];
};

Masks3 make_masks3() {
  Masks3 s;
  for (int m = 0; m < 3; ++m) {
    for (int c = 0; c < 3; ++c) {
      alignas(32) uint8_t bytes[32];
      for (int t = 0; t < 16; ++t) {
        const int pos = 16 * m + t;
        bytes[t] = bytes[t + 16] = pos % 3 == c ? static_cast<uint8_t>(pos / 3) : 0x80;
      }
      s.m[m][c] = _mm256_load_si256(reinterpret_cast<const __m256i*>(bytes));
    }
  }
  return s;
}

__m256i shuffle3(const __m256i* v, const __m256i* mask) {
  return _mm256_or_si256(
      _mm256_or_si256(_mm256_shuffle_epi8(v[0], mask[0]), _mm256_shuffle_epi8(v[1], mask[1])),
      _mm256_shuffle_epi8(v[2], mask[2]));
}

void interleave3(const uint8_t* a, const uint8_t* b, const uint8_t* c, const Masks3& s,
                 uint8_t* out) {
  const __m256i v[3] = {load(a), load(b), load(c)};
  const __m256i x0 = shuffle3(v, s.m[0]);  // bytes 0-15 of rows 0-15 | of rows 16-31
  const __m256i x1 = shuffle3(v, s.m[1]);  // bytes 16-31
  const __m256i x2 = shuffle3(v, s.m[2]);  // bytes 32-47
  store(out, _mm256_permute2x128_si256(x0, x1, 0x20));
  store(out + 32, _mm256_permute2x128_si256(x2, x0, 0x30));
  store(out + 64, _mm256_permute2x128_si256(x1, x2, 0x31));
}

}  // namespace

void interleave_u8_x32_avx2(int planes, size_t n, const uint8_t* in, size_t plane_stride,
                            uint8_t* out) {
  const size_t step_out = kStep * static_cast<size_t>(planes);
  size_t j = 0;
  if (planes == 2) {
    const uint8_t* b = in + plane_stride;
    for (; j + kStep <= n; j += kStep, out += step_out) interleave2(in + j, b + j, out);
  } else if (planes == 3) {
    const uint8_t* b = in + plane_stride;
    const uint8_t* c = b + plane_stride;
    const Masks3 s = make_masks3();
    for (; j + kStep <= n; j += kStep, out += step_out) interleave3(in + j, b + j, c + j, s, out);
  } else if (planes == 4) {
    const uint8_t* b = in + plane_stride;
    const uint8_t* c = b + plane_stride;
    const uint8_t* d = c + plane_stride;
    for (; j + kStep <= n; j += kStep, out += step_out)
      interleave4(in + j, b + j, c + j, d + j, out);
  }
  for (; j < n; ++j) {
    for (int p = 0; p < planes; ++p) *out++ = in[static_cast<size_t>(p) * plane_stride + j];
  }
}

}  // namespace qrt::kernels::x86
