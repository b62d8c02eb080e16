// Parameter structs shared by every kernel implementation (ref, x86, arm).
// Kernels know nothing of tensors or models: pointers, shapes and these.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>

namespace qrt::kernels {

// The arithmetic a quantized model follows (NUMERICS.md).
enum class Profile : uint8_t { fbgemm = 0, qnnpack = 1 };

// Requantization of an int32 accumulator to uint8, per output channel.
//   qnnpack: y = clamp(rne(f32(float(acc + bias_q[c]) * multiplier[c])) + zp, min, max)
//   fbgemm:  y = clamp(rne(f32(f32(float(acc) + bias_f[c]) * multiplier[c])) + zp, min, max)
// multiplier has `channels` entries when per_channel, else one; the bias
// arrays always have one per output channel. A null bias pointer means no
// bias.
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

// A dynamically quantized linear layer (fully_connected_dynamic_ref).
struct DynamicLinearParams {
  Profile profile = Profile::qnnpack;
  FullyConnectedShape shape;
  const int8_t* w = nullptr;         // [out_features, in_features], zero point 0
  const float* w_scales = nullptr;   // out_features entries when per_channel, else one
  bool per_channel = false;
  const float* bias = nullptr;       // out_features entries, or null
  float act_min = -INFINITY, act_max = INFINITY;
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

// Elementwise family (kernels/ref/binary.h, unary.h, add.h).

// numpy/ONNX broadcasting of two inputs to one output, prepared by
// make_broadcast(). dims are the output's, outermost first, after merging
// neighbouring dimensions that every operand broadcasts alike;
// a_strides/b_strides are element strides, 0 along a dimension that operand
// broadcasts. Equal shapes reduce to rank 1 with strides 1 (a flat loop).
constexpr int kMaxBroadcastRank = 8;
struct BroadcastShape {
  int rank = 1;
  int64_t dims[kMaxBroadcastRank] = {1};
  int64_t a_strides[kMaxBroadcastRank] = {1};
  int64_t b_strides[kMaxBroadcastRank] = {1};
};

enum class BinaryOp : uint8_t { add, sub, mul, div, maximum, minimum, pow };

// Quantized multiply, prepared by make_mul_params():
//   y = clamp(out_zp + rne(f32(float((a - a_zp) * (b - b_zp)) * multiplier)), out_min, out_max)
struct MulParams {
  int32_t a_zp = 0, b_zp = 0, out_zp = 0;
  int32_t out_min = 0, out_max = 255;
  float multiplier = 1.f;
};

enum class UnaryOp : uint8_t {
  sigmoid, tanh, exp, log, sqrt, neg, silu, gelu, gelu_tanh, erf, hard_swish, hard_sigmoid,
  leaky_relu,
};

// float32 unary op; alpha is leaky_relu's negative slope or hard_sigmoid's
// alpha, beta hard_sigmoid's beta.
struct UnaryParams {
  UnaryOp op = UnaryOp::neg;
  float alpha = 0.f;
  float beta = 0.f;
};

// nn family (kernels/ref/softmax.h, layer_norm.h, reduce.h, matmul.h).

// Softmax and log-softmax see their tensor as [outer, axis, inner] in C
// order and normalize along the middle dimension.
struct SoftmaxShape {
  int outer = 1;
  int axis = 1;
  int inner = 1;
};

// Quantized softmax, prepared by make_softmax_u8_params(). A non-null table
// selects QNNPACK's fixed-point softargmax (qnnpack profile, output scale
// 1/256, zero point 0); otherwise dequantize, float softmax, quantize.
struct SoftmaxU8Params {
  const uint32_t* table = nullptr;  // 256 entries
  float in_scale = 1.f;
  int32_t in_zp = 0;
  float out_scale = 1.f;
  int32_t out_zp = 0;
};

// Layer norm over the last `cols` elements of each of `rows` rows; gamma and
// beta, when given, have `cols` entries.
struct LayerNormShape {
  int rows = 1;
  int cols = 1;
};

// Quantized layer norm (quantized::layer_norm, one kernel for both
// profiles), prepared by make_layer_norm_u8_params().
struct LayerNormU8Params {
  float in_scale = 1.f;
  int32_t in_zp = 0;
  float out_inv_scale = 1.f;  // f32(1 / out_scale)
  int32_t out_zp = 0;
  double eps = 1e-5;
};

constexpr int kNnMaxRank = 8;

// A reduction of a C-order tensor, prepared by make_reduce_shape(): the
// input's dimensions split into kept ones (the output's, in order) and
// reduced ones, with element strides into the input.
struct ReduceShape {
  int kept_rank = 0;
  int64_t kept_dims[kNnMaxRank] = {};
  int64_t kept_strides[kNnMaxRank] = {};
  int reduced_rank = 0;
  int64_t reduced_dims[kNnMaxRank] = {};
  int64_t reduced_strides[kNnMaxRank] = {};
};

// Batched matrix product out[i] = a[i] (m x k) * b[i] (k x n) over the
// output's batch dimensions, prepared by make_matmul_shape(). Matrices are
// C order; a_strides/b_strides are element strides between an operand's
// matrices along each batch dimension, 0 where it broadcasts.
struct MatMulShape {
  int m = 1, k = 1, n = 1;
  int batch_rank = 0;
  int64_t batch_dims[kNnMaxRank] = {};
  int64_t a_strides[kNnMaxRank] = {};
  int64_t b_strides[kNnMaxRank] = {};
};

// conv_pool family (kernels/ref/pool.h; transposed convolution reuses
// Conv2DShape, see kernels/ref/transpose_conv2d.h).

// 2-D pooling over NHWC. Output pixel (oy, ox) has taps at rows
// oy * stride_h - pad_top + ky * dilation_h, ky < kernel_h (columns
// likewise); taps outside the input are padding. The padded input ends at
// row in_h + pad_bottom: with ceil_mode a last window may reach past it, and
// average pooling counts only the part of a window inside the padded input.
struct Pool2DWindow {
  int batch = 1;
  int in_h = 0, in_w = 0, channels = 0;
  int out_h = 0, out_w = 0;
  int kernel_h = 1, kernel_w = 1;
  int stride_h = 1, stride_w = 1;
  int dilation_h = 1, dilation_w = 1;
  int pad_top = 0, pad_left = 0, pad_bottom = 0, pad_right = 0;
};

// Adaptive pooling of NHWC [batch, in_h, in_w, channels] to out_h x out_w.
struct AdaptivePool2DShape {
  int batch = 1;
  int in_h = 0, in_w = 0, channels = 0;
  int out_h = 0, out_w = 0;
};

// Quantized average pooling, prepared by make_avg_pool_params()
// (kernels/ref/pool.h, which has the formulas).
struct AvgPoolParams {
  bool qnnpack_kernel = false;    // QNNPACK's fixed multiplier, else PyTorch's generic kernel
  float multiplier = 1.f;         // qnnpack_kernel: f32(s_in / f32(s_out * kernel area))
  float scale_ratio = 1.f;        // generic: f32(s_in / s_out)
  bool count_include_pad = true;  // generic, windowed pooling only
  int32_t divisor_override = 0;   // generic, windowed pooling only; > 0 replaces the divisor
  int32_t in_zp = 0, out_zp = 0;
};

}  // namespace qrt::kernels
