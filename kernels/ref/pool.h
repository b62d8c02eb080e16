// Reference pooling over NHWC tensors.
#pragma once

#include <cstdint>

#include "kernels/params.h"

namespace qrt::kernels {

// Max over the in-bounds taps of each window (padding taps are ignored);
// quantization params pass through. A window with no in-bounds tap gives 0
// (PyTorch never builds one: padding is at most half the kernel).
void max_pool2d_u8_ref(const Pool2DShape& shape, const uint8_t* in, uint8_t* out);

// As above; a NaN tap makes the output NaN (PyTorch's float max pool), and
// an empty window gives -inf.
void max_pool2d_f32_ref(const Pool2DShape& shape, const float* in, float* out);

// Global average pool, in [batch, hw, channels] -> out [batch, channels],
// with params from make_global_avg_pool_params():
//   acc = bias + sum_i in[b, i, c]                  (bias = -in_zp * hw)
//   out = clamp(rne(f32(float(acc) * multiplier)) + out_zp, out_min, out_max)
// This is exact for both profiles; they differ only in the multiplier (see
// make_global_avg_pool_params).
void global_avg_pool_u8_ref(const GlobalAvgPoolParams& p, int batch, int hw, int channels,
                            const uint8_t* in, uint8_t* out);

// out = f32(sum_i in[b, i, c]) / hw, summed in pixel order.
void global_avg_pool_f32_ref(int batch, int hw, int channels, const float* in, float* out);

}  // namespace qrt::kernels
