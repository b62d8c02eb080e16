// Scalar numeric helpers shared by the kernels and by prepare-time code.
// Every formula here is PyTorch 1.13's (NUMERICS.md, pytorch-semantics-notes
// §3). Notation: rne = round to nearest, ties to even; f32(e) = e evaluated
// in float32.
//
// The quantized paths avoid a*b+c expressions on purpose: GCC contracts
// them into a fused multiply-add by default on targets that have one
// (aarch64), which rounds once where PyTorch rounds twice. The one fused
// multiply-add PyTorch does perform (fbgemm add's dequantize) is an explicit
// std::fma.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>

#include "kernels/params.h"

namespace qrt::kernels {

// rne: nearbyint follows the current rounding mode, and nothing in qrt
// changes the default (to nearest, ties to even).
inline float rne(float x) { return std::nearbyint(x); }

// clamp(rne(v) + zp, lo, hi), requires lo <= hi. Clamps before converting to
// an integer, so huge, infinite or NaN v never reach an out-of-range
// float->int conversion (undefined behaviour in C++). NaN gives lo, as the
// x86 conversion (INT_MIN) followed by a clamp does. Because lo - zp and
// hi - zp are integers and rne is monotonic, clamping the rounded value in
// double first is exact.
inline int32_t rne_add_clamp(float v, int32_t zp, int32_t lo, int32_t hi) {
  const double r = std::nearbyint(static_cast<double>(v));
  const double lo_less_zp = static_cast<double>(lo) - zp;
  const double hi_less_zp = static_cast<double>(hi) - zp;
  if (!(r > lo_less_zp)) return lo;
  if (r >= hi_less_zp) return hi;
  return static_cast<int32_t>(static_cast<int64_t>(r) + zp);
}

// Static quantize (torch.quantize_per_tensor, QuantStub):
//   q = clamp(zp + rne(f32(x * f32(1 / scale))), qmin, qmax)
// Multiply by the reciprocal, round, then add the zero point.
inline int32_t quantize_value(float x, float scale, int32_t zp, int32_t qmin, int32_t qmax) {
  const float inv_scale = 1.0f / scale;
  return rne_add_clamp(x * inv_scale, zp, qmin, qmax);
}

// Requantizes one conv/linear int32 accumulator for output channel c:
//   qnnpack: y = clamp(rne(f32(float(acc + bias_q[c]) * m)) + zp, min, max)
//   fbgemm:  y = clamp(rne(f32(f32(float(acc) + bias_f[c]) * m)) + zp, min, max)
// with m = multiplier[per_channel ? c : 0]. Bias arrays always have one
// entry per output channel. acc + bias_q wraps like the int32 accumulator
// QNNPACK initialises with the bias; prepare must keep it in range
// (accumulator_fits_int32).
inline uint8_t requantize(int32_t acc, const Requant& rq, int c) {
  const float m = rq.multiplier[rq.per_channel ? c : 0];
  float v;
  if (rq.profile == Profile::qnnpack) {
    const uint32_t bias = rq.bias_q ? static_cast<uint32_t>(rq.bias_q[c]) : 0u;
    const int32_t biased = static_cast<int32_t>(static_cast<uint32_t>(acc) + bias);
    v = static_cast<float>(biased) * m;
  } else {
    float f = static_cast<float>(acc);
    if (rq.bias_f) f += rq.bias_f[c];
    v = f * m;
  }
  return static_cast<uint8_t>(rne_add_clamp(v, rq.out_zp, rq.out_min, rq.out_max));
}

// int32 accumulator bound for conv and linear. One term of
// acc = sum_k (a_k - a_zp) * w_k is at most |a - a_zp| * |w| <= 255 * 128 =
// 32640 in magnitude (uint8 activations, int8 weights down to -128), so K
// terms plus a quantized bias stay in int32 iff
//   K * 32640 + |bias_q| <= 2^31 - 1.
// K alone may reach 65793; qrt caps K at 32768 (K * 32640 = 1069547520 <
// 2^30), which leaves |bias_q| up to 2^30 for qnnpack's int32 bias.
// K = kernel_h * kernel_w * in_c / groups for conv, in_features for linear.
constexpr int64_t kMaxAccumulatorTerm = 255 * 128;
constexpr int32_t kMaxAccumulationDepth = 32768;
constexpr int32_t kMaxAbsQuantizedBias = int32_t{1} << 30;

constexpr bool accumulator_fits_int32(int64_t depth, int64_t max_abs_bias) {
  return depth >= 0 && max_abs_bias >= 0 && depth <= INT32_MAX / kMaxAccumulatorTerm &&
         depth * kMaxAccumulatorTerm + max_abs_bias <= INT32_MAX;
}

static_assert(accumulator_fits_int32(kMaxAccumulationDepth, kMaxAbsQuantizedBias),
              "the advertised depth and bias limits must fit together");
static_assert(!accumulator_fits_int32(65794, 0), "65794 terms can overflow int32");

// What make_conv_requant needs to know about one conv or linear.
struct ConvRequantSpec {
  Profile profile = Profile::qnnpack;
  float in_scale = 1.f;
  const float* w_scales = nullptr;  // channels entries when per_channel, else one
  bool per_channel = false;
  float out_scale = 1.f;
  int32_t out_zp = 0;
  const float* bias = nullptr;  // float bias, channels entries; null = none
  int channels = 0;             // output channels
  float act_min = -INFINITY;    // fused activation clamp in real units
  float act_max = INFINITY;
};

// Fills the caller's arrays and points rq at them:
//   multiplier: channels entries when per_channel, else one
//     fbgemm:  f32(f32(s_in * s_w[c]) / s_out)
//     qnnpack: f32(f32(s_w[c] * s_in) * f32(1 / s_out))
//   bias_q (qnnpack, channels entries): rne(f32(bias[c] * f32(1 / f32(s_w[c] * s_in))))
//     clamped to int32
//   bias_f (fbgemm, channels entries): bias[c] / f32(s_in * s_w[c]); with
//     per-tensor weights bias[c] * f32(1.0 / double(s_in * s_w)) instead, as
//     FBGEMM's AVX2 requantization multiplies by a reciprocal there
//   out_min/out_max: quantize(act_min) / quantize(act_max) with the output
//     params, clamped to 0..255 (so -inf -> 0, +inf -> 255, ReLU -> out_zp)
// The array of the other profile is not touched and may be null; with no
// bias both may be null. Returns false if a scale is not finite and positive
// or a multiplier comes out non-finite, non-positive or subnormal (PyTorch
// refuses such a layer).
bool make_conv_requant(const ConvRequantSpec& spec, float* multiplier, int32_t* bias_q,
                       float* bias_f, Requant* rq);

// Quantized add (FloatFunctional.add / add_relu, quantized::add):
//   fbgemm (PyTorch's generic kernel): a_scale, b_scale and
//     out_inv_scale = f32(1 / out_scale); the kernel dequantizes with
//     fma(s, q, f32(s * -zp)), adds in float and quantizes with rne.
//   qnnpack: r_a = f32(a_scale / out_scale), r_b likewise;
//     shift = 21 - exponent(max(r_a, r_b)); a_mult = rne(r_a * 2^shift),
//     b_mult likewise (both < 2^22); the kernel rounds half away from zero.
// out_min/out_max = quantize(act_min/act_max) clamped to 0..255. Check
// add_scales_supported first: qnnpack refuses ratios outside [2^-14, 2^8)
// and needs the larger one >= 2^-10 (shift <= 31); otherwise the qnnpack
// fields are left zero.
AddParams make_add_params(Profile profile, float a_scale, int32_t a_zp, float b_scale,
                          int32_t b_zp, float out_scale, int32_t out_zp, float act_min,
                          float act_max);
bool add_scales_supported(Profile profile, float a_scale, float b_scale, float out_scale);

// Global average pool over hw pixels (adaptive_avg_pool2d(x, 1) on an NHWC
// quantized tensor), y = clamp(rne(f32(float(sum + bias) * multiplier)) + out_zp),
// bias = -in_zp * hw in both profiles:
//   qnnpack, hw > 1: QNNPACK average pooling with the whole image as kernel;
//     multiplier = f32(s_in / f32(s_out * hw)). QNNPACK pads the row count up
//     to its micro-kernel tile (9, then steps of 8) with rows of in_zp and
//     subtracts in_zp for them too, so the sum is unchanged.
//   fbgemm, and qnnpack with hw == 1 (PyTorch routes that to the generic
//     kernel): m = f32(f32(s_in / s_out) / hw), and the generic channels-last
//     kernel quantizes with scale 1/m, so multiplier = f32(1 / f32(1 / m)).
// hw must be below 2^23 so the sum stays exact in int32.
GlobalAvgPoolParams make_global_avg_pool_params(Profile profile, float in_scale, int32_t in_zp,
                                                float out_scale, int32_t out_zp, int hw);

}  // namespace qrt::kernels
