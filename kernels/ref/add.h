// Reference elementwise add: same-shape and broadcasting (binary.h).
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

// Quantized add with numpy broadcasting (s from make_broadcast()).
// PyTorch's QNNPACK add needs equal shapes; for any other shapes 1.13 runs
// its generic kernel on either engine, so here both profiles dequantize,
// add in float and quantize (rne):
//   fbgemm:  x = fma(s_a, a, f32(s_a * -a_zp)) + fma(s_b, b, f32(s_b * -b_zp))
//            (the AVX2 vector path of the x86 engine, as add_u8_ref)
//   qnnpack: x = f32(s_a * (a - a_zp)) + f32(s_b * (b - b_zp))
//            (the generic kernel as PyTorch runs it on ARM, where quantized
//            vectors dequantize element by element; on x86 it is the
//            scalar path that short broadcast rows take)
//   y = clamp(out_zp + rne(f32(x * out_inv_scale)), out_min, out_max)
// Only the scale, zero point and clamp fields of p are used.
void add_u8_broadcast_ref(const AddParams& p, const BroadcastShape& s, const uint8_t* a,
                          const uint8_t* b, uint8_t* out);

// out = clamp(a + b, act_min, act_max); NaN propagates.
void add_f32_ref(size_t n, const float* a, const float* b, float act_min, float act_max,
                 float* out);

}  // namespace qrt::kernels
