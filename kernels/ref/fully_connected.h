// Reference fully connected (linear) layer: input [batch, in_features],
// weights [out_features, in_features] (row per output, as PyTorch stores them).
#pragma once

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

}  // namespace qrt::kernels
