#include "kernels/ref/unary.h"

#include <algorithm>
#include <cmath>

#include "kernels/ref/quant_math.h"

namespace qrt::kernels {
namespace {

template <class F>
void map(size_t n, const float* in, float* out, F f) {
  for (size_t i = 0; i < n; ++i) out[i] = f(in[i]);
}

// clamp(x + 3, 0, 6), with PyTorch's max-then-min order (NaN propagates).
float relu6_of_x_plus_3(float x) { return std::min(std::max(x + 3.0f, 0.0f), 6.0f); }

bool is_pytorch_hard_sigmoid(float alpha, float beta) {
  return alpha == kHardSigmoidAlpha && beta == kHardSigmoidBeta;
}

bool usable_scale(float s) { return std::isnormal(s) && s > 0.f; }

// Table entry of QNNPACK's lookup-table operators: v clamped to the output
// range in float, then lrintf. NaN (inf * 0 under absurd scales; found by
// tests/fuzz) gives 0, the low byte of what lrintf returns for it on x86.
uint8_t lut_round(float v) {
  v = v >= 0.f ? v : 0.f;
  v = v > 255.f ? 255.f : v;
  return static_cast<uint8_t>(std::nearbyint(v));
}

uint8_t quantize_u8(float y, const QuantUnarySpec& p) {
  return static_cast<uint8_t>(quantize_value(y, p.out_scale, p.out_zp, 0, 255));
}

// x * clamp(x + 3, 0, 6) / 6, multiplying before dividing as PyTorch and
// QNNPACK both do.
float hard_swish(float x) {
  const float prod = x * relu6_of_x_plus_3(x);
  return prod / 6.0f;
}

uint8_t qnnpack_entry(const QuantUnarySpec& p, int q) {
  // QNNPACK and PyTorch's element-by-element dequantize: f32(s * (q - zp)).
  const float x = p.in_scale * static_cast<float>(q - p.in_zp);
  switch (p.op) {
    case UnaryOp::hard_swish: {
      const float scaled = (1.0f / p.out_scale) * hard_swish(x);
      return lut_round(scaled + static_cast<float>(p.out_zp));
    }
    case UnaryOp::hard_sigmoid: {
      const float scaled = (1.0f / p.out_scale) * (relu6_of_x_plus_3(x) / 6.0f);
      return lut_round(scaled + static_cast<float>(p.out_zp));
    }
    case UnaryOp::sigmoid: {
      const float denominator = 1.0f + std::exp(-x);
      return lut_round(256.0f / denominator);
    }
    case UnaryOp::tanh: {
      // QNNPACK calls the double tanh and rounds 128 * tanh + 128 to float.
      const double scaled = 128.0 * std::tanh(static_cast<double>(x));
      return lut_round(static_cast<float>(scaled + 128.0));
    }
    case UnaryOp::leaky_relu: {
      const float y = x > 0.f ? x : x * p.alpha;
      return quantize_u8(y, p);
    }
    default:
      return 0;
  }
}

uint8_t fbgemm_entry(const QuantUnarySpec& p, int q) {
  // The AVX2 dequantize: fma(s, q, f32(s * -zp)), one rounding.
  const float zp_term = p.in_scale * static_cast<float>(-p.in_zp);
  const float x = std::fma(p.in_scale, static_cast<float>(q), zp_term);
  float y = 0.f;
  switch (p.op) {
    case UnaryOp::hard_swish:
      y = hard_swish(x);
      break;
    case UnaryOp::hard_sigmoid:
      y = relu6_of_x_plus_3(x) / 6.0f;
      break;
    case UnaryOp::sigmoid: {
      const float denominator = 1.0f + std::exp(-x);
      y = 1.0f / denominator;
      break;
    }
    case UnaryOp::tanh:
      y = std::tanh(x);
      break;
    case UnaryOp::leaky_relu:
      y = x > 0.f ? x : x * p.alpha;
      break;
    default:
      break;
  }
  return quantize_u8(y, p);
}

}  // namespace

void sigmoid_f32_ref(size_t n, const float* in, float* out) {
  // NaN stays NaN; exp's overflow to inf gives 0, as in PyTorch.
  map(n, in, out, [](float x) { return 1.0f / (1.0f + std::exp(-x)); });
}

void tanh_f32_ref(size_t n, const float* in, float* out) {
  map(n, in, out, [](float x) { return std::tanh(x); });
}

void unary_f32_ref(const UnaryParams& p, size_t n, const float* in, float* out) {
  switch (p.op) {
    case UnaryOp::sigmoid:
      return sigmoid_f32_ref(n, in, out);
    case UnaryOp::tanh:
      return tanh_f32_ref(n, in, out);
    case UnaryOp::exp:
      return map(n, in, out, [](float x) { return std::exp(x); });
    case UnaryOp::log:
      return map(n, in, out, [](float x) { return std::log(x); });
    case UnaryOp::sqrt:
      return map(n, in, out, [](float x) { return std::sqrt(x); });
    case UnaryOp::neg:
      return map(n, in, out, [](float x) { return -x; });
    case UnaryOp::silu:
      return map(n, in, out, [](float x) { return x / (1.0f + std::exp(-x)); });
    case UnaryOp::gelu:
      return map(n, in, out, [](float x) {
        const float kSqrtHalf = 0.70710678118654752f;
        return x * 0.5f * (1.0f + std::erf(x * kSqrtHalf));
      });
    case UnaryOp::gelu_tanh:
      return map(n, in, out, [](float x) {
        const float kBeta = 0.79788456080286536f;  // sqrt(2 / pi)
        const float kKappa = 0.044715f;
        const float inner = kBeta * (x + kKappa * (x * x * x));
        return 0.5f * x * (1.0f + std::tanh(inner));
      });
    case UnaryOp::erf:
      return map(n, in, out, [](float x) { return std::erf(x); });
    case UnaryOp::hard_swish:
      return map(n, in, out, hard_swish);
    case UnaryOp::hard_sigmoid: {
      if (is_pytorch_hard_sigmoid(p.alpha, p.beta))
        return map(n, in, out, [](float x) { return relu6_of_x_plus_3(x) / 6.0f; });
      const float alpha = p.alpha, beta = p.beta;
      return map(n, in, out, [alpha, beta](float x) {
        return std::min(std::max(alpha * x + beta, 0.0f), 1.0f);
      });
    }
    case UnaryOp::leaky_relu: {
      const float alpha = p.alpha;
      return map(n, in, out, [alpha](float x) { return x > 0.f ? x : x * alpha; });
    }
  }
}

const char* unary_u8_unsupported(const QuantUnarySpec& spec) {
  if (!usable_scale(spec.in_scale) || !usable_scale(spec.out_scale))
    return "needs positive normal scales";
  const bool out_is_unit_256 = spec.out_scale == 0x1.0p-8f && spec.out_zp == 0;
  switch (spec.op) {
    case UnaryOp::hard_swish:
      return nullptr;
    case UnaryOp::leaky_relu:
      return std::isfinite(spec.alpha) ? nullptr : "needs a finite negative slope";
    case UnaryOp::sigmoid:
      if (spec.profile == Profile::fbgemm || out_is_unit_256) return nullptr;
      return "needs output scale 1/256 and zero point 0 in the qnnpack profile (QNNPACK's "
             "sigmoid)";
    case UnaryOp::tanh:
      if (spec.out_scale == 0x1.0p-7f && spec.out_zp == 128) return nullptr;
      return "needs output scale 1/128 and zero point 128 (PyTorch's quantized tanh)";
    case UnaryOp::hard_sigmoid:
      if (!is_pytorch_hard_sigmoid(spec.alpha, spec.beta))
        return "supports only PyTorch's alpha 1/6 and beta 0.5 (PyTorch's quantized "
               "hardsigmoid)";
      if (!out_is_unit_256)
        return "needs output scale 1/256 and zero point 0 (PyTorch's quantized hardsigmoid)";
      return nullptr;
    default:
      return "has no quantized kernel in PyTorch (keep it in float)";
  }
}

void make_unary_u8_lut(const QuantUnarySpec& spec, uint8_t lut[256]) {
  for (int q = 0; q < 256; ++q)
    lut[q] = spec.profile == Profile::qnnpack ? qnnpack_entry(spec, q) : fbgemm_entry(spec, q);
}

void lut_u8_ref(const uint8_t* lut, size_t n, const uint8_t* in, uint8_t* out) {
  for (size_t i = 0; i < n; ++i) out[i] = lut[in[i]];
}

}  // namespace qrt::kernels
