// Reference quantize / dequantize between float32 and 8-bit tensors
// (QuantStub / DeQuantStub, and the edges of float islands in a model).
#pragma once

#include <cstddef>
#include <cstdint>

namespace qrt::kernels {

// q = clamp(zp + rne(f32(x * f32(1 / scale))), 0, 255): multiply by the
// reciprocal, round, then add the zero point (PyTorch's static quantize).
// Infinities saturate; NaN gives 0.
void quantize_f32_u8_ref(size_t n, const float* in, float scale, int32_t zp, uint8_t* out);

// As above into -128..127; NaN gives -128.
void quantize_f32_s8_ref(size_t n, const float* in, float scale, int32_t zp, int8_t* out);

// x = f32(scale * (q - zp)), PyTorch's scalar dequantize: q - zp is exact,
// so the single float product is the correctly rounded real product.
void dequantize_u8_f32_ref(size_t n, const uint8_t* in, float scale, int32_t zp, float* out);
void dequantize_s8_f32_ref(size_t n, const int8_t* in, float scale, int32_t zp, float* out);

}  // namespace qrt::kernels
