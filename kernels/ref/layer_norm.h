// Reference layer normalization over the trailing elements of each row:
// float32, and uint8 the way PyTorch 1.13's quantized::layer_norm computes it.
#pragma once

#include <cstdint>

#include "kernels/params.h"

namespace qrt::kernels {

// PyTorch sums a row's bytes in int32 (hsum), so a quantized row holds at
// most INT32_MAX / 255 elements.
constexpr int kMaxLayerNormU8Cols = INT32_MAX / 255;

// The model stores epsilon as float32 (as ONNX does) while PyTorch adds the
// double the user wrote (1e-5, not f32(1e-5)). If eps is the float nearest to
// a decimal of at most 6 significant digits, returns that decimal as a
// double; otherwise returns eps exactly. Prepare-time only (uses snprintf).
double layer_norm_eps_from_f32(float eps);

// y = f32((x - mean) / sqrt(var + eps) * gamma + beta) with mean and the
// biased variance by two passes in double, everything in double and rounded
// once, so y is within an ulp or two of the exact result. (PyTorch's float32
// kernel computes x * rstd - mean * rstd in float32, which loses digits when
// |mean| is large against the spread; it is the less accurate of the two.)
// gamma and beta may be null (1 and 0). in == out is allowed.
void layer_norm_f32_ref(const LayerNormShape& shape, double eps, const float* in,
                        const float* gamma, const float* beta, float* out);

// Prepare-time: out_inv_scale = f32(1 / out_scale).
LayerNormU8Params make_layer_norm_u8_params(float in_scale, int32_t in_zp, float out_scale,
                                            int32_t out_zp, double eps);

// PyTorch 1.13's quantized_normalize_kernel (QuantizedOpKernels.cpp), per
// row of n = cols bytes, with its two fused multiply-adds (x86 builds with
// FMA and ARM builds contract them; verified against PyTorch 1.13 on AVX2):
//   S = sum q, SS = sum q^2                      (exact integers)
//   m = f32(f32(S) / f32(n))                     mean of q
//   mean = f32(m - f32(in_zp))
//   var = max(fma(-m, m, f32(f32(SS) / f32(n))), 0)
//   rstd = f32(double(s_in) / sqrt(double(f32(f32(var * s_in) * s_in)) + eps))
//   t = f32(f32(f32(q - in_zp) - mean) * rstd)
//   y = fma(t, gamma, beta)                      (gamma 1, beta 0 when absent)
//   out = clamp(rne(f32(y * out_inv_scale)) + out_zp, 0, 255)
// cols <= kMaxLayerNormU8Cols. in == out is allowed.
void layer_norm_u8_ref(const LayerNormShape& shape, const LayerNormU8Params& p,
                       const uint8_t* in, const float* gamma, const float* beta, uint8_t* out);

}  // namespace qrt::kernels
