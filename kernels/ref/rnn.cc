#include "kernels/ref/rnn.h"

#include <cmath>

namespace qrt::kernels {

namespace {

// NaN stays NaN; exp's overflow to inf gives 0, as in PyTorch.
float sigmoid(float v) { return 1.f / (1.f + std::exp(-v)); }

}  // namespace

void lstm_cell_f32_ref(int batch, int hidden, const float* xg, size_t xg_stride, const float* hg,
                       float* c, float* h) {
  const size_t n = static_cast<size_t>(hidden);
  for (int b = 0; b < batch; ++b, xg += xg_stride, hg += 4 * n, c += n, h += n) {
    for (size_t j = 0; j < n; ++j) {
      const float i = sigmoid(hg[j] + xg[j]);
      const float o = sigmoid(hg[n + j] + xg[n + j]);
      const float f = sigmoid(hg[2 * n + j] + xg[2 * n + j]);
      const float g = std::tanh(hg[3 * n + j] + xg[3 * n + j]);
      const float fc = f * c[j];
      const float ig = i * g;
      c[j] = fc + ig;
      h[j] = o * std::tanh(c[j]);
    }
  }
}

void gru_reset_f32_ref(int batch, int hidden, const float* xg, size_t xg_stride, const float* hg,
                       const float* h, float* rh) {
  const size_t n = static_cast<size_t>(hidden);
  for (int b = 0; b < batch; ++b, xg += xg_stride, hg += 3 * n, h += n, rh += n)
    for (size_t j = 0; j < n; ++j) rh[j] = sigmoid(hg[n + j] + xg[n + j]) * h[j];
}

void gru_cell_f32_ref(int batch, int hidden, bool linear_before_reset, const float* xg,
                      size_t xg_stride, const float* hg, float* h) {
  const size_t n = static_cast<size_t>(hidden);
  for (int b = 0; b < batch; ++b, xg += xg_stride, hg += 3 * n, h += n) {
    for (size_t j = 0; j < n; ++j) {
      const float z = sigmoid(hg[j] + xg[j]);
      float hh = hg[2 * n + j];
      if (linear_before_reset) hh *= sigmoid(hg[n + j] + xg[n + j]);
      const float cand = std::tanh(xg[2 * n + j] + hh);
      const float d = (h[j] - cand) * z;
      h[j] = d + cand;
    }
  }
}

}  // namespace qrt::kernels
