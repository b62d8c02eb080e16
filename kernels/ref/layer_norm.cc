#include "kernels/ref/layer_norm.h"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdio>
#include <cstdlib>

#include "kernels/ref/quant_math.h"

namespace qrt::kernels {

double layer_norm_eps_from_f32(float eps) {
  char text[32];
  for (int digits = 1; digits <= 6; ++digits) {
    std::snprintf(text, sizeof(text), "%.*e", digits - 1, static_cast<double>(eps));
    if (std::strtof(text, nullptr) == eps) return std::strtod(text, nullptr);
  }
  return eps;
}

void layer_norm_f32_ref(const LayerNormShape& shape, double eps, const float* in,
                        const float* gamma, const float* beta, float* out) {
  const size_t cols = static_cast<size_t>(shape.cols);
  for (size_t r = 0; r < static_cast<size_t>(shape.rows); ++r) {
    const float* x = in + r * cols;
    float* y = out + r * cols;
    double sum = 0.0;
    for (size_t i = 0; i < cols; ++i) sum += x[i];
    const double mean = sum / static_cast<double>(cols);
    double sq = 0.0;
    for (size_t i = 0; i < cols; ++i) sq += (x[i] - mean) * (x[i] - mean);
    const double rstd = 1.0 / std::sqrt(sq / static_cast<double>(cols) + eps);
    for (size_t i = 0; i < cols; ++i) {
      double v = (x[i] - mean) * rstd;
      if (gamma) v *= gamma[i];
      if (beta) v += beta[i];
      y[i] = static_cast<float>(v);
    }
  }
}

LayerNormU8Params make_layer_norm_u8_params(float in_scale, int32_t in_zp, float out_scale,
                                            int32_t out_zp, double eps) {
  LayerNormU8Params p;
  p.in_scale = in_scale;
  p.in_zp = in_zp;
  p.out_inv_scale = 1.0f / out_scale;
  p.out_zp = out_zp;
  p.eps = eps;
  return p;
}

void layer_norm_u8_ref(const LayerNormShape& shape, const LayerNormU8Params& p,
                       const uint8_t* in, const float* gamma, const float* beta, uint8_t* out) {
  const size_t cols = static_cast<size_t>(shape.cols);
  const float n = static_cast<float>(shape.cols);
  const float s_in = p.in_scale;
  for (size_t r = 0; r < static_cast<size_t>(shape.rows); ++r) {
    const uint8_t* x = in + r * cols;
    uint8_t* y = out + r * cols;
    int64_t sum = 0, sum_sq = 0;
    for (size_t i = 0; i < cols; ++i) {
      sum += x[i];
      sum_sq += int64_t{x[i]} * x[i];
    }
    const float m = static_cast<float>(sum) / n;
    const float mean = m - static_cast<float>(p.in_zp);
    const float var = std::max(std::fma(-m, m, static_cast<float>(sum_sq) / n), 0.0f);
    const float var_real = var * s_in * s_in;
    const float rstd = static_cast<float>(s_in / std::sqrt(static_cast<double>(var_real) + p.eps));
    for (size_t i = 0; i < cols; ++i) {
      const float t = (static_cast<float>(x[i] - p.in_zp) - mean) * rstd;
      const float v = std::fma(t, gamma ? gamma[i] : 1.0f, beta ? beta[i] : 0.0f);
      y[i] = static_cast<uint8_t>(rne_add_clamp(v * p.out_inv_scale, p.out_zp, 0, 255));
    }
  }
}

}  // namespace qrt::kernels
