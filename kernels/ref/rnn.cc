#include "kernels/ref/rnn.h"

namespace qrt::kernels {

namespace {

// v[j] = v[j] + x[j]: hg + xg, the pre-activation.
void add_to(size_t n, const float* x, float* v) {
  for (size_t j = 0; j < n; ++j) v[j] += x[j];
}

}  // namespace

void lstm_cell_f32_ref(const GateActivations& act, int batch, int hidden, const float* xg,
                       size_t xg_stride, float* hg, float* c, float* h) {
  const size_t n = static_cast<size_t>(hidden);
  for (int b = 0; b < batch; ++b, xg += xg_stride, hg += 4 * n, c += n, h += n) {
    add_to(4 * n, xg, hg);
    act.sigmoid(3 * n, hg, hg);  // i, o, f
    act.tanh(n, hg + 3 * n, hg + 3 * n);
    const float* i = hg;
    const float* f = hg + 2 * n;
    const float* g = hg + 3 * n;
    for (size_t j = 0; j < n; ++j) {
      const float fc = f[j] * c[j];
      const float ig = i[j] * g[j];
      c[j] = fc + ig;
    }
    act.tanh(n, c, h);
    for (size_t j = 0; j < n; ++j) h[j] = hg[n + j] * h[j];
  }
}

void gru_reset_f32_ref(const GateActivations& act, int batch, int hidden, const float* xg,
                       size_t xg_stride, const float* hg, const float* h, float* rh) {
  const size_t n = static_cast<size_t>(hidden);
  for (int b = 0; b < batch; ++b, xg += xg_stride, hg += 3 * n, h += n, rh += n) {
    for (size_t j = 0; j < n; ++j) rh[j] = hg[n + j] + xg[n + j];
    act.sigmoid(n, rh, rh);
    for (size_t j = 0; j < n; ++j) rh[j] = rh[j] * h[j];
  }
}

void gru_cell_f32_ref(const GateActivations& act, int batch, int hidden, bool linear_before_reset,
                      const float* xg, size_t xg_stride, float* hg, float* h) {
  const size_t n = static_cast<size_t>(hidden);
  for (int b = 0; b < batch; ++b, xg += xg_stride, hg += 3 * n, h += n) {
    float* z = hg;
    float* r = hg + n;
    float* cand = hg + 2 * n;
    add_to(linear_before_reset ? 2 * n : n, xg, hg);
    act.sigmoid(linear_before_reset ? 2 * n : n, hg, hg);
    if (linear_before_reset)
      for (size_t j = 0; j < n; ++j) cand[j] = cand[j] * r[j];
    add_to(n, xg + 2 * n, cand);
    act.tanh(n, cand, cand);
    for (size_t j = 0; j < n; ++j) {
      const float d = (h[j] - cand[j]) * z[j];
      h[j] = d + cand[j];
    }
  }
}

}  // namespace qrt::kernels
