// Reference 2-D convolution: the executable spec for every optimized conv
// kernel (NHWC activations, OHWI weights, see Conv2DShape).
#pragma once

#include <cstdint>

#include "kernels/params.h"

namespace qrt::kernels {

// Quantized conv, uint8 activations x int8 weights:
//   acc[n,oy,ox,oc] = sum over taps in bounds, ic in oc's group of
//                     (in[n,iy,ix,g*icg+ic] - in_zp) * w[oc,ky,kx,ic]
//   iy = oy*stride_h - pad_top + ky*dilation_h (ix likewise),
// then out = requantize(acc, rq, oc) (quant_math.h). A padded tap contributes
// nothing, exactly as if it held in_zp. Any kernel size, stride, dilation,
// padding and groups (out_c and in_c divisible by groups; depthwise is
// groups == in_c).
//
// Accumulator bound: the reduction length K = kernel_h * kernel_w * in_c /
// groups must satisfy accumulator_fits_int32(K, max |bias_q|), i.e.
// K * 255 * 128 + |bias_q| <= 2^31 - 1; prepare must check
// K <= kMaxAccumulationDepth (32768) and |bias_q| <= 2^30. Past that the sum
// wraps modulo 2^32 as QNNPACK's int32 accumulators do.
void conv2d_u8s8_ref(const Conv2DShape& shape, const uint8_t* in, int32_t in_zp,
                     const int8_t* w, const Requant& rq, uint8_t* out);

// Float conv with the same layout: out = clamp(bias[oc] + sum in * w,
// act_min, act_max), taps summed in (ky, kx, ic) order after the bias. bias
// may be null; act_min/act_max may be -inf/+inf. Float results depend on
// summation order, so they match PyTorch and optimized kernels only to a
// tolerance.
void conv2d_f32_ref(const Conv2DShape& shape, const float* in, const float* w, const float* bias,
                    float act_min, float act_max, float* out);

}  // namespace qrt::kernels
