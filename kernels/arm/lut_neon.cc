// Byte table lookup on aarch64 NEON: lut_u8_x16_neon, out[i] = table[in[i]]
// as lut_u8_ref. tbl looks up a 64-byte table (four q registers) and gives 0
// for an index of 64 or more; tbx leaves such lanes as they were. So the
// 256-byte table is four 64-byte pieces, and piece k is indexed by x - 64k
// (mod 256), which is below 64 exactly for the bytes of that piece: one tbl
// and three tbx per 16 bytes.
//
// armv7 has only 32-byte tables on 8-byte vectors (vtbl4), whose eight
// pieces would take every NEON register; it runs lut_u8_ref.
#if defined(__aarch64__)
#include <arm_neon.h>

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "kernels/arm/tables.h"

namespace qrt::kernels::arm {
namespace {

inline uint8x16_t lookup16(const uint8x16x4_t (&piece)[4], uint8x16_t x) {
  const uint8x16_t step = vdupq_n_u8(64);
  uint8x16_t r = vqtbl4q_u8(piece[0], x);
  x = vsubq_u8(x, step);
  r = vqtbx4q_u8(r, piece[1], x);
  x = vsubq_u8(x, step);
  r = vqtbx4q_u8(r, piece[2], x);
  x = vsubq_u8(x, step);
  return vqtbx4q_u8(r, piece[3], x);
}

}  // namespace

void lut_u8_x16_neon(const uint8_t* table, size_t n, const uint8_t* in, uint8_t* out) {
  if (n < 32) {
    // Loading the 16 table registers costs more than a short run saves.
    for (size_t i = 0; i < n; ++i) out[i] = table[in[i]];
    return;
  }
  uint8x16x4_t piece[4];
  for (int k = 0; k < 4; ++k) piece[k] = vld1q_u8_x4(table + 64 * k);
  size_t i = 0;
  for (; i + 16 <= n; i += 16) vst1q_u8(out + i, lookup16(piece, vld1q_u8(in + i)));
  if (i < n) {
    // The last n - i bytes through a zero-padded copy (in may be out).
    uint8_t tail[16] = {};
    std::memcpy(tail, in + i, n - i);
    vst1q_u8(tail, lookup16(piece, vld1q_u8(tail)));
    std::memcpy(out + i, tail, n - i);
  }
}

}  // namespace qrt::kernels::arm
#endif
