// Internal to the dynamic linear kernels (kernels/dynamic_linear.cc and the
// tiers' dynamic_linear_*.cc): the packed weight layout, the steps every tier
// shares, and the tiers' tables. Files compiled with different -m flags
// include this: plain structs, declarations and static inline helpers only
// (kernels/x86/layout.h says why).
//
// Every tier computes fully_connected_dynamic_ref's numbers in the same
// order: one scan for min, max and finiteness, choose_quantization_params,
// the quantize of the profile, then per output
//   acc = sum_k q * w + (a_offset - zp) * rowsum(w)    (int32, exact)
//   v = f32(f32(acc) * f32(w_scale[c] * scale)) [+ bias[c]], clamped.
// acc equals the reference's sum_k (q - zp) * w: the true value fits int32
// (k <= kMaxAccumulationDepth), so wrapping partial sums still end there.
#pragma once

#include <cstddef>
#include <cstdint>

#include "kernels/cpu.h"
#include "kernels/params.h"

namespace qrt::kernels::dynlin {

// Weights: blocks of `panels` panels of nr columns; k in groups of 4
// bytes, the u8 x s8 dot product of one 32-bit lane. Block b, k group g,
// panel j, column c, byte i holds
//   w[(b * panels + j) * nr + c][4 * g + i]   (zero past n and k),
// so one block is one stream read front to back, whatever the row count.
// The last block is padded to whole panels too: one tile shape serves
// every block.
struct Layout {
  int nr;
  int panels;
};

// Header of a packed buffer, followed at 64-byte aligned offsets by
//   rowsum[n_pad] int32  sum_k w[c][k]
//   scale[n_pad]  float  w_scale[c] (the one scale repeated when per-tensor)
//   bias[n_pad]   float  bias[c], zeros without one
//   weights, block after block (block_stride bytes apart)
// with n_pad = blocks * panels * nr; padding columns are zero.
struct Packed {
  DynamicLinearParams src;  // for the armv7 reference fallback
  int32_t n, k, k_pad, blocks;
  int32_t nr, panels;
  int32_t add_bias;  // a bias, or qnnpack's zeros (its -0 + 0 = +0)
  // armv7 NEON flushes subnormals: the vector epilogue is exact only when
  // scales, bias and clamp bounds keep every operand normal or zero.
  int32_t ftz_safe;
  uint64_t rowsum_offset, scale_offset, bias_offset, w_offset;
  uint64_t block_stride;
};

static inline const int32_t* rowsum(const Packed* p) {
  return reinterpret_cast<const int32_t*>(reinterpret_cast<const uint8_t*>(p) + p->rowsum_offset);
}
static inline const float* col_scale(const Packed* p) {
  return reinterpret_cast<const float*>(reinterpret_cast<const uint8_t*>(p) + p->scale_offset);
}
static inline const float* col_bias(const Packed* p) {
  return reinterpret_cast<const float*>(reinterpret_cast<const uint8_t*>(p) + p->bias_offset);
}
static inline const int8_t* block_w(const Packed* p, int b) {
  return reinterpret_cast<const int8_t*>(p) + p->w_offset + static_cast<uint64_t>(b) * p->block_stride;
}

size_t packed_bytes(const Layout& l, int n, int k);
void pack(const Layout& l, const DynamicLinearParams& p, void* packed);
// rows * k_pad quantized bytes.
size_t scratch_bytes(int rows, int k);

// One call's activation quantization.
struct Quant {
  float scale;
  float inv;  // f32(1 / scale)
  int32_t zp;
  bool qnnpack;
};

struct Range {
  float lo, hi;
  bool finite;
};

// The steps a tier supplies. quantize writes k bytes of q (xor flip) and
// zeros up to k_pad; gemm adds (a_offset - zp) * rowsum to each accumulator.
struct TierOps {
  Range (*scan)(const float* in, size_t n);
  void (*quantize)(const float* in, int k, int k_pad, const Quant& q, uint8_t flip, uint8_t* out);
  void (*gemm)(const Packed* p, const Quant& q, int rows, const uint8_t* a, float* out);
  uint8_t flip;  // 0x80 for an s8 x s8 dot product: q - 128, a_offset 128
};

// The shared skeleton of DynamicLinearKernel::run.
void run(const TierOps& ops, const void* packed, int rows, const float* in, float* out,
         void* scratch);
// Scalar scan, the reference's loop.
Range scan_scalar(const float* in, size_t n);

// dynamic_linear_avx2.cc: the scan and quantize every x86 tier uses.
Range scan_avx2(const float* in, size_t n);
void quantize_avx2(const float* in, int k, int k_pad, const Quant& q, uint8_t flip, uint8_t* out);
extern const DynamicLinearKernel kAvx2;
extern const DynamicLinearKernel kAvxvnni;
extern const DynamicLinearKernel kAvx512vnni;
// dynamic_linear_neon.cc: the scan and quantize both ARM tiers use.
Range scan_neon(const float* in, size_t n);
void quantize_neon(const float* in, int k, int k_pad, const Quant& q, uint8_t flip, uint8_t* out);
extern const DynamicLinearKernel kNeon;
extern const DynamicLinearKernel kNeondot;

}  // namespace qrt::kernels::dynlin
