// Embedding tables quantized per row, as PyTorch 1.13's quantized
// nn.Embedding (torch.ao.nn.quantized.Embedding: quint8 weights from
// float_qparams_weight_only_qconfig) makes and reads them. In a model: GATHER
// on axis 0 of a u8 table [V, D] with a third input, f32 [V, 2], holding
// each row's scale and bias (what embedding_bag_prepack appends to the row).
#pragma once

#include <cstdint>

#include "kernels/ref/layout.h"

namespace qrt::kernels {

// The weight observer, quantize_per_channel and prepack, per row, in float32
// (f32(e) = e evaluated in float32):
//   PerChannelMinMaxObserver(quint8, per_channel_affine_float_qparams):
//     scale = f32((max - min) / 255), and 1 unless it is > eps = 2^-23
//     (a constant row), zero_point = f32(f32(-1 * min) / scale): a float,
//     and the range is not widened to hold 0;
//   q = clamp(rne(f32(f32(x * f32(1 / scale)) + zero_point)), 0, 255);
//   prepack: bias = f32(f32(zero_point * scale) * -1).
// scale_bias gets (scale, bias) per row. Rows must be finite.
void quantize_embedding_rows(const float* table, int64_t rows, int64_t cols, uint8_t* q, float* scale_bias);

// out[j, c] = f32(f64(scale) * q[k, c] + f64(bias)) for row k = indices[j]
// (plus rows if negative): embedding_byte's lookup adds each row into a
// zeroed output with fma(scale, q, out + bias), in double because q is an
// integer (C++ promotes the call). scale * q is exact in double, so the fma
// and the two roundings here are the same (float32 arithmetic changed 38% of
// the outputs of a sweep against PyTorch), and out + bias only turns a -0
// bias into +0, which scale * q >= +0 does too. p is a GatherParams on axis 0
// (outer 1, axis_size rows, inner cols). Like gather_ref: checks the indices
// first and writes nothing when one is out of range, returning its position,
// else -1.
int64_t gather_rows_u8_ref(const GatherParams& p, const uint8_t* table, const float* scale_bias,
                           const void* indices, float* out);

}  // namespace qrt::kernels
