// Reference transposed 2-D convolution (ConvTranspose2d): NHWC activations,
// OHWI weights with O = out_c and I = in_c / groups (the converter permutes
// PyTorch's [in_c, out_c / groups, kh, kw]).
#pragma once

#include <cstdint>

#include "kernels/params.h"

namespace qrt::kernels {

// Conv2DShape describes the transposed convolution read the other way: input
// pixel (iy, ix) feeds output pixel
//   oy = iy * stride_h - pad_top + ky * dilation_h   (ox likewise)
// through tap (ky, kx), and taps landing outside the output are dropped.
// out_h/out_w come from the model (they fix output_padding). Each kernel
// gathers per output pixel: tap ky contributes when
// t = oy + pad_top - ky * dilation_h is a non-negative multiple of stride_h
// and iy = t / stride_h < in_h.
//
// Quantized, uint8 activations x int8 weights:
//   acc[n,oy,ox,oc] = sum over contributing taps, ic in oc's group of
//                     (in[n,iy,ix,g*icg+ic] - in_zp) * w[oc,ky,kx,ic]
//   out = requantize(acc, rq, oc)  (quant_math.h)
// PyTorch computes the same accumulator with the same requantization as its
// convolution in both engines (QNNPACK's deconvolution: int32 bias in the
// accumulator; FBGEMM: float bias after it), so make_conv_requant applies
// unchanged. An output pixel no tap reaches holds just the bias.
//
// Accumulator bound: at most K = kernel_h * kernel_w * in_c / groups terms
// reach one output, so prepare applies conv's check, K <= 32768 and
// |bias_q| <= 2^30 (see accumulator_fits_int32).
void transpose_conv2d_u8s8_ref(const Conv2DShape& shape, const uint8_t* in, int32_t in_zp,
                               const int8_t* w, const Requant& rq, uint8_t* out);

// Float: out = clamp(bias[oc] + sum in * w, act_min, act_max), taps summed in
// (ky, kx, ic) order after the bias; bias may be null. Equal to PyTorch only
// to a summation-order tolerance.
void transpose_conv2d_f32_ref(const Conv2DShape& shape, const float* in, const float* w,
                              const float* bias, float act_min, float act_max, float* out);

}  // namespace qrt::kernels
