// Reference elementwise add of two same-shaped tensors.
#pragma once

#include <cstddef>
#include <cstdint>

#include "kernels/params.h"

namespace qrt::kernels {

// Quantized add with params from make_add_params():
//   fbgemm (PyTorch's generic kernel, vectorised form):
//     x = fma(s_a, a, f32(s_a * -a_zp)) + fma(s_b, b, f32(s_b * -b_zp))
//     y = clamp(out_zp + rne(f32(x * out_inv_scale)), out_min, out_max)
//   qnnpack (QNNPACK q8vadd, fixed point):
//     acc = a_mult * (a - a_zp) + b_mult * (b - b_zp)     (fits int32)
//     y = clamp(rhaz(acc / 2^shift) + out_zp, out_min, out_max)
//   where rhaz rounds half away from zero.
// A fused ReLU is out_min = out_zp in both: quantize is monotonic and
// quantize(0) = out_zp, so clamping the byte equals clamping x at 0 first.
void add_u8_ref(const AddParams& p, size_t n, const uint8_t* a, const uint8_t* b, uint8_t* out);

// out = clamp(a + b, act_min, act_max); NaN propagates.
void add_f32_ref(size_t n, const float* a, const float* b, float act_min, float act_max,
                 float* out);

}  // namespace qrt::kernels
