// The ARM kernel tables that kernels/cpu.cc selects from.
#pragma once

#include "kernels/cpu.h"

namespace qrt::kernels::arm {

// The tier's kernels, or null for a tier this build has no kernel for
// (neon_dotprod on armv7 or without compiler support).
const GemmKernel* gemm_kernel(Isa isa);
const ConvKernel* conv_kernel(Isa isa);
// The tier's kernel for a depthwise conv of this kernel size.
const DwConvKernel* dwconv_kernel(Isa isa, int kernel_h, int kernel_w);

// Same-shape quantized add (add_neon.cc); both ARM tiers run it.
void add_u8_x16_neon(const AddParams& p, const uint8_t* a, const uint8_t* b, uint8_t* out,
                     size_t begin, size_t end);
// The add kernel under the tier's name, or null for a non-ARM tier.
const AddKernel* add_kernel(Isa isa);

// Quantized multiply, same shape or b repeating with a period (mul_neon.cc);
// both ARM tiers run it.
void mul_u8_x16_neon(const MulParams& p, const uint8_t* a, const uint8_t* b, size_t b_period,
                     uint8_t* out, size_t begin, size_t end);
const MulKernel* mul_kernel(Isa isa);

// Float -> u8/s8 quantize (quantize_neon.cc); both ARM tiers run it.
void quantize_f32_u8_x16_neon(size_t n, const float* in, float scale, int32_t zp, uint8_t* out);
void quantize_f32_s8_x16_neon(size_t n, const float* in, float scale, int32_t zp, int8_t* out);
const QuantizeKernel* quantize_kernel(Isa isa);

// Byte-plane interleave for transpose_tiled (transpose_neon.cc); both ARM
// tiers run it.
void interleave_u8_x16_neon(int planes, size_t n, const uint8_t* in, size_t plane_stride,
                            uint8_t* out);
const TransposeKernel* transpose_kernel(Isa isa);
// Byte table lookup (lut_neon.cc), aarch64 only; both aarch64 tiers run it.
#if defined(__aarch64__)
void lut_u8_x16_neon(const uint8_t* table, size_t n, const uint8_t* in, uint8_t* out);
#endif
// Null on armv7, which runs lut_u8_ref.
const LutKernel* lut_kernel(Isa isa);

// Float32 GEMM (gemm_f32_neon.cc): both aarch64 tiers run it; null on armv7.
const F32GemmKernel* f32_gemm_kernel(Isa isa);

}  // namespace qrt::kernels::arm
