// The x86 kernel tables that kernels/cpu.cc selects from.
#pragma once

#include "kernels/cpu.h"

namespace qrt::kernels::x86 {

extern const GemmKernel kGemmAvx2;
extern const GemmKernel kGemmAvxvnni;
extern const GemmKernel kGemmAvx512vnni;

extern const ConvKernel kConvAvx2;
extern const ConvKernel kConvAvxvnni;
extern const ConvKernel kConvAvx512vnni;

// The tier's kernel for a depthwise conv of this kernel size.
const DwConvKernel* dwconv_avx2(int kernel_h, int kernel_w);
const DwConvKernel* dwconv_avxvnni(int kernel_h, int kernel_w);
const DwConvKernel* dwconv_avx512vnni(int kernel_h, int kernel_w);

// Same-shape quantized add (add_avx2.cc); every x86 tier runs it.
void add_u8_x32_avx2(const AddParams& p, const uint8_t* a, const uint8_t* b, uint8_t* out,
                     size_t begin, size_t end);
// The add kernel under the tier's name, or null for a non-x86 tier.
const AddKernel* add_kernel(Isa isa);

// Quantized multiply, same shape or b repeating with a period (mul_avx2.cc);
// every x86 tier runs it.
void mul_u8_x32_avx2(const MulParams& p, const uint8_t* a, const uint8_t* b, size_t b_period,
                     uint8_t* out, size_t begin, size_t end);
const MulKernel* mul_kernel(Isa isa);

// Quantized global and windowed average pools (pool_avx2.cc); every x86
// tier runs them.
void global_avg_pool_u8_x32_avx2(const GlobalAvgPoolParams& p, int batch, int hw, int channels,
                                 const uint8_t* in, uint8_t* out);
void avg_pool2d_u8_x32_avx2(const Pool2DWindow& shape, const AvgPoolParams& p, const uint8_t* in,
                            uint8_t* out);
const PoolKernel* pool_kernel(Isa isa);

// Float -> u8/s8 quantize (quantize_avx2.cc); every x86 tier runs it.
void quantize_f32_u8_x32_avx2(size_t n, const float* in, float scale, int32_t zp, uint8_t* out);
void quantize_f32_s8_x32_avx2(size_t n, const float* in, float scale, int32_t zp, int8_t* out);
const QuantizeKernel* quantize_kernel(Isa isa);

// Byte-plane interleave for transpose_tiled (transpose_avx2.cc); every x86
// tier runs it.
void interleave_u8_x32_avx2(int planes, size_t n, const uint8_t* in, size_t plane_stride,
                            uint8_t* out);
const TransposeKernel* transpose_kernel(Isa isa);

// Byte table lookup (lut_avx2.cc); every x86 tier runs it.
void lut_u8_x32_avx2(const uint8_t* table, size_t n, const uint8_t* in, uint8_t* out);
const LutKernel* lut_kernel(Isa isa);

}  // namespace qrt::kernels::x86
