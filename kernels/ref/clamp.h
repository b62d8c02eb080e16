// Reference clamps: ReLU/ReLU6 on quantized tensors are a clamp of the bytes
// (relu = max(q, zp), relu6 = min(max(q, zp), quantize(6))), and of floats.
#pragma once

#include <cstddef>
#include <cstdint>

namespace qrt::kernels {

// out[i] = min(max(in[i], lo), hi); in may equal out.
void clamp_u8_ref(size_t n, const uint8_t* in, uint8_t lo, uint8_t hi, uint8_t* out);

// out[i] = min(max(in[i], lo), hi); NaN stays NaN; in may equal out.
void clamp_f32_ref(size_t n, const float* in, float lo, float hi, float* out);

}  // namespace qrt::kernels
