// Reference fully connected (linear) layer: input [batch, in_features],
// weights [out_features, in_features] (row per output, as PyTorch stores them).
#pragma once

#include <cmath>
#include <cstdint>

#include "kernels/params.h"

namespace qrt::kernels {

// Quantized linear, uint8 activations x int8 weights:
//   acc[b,o] = sum_k (in[b,k] - in_zp) * w[o,k];  out[b,o] = requantize(acc, rq, o)
// (quant_math.h).
//
// Accumulator bound: K = in_features must satisfy
// accumulator_fits_int32(K, max |bias_q|), i.e. K * 255 * 128 + |bias_q| <=
// 2^31 - 1; prepare must check K <= kMaxAccumulationDepth (32768) and
// |bias_q| <= 2^30. Past that the sum wraps modulo 2^32 as QNNPACK's int32
// accumulators do.
void fully_connected_u8s8_ref(const FullyConnectedShape& shape, const uint8_t* in, int32_t in_zp,
                              const int8_t* w, const Requant& rq, uint8_t* out);

// Float linear: out = clamp(bias[o] + sum_k in * w, act_min, act_max), summed
// in k order after the bias; bias may be null. Like conv2d_f32_ref, equal to
// other implementations only to a summation-order tolerance.
void fully_connected_f32_ref(const FullyConnectedShape& shape, const float* in, const float* w,
                             const float* bias, float act_min, float act_max, float* out);

// Dynamically quantized linear (PyTorch's quantize_dynamic Linear,
// quantized::linear_dynamic / linear_relu_dynamic), DynamicLinearParams
// (params.h): float input and output, int8 symmetric weights, and an input
// quantized anew at every call.
// 1. min/max of the whole input, ChooseQuantizationParams (choose_qparams.h)
//    over 0..255; fbgemm passes reduce_range (0..127), qnnpack ignores it.
//    s = f32(scale), inv = f32(1 / s).
// 2. quantize into scratch (batch * in_features bytes):
//      qnnpack: q = clamp(zp + rne(f32(x * inv)), 0, 255)   (static quantize)
//      fbgemm:  q = clamp(rne(fma(x, inv, zp)), 0, 255)      (one rounding)
// 3. acc = sum_k (q - zp) * w;  out = f32(f32(float(acc) * f32(w_scale[c] * s)) + bias[c]),
//    clamped to [act_min, act_max]. Without a bias qnnpack still adds 0.f
//    (its packed bias is zeros), fbgemm adds nothing.
// The same accumulator bound as fully_connected_u8s8_ref: in_features <=
// kMaxAccumulationDepth keeps acc exact in int32 (|q - zp| <= 255, |w| <= 128).
// An input holding NaN or an infinity makes every output NaN (PyTorch throws:
// ChooseQuantizationParams refuses a NaN range, an infinite one gives an
// infinite requantization scale).
void fully_connected_dynamic_ref(const DynamicLinearParams& p, const float* in, uint8_t* scratch,
                                 float* out);

}  // namespace qrt::kernels
