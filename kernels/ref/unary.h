// Reference elementwise unary ops: float32 activations and math functions,
// and the quantized (uint8) activations PyTorch has kernels for, which are
// 256-entry lookup tables built once at prepare.
#pragma once

#include <cstddef>
#include <cstdint>

#include "kernels/params.h"

namespace qrt::kernels {

// PyTorch's hardsigmoid is clamp(x + 3, 0, 6) / 6: alpha f32(1/6), beta 0.5.
constexpr float kHardSigmoidAlpha = 1.0f / 6.0f;
constexpr float kHardSigmoidBeta = 0.5f;

// float32, PyTorch's formulas evaluated in float (libm for exp, log, tanh,
// erf; PyTorch's vectorised paths use SLEEF, within a few ulp of these):
//   sigmoid 1 / (1 + exp(-x))          silu x / (1 + exp(-x))
//   gelu    x * 0.5 * (1 + erf(x * sqrt(1/2)))
//   gelu_tanh 0.5 * x * (1 + tanh(sqrt(2/pi) * (x + 0.044715 * x^3)))
//   hard_swish x * clamp(x + 3, 0, 6) / 6
//   hard_sigmoid PyTorch's clamp(x + 3, 0, 6) / 6 for its alpha and beta,
//                else ONNX's clamp(alpha * x + beta, 0, 1)
//   leaky_relu x > 0 ? x : x * alpha
//   tanh exp log sqrt erf neg: the C library's, and -x.
void unary_f32_ref(const UnaryParams& p, size_t n, const float* in, float* out);

// unary_f32_ref's sigmoid and tanh over n floats (in may be out): the LSTM
// and GRU gates' activations, and what F32RowKernel's are measured against.
void sigmoid_f32_ref(size_t n, const float* in, float* out);
void tanh_f32_ref(size_t n, const float* in, float* out);

// What a quantized unary op needs to build its table.
struct QuantUnarySpec {
  Profile profile = Profile::qnnpack;
  UnaryOp op = UnaryOp::hard_swish;
  float alpha = 0.f;  // leaky_relu slope; hard_sigmoid alpha
  float beta = 0.f;   // hard_sigmoid beta
  float in_scale = 1.f;
  int32_t in_zp = 0;
  float out_scale = 1.f;
  int32_t out_zp = 0;
};

// Null when PyTorch 1.13 computes `spec` on uint8, else the reason it does
// not (a sentence fragment naming the requirement):
//   hard_swish, leaky_relu: any parameters.
//   sigmoid: qnnpack needs output scale 1/256 and zero point 0 (QNNPACK's
//     sigmoid refuses others; torch.sigmoid always produces them), fbgemm
//     takes any (quantized::sigmoid with explicit output parameters).
//   tanh: output scale 1/128 (2/256), zero point 128 in both profiles.
//   hard_sigmoid: output scale 1/256, zero point 0, and PyTorch's alpha and
//     beta in both profiles.
//   every other op: PyTorch has no quantized kernel.
// Scales must be positive normal floats.
const char* unary_u8_unsupported(const QuantUnarySpec& spec);

// lut[q] = the op's output byte for input byte q. Requires
// unary_u8_unsupported(spec) == nullptr. With x_plain = f32(s_in * (q - zp_in))
// and x_fused = fma(s_in, q, f32(s_in * -zp_in)):
//   qnnpack (PyTorch's QNNPACK operators; leaky_relu is PyTorch's generic
//   kernel as ARM runs it), v clamped to [0, 255] and rounded with rne:
//     hard_swish   v = f32(f32(1/s_out) * (x * clamp(x + 3, 0, 6) / 6) + zp_out)
//     hard_sigmoid v = 256 * (clamp(x + 3, 0, 6) / 6)
//     sigmoid      v = f32(256 / f32(1 + expf(-x)))
//     tanh         v = f32(128 * tanh(double(x)) + 128)  (double tanh)
//     leaky_relu   y = x > 0 ? x : f32(x * alpha), quantized: zp_out + rne(f32(y * f32(1/s_out)))
//   all with x = x_plain. The zero point is added before rounding in the
//   tables, so ties round to even on the sum: for hard_swish
//   lrintf(4.5 + 1) = 6 where the generic kernel gives rne(4.5) + 1 = 5.
//   fbgemm (PyTorch's generic kernel, AVX2 path): x = x_fused, then
//     hard_swish f32(x * clamp(x + 3, 0, 6)) / 6, hard_sigmoid
//     clamp(x + 3, 0, 6) / 6, sigmoid 1 / (1 + expf(-x)), tanh tanhf(x),
//     leaky_relu as above, each quantized zp_out + rne(f32(y * f32(1/s_out))).
//     PyTorch evaluates exp and tanh with SLEEF (<= 1 ulp); a value within
//     an ulp of a rounding boundary can come out one step apart (about one
//     in 500,000 (scale, byte) pairs).
void make_unary_u8_lut(const QuantUnarySpec& spec, uint8_t lut[256]);

// out[i] = lut[in[i]].
void lut_u8_ref(const uint8_t* lut, size_t n, const uint8_t* in, uint8_t* out);

}  // namespace qrt::kernels
