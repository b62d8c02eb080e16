// Parameter structs shared by every kernel implementation (ref, x86, arm).
// Kernels know nothing of tensors or models: pointers, shapes and these.
#pragma once

#include <cstddef>
#include <cstdint>

namespace qrt::kernels {

// The arithmetic a quantized model follows (NUMERICS.md).
enum class Profile : uint8_t { fbgemm = 0, qnnpack = 1 };

// Requantization of an int32 accumulator to uint8, per output channel.
//   qnnpack: y = clamp(rne(f32(float(acc + bias_q[c]) * multiplier[c])) + zp, min, max)
//   fbgemm:  y = clamp(rne(f32(f32(float(acc) + bias_f[c]) * multiplier[c])) + zp, min, max)
// Arrays have `channels` entries when per_channel, else one. A null bias
// pointer means no bias.
struct Requant {
  Profile profile = Profile::qnnpack;
  bool per_channel = false;
  const float* multiplier = nullptr;
  const int32_t* bias_q = nullptr;  // qnnpack only
  const float* bias_f = nullptr;    // fbgemm only
  int32_t out_zp = 0;
  int32_t out_min = 0;
  int32_t out_max = 255;
};

// NHWC input and output, OHWI weights with I = in_c / groups.
// Bottom/right padding is implied by out_h/out_w.
struct Conv2DShape {
  int batch = 1;
  int in_h = 0, in_w = 0, in_c = 0;
  int out_h = 0, out_w = 0, out_c = 0;
  int kernel_h = 1, kernel_w = 1;
  int stride_h = 1, stride_w = 1;
  int dilation_h = 1, dilation_w = 1;
  int pad_top = 0, pad_left = 0;
  int groups = 1;
};

// Input [batch, in_features], weights [out_features, in_features].
struct FullyConnectedShape {
  int batch = 1;
  int in_features = 0;
  int out_features = 0;
};

// NHWC; padding taps are ignored (max) or excluded (average).
struct Pool2DShape {
  int batch = 1;
  int in_h = 0, in_w = 0, channels = 0;
  int out_h = 0, out_w = 0;
  int kernel_h = 1, kernel_w = 1;
  int stride_h = 1, stride_w = 1;
  int pad_top = 0, pad_left = 0;
};

// Quantized elementwise add, prepared once by make_add_params().
struct AddParams {
  Profile profile = Profile::qnnpack;
  int32_t a_zp = 0, b_zp = 0, out_zp = 0;
  int32_t out_min = 0, out_max = 255;
  // fbgemm: dequantize (fma form), add in float, quantize with out_inv_scale.
  float a_scale = 1.f, b_scale = 1.f, out_inv_scale = 1.f;
  // qnnpack: fixed point, y = rhaz((a_mult*(a-a_zp) + b_mult*(b-b_zp)) / 2^shift) + out_zp.
  int32_t a_mult = 0, b_mult = 0;
  int32_t shift = 0;
};

// Quantized global average pool over H*W per channel, prepared by
// make_global_avg_pool_params().
struct GlobalAvgPoolParams {
  Profile profile = Profile::qnnpack;
  int32_t in_zp = 0, out_zp = 0;
  int32_t out_min = 0, out_max = 255;
  int32_t bias = 0;        // added to the integer sum
  float multiplier = 1.f;  // applied to the biased sum
};

}  // namespace qrt::kernels
