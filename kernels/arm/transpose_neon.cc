// Byte-plane interleave on NEON (interleave_u8_x16_neon, aarch64 and armv7),
// the inner loop of transpose_tiled for a u8 transpose whose output rows are
// 2, 3 or 4 bytes: NCHW -> NHWC of an RGB or RGBA image. The structure
// stores vst2/vst3/vst4 interleave 16 rows per step; the last 0..15 go
// through scalar code.
#include <arm_neon.h>

#include <cstddef>
#include <cstdint>

#include "kernels/arm/tables.h"

namespace qrt::kernels::arm {
namespace {

constexpr size_t kStep = 16;

void store(uint8_t* out, const uint8x16x2_t& v) { vst2q_u8(out, v); }
void store(uint8_t* out, const uint8x16x3_t& v) { vst3q_u8(out, v); }
void store(uint8_t* out, const uint8x16x4_t& v) { vst4q_u8(out, v); }

// Rows [0, n - n % 16) of P planes; returns how many rows it wrote.
template <class V, int P>
size_t interleave(const uint8_t* in, size_t plane_stride, size_t n, uint8_t* out) {
  size_t j = 0;
  for (; j + kStep <= n; j += kStep, out += kStep * P) {
    V v;
    for (int p = 0; p < P; ++p) v.val[p] = vld1q_u8(in + static_cast<size_t>(p) * plane_stride + j);
    store(out, v);
  }
  return j;
}

}  // namespace

void interleave_u8_x16_neon(int planes, size_t n, const uint8_t* in, size_t plane_stride,
                            uint8_t* out) {
  size_t j = 0;
  switch (planes) {
    case 2: j = interleave<uint8x16x2_t, 2>(in, plane_stride, n, out); break;
    case 3: j = interleave<uint8x16x3_t, 3>(in, plane_stride, n, out); break;
    case 4: j = interleave<uint8x16x4_t, 4>(in, plane_stride, n, out); break;
    default: break;
  }
  for (out += j * static_cast<size_t>(planes); j < n; ++j) {
    for (int p = 0; p < planes; ++p) *out++ = in[static_cast<size_t>(p) * plane_stride + j];
  }
}

}  // namespace qrt::kernels::arm
