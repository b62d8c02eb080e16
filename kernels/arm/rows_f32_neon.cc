// Float32 row kernels on aarch64 NEON: F32RowKernel's softmax, layer norm,
// sigmoid, tanh, silu and exp with the algorithms, and the error bounds, of
// kernels/x86/rows_f32_avx2.cc (its header comment explains them). Four
// lanes; a row's last 1..3 floats go through a zero-padded copy. armv7 keeps
// the references: it has no vector divide nor double lanes, and its NEON
// flushes subnormals to zero.
#include "kernels/arm/rows_f32.h"

#if defined(__aarch64__)

#include <arm_neon.h>

#include <cmath>
#include <cstring>
#include <initializer_list>

namespace qrt::kernels::arm {
namespace {

float32x4_t exp_f32x4(float32x4_t x) {
  // vmaxq and vminq return NaN when either operand is NaN: NaN stays.
  x = vminq_f32(vdupq_n_f32(88.75f), vmaxq_f32(vdupq_n_f32(-104.f), x));
  const float32x4_t n = vrndnq_f32(vmulq_f32(x, vdupq_n_f32(1.44269504f)));
  float32x4_t r = vfmsq_f32(x, n, vdupq_n_f32(0.693359375f));
  r = vfmsq_f32(r, n, vdupq_n_f32(-2.12194440e-4f));
  float32x4_t p = vdupq_n_f32(1.f / 5040);
  for (const float c : {1.f / 720, 1.f / 120, 1.f / 24, 1.f / 6, 0.5f, 1.f, 1.f})
    p = vfmaq_f32(vdupq_n_f32(c), p, r);
  const int32x4_t ni = vcvtq_s32_f32(n);
  const int32x4_t n1 = vshrq_n_s32(ni, 1);
  const int32x4_t bias = vdupq_n_s32(127);
  const float32x4_t s1 = vreinterpretq_f32_s32(vshlq_n_s32(vaddq_s32(n1, bias), 23));
  const float32x4_t s2 = vreinterpretq_f32_s32(vshlq_n_s32(vaddq_s32(vsubq_s32(ni, n1), bias), 23));
  return vmulq_f32(vmulq_f32(p, s1), s2);
}

float32x4_t one_plus_exp_neg(float32x4_t x) {
  return vaddq_f32(vdupq_n_f32(1.f), exp_f32x4(vnegq_f32(x)));
}

float32x4_t sigmoid_f32x4(float32x4_t x) {
  return vdivq_f32(vdupq_n_f32(1.f), one_plus_exp_neg(x));
}

float32x4_t silu_f32x4(float32x4_t x) { return vdivq_f32(x, one_plus_exp_neg(x)); }

// Computed on |x|, x's sign put back last: tanh(-0) is -0.
float32x4_t tanh_f32x4(float32x4_t x) {
  const float32x4_t a = vabsq_f32(x);
  const float32x4_t one = vdupq_n_f32(1.f);
  const float32x4_t e = exp_f32x4(vaddq_f32(a, a));
  const float32x4_t big = vsubq_f32(one, vdivq_f32(vdupq_n_f32(2.f), vaddq_f32(e, one)));
  const float32x4_t u = vmulq_f32(a, a);
  float32x4_t p = vdupq_n_f32(-0.00571896276f);
  for (const float c : {0.0206531249f, -0.0537446588f, 0.133315131f, -0.333332866f})
    p = vfmaq_f32(vdupq_n_f32(c), p, u);
  const float32x4_t small = vfmaq_f32(a, vmulq_f32(a, u), p);
  const float32x4_t t = vbslq_f32(vcltq_f32(a, vdupq_n_f32(0.625f)), small, big);
  return vbslq_f32(vdupq_n_u32(0x80000000u), x, t);
}

// Up to 4 floats from p, the rest of the vector `fill`.
float32x4_t load_tail(const float* p, size_t n, float fill) {
  float buf[4] = {fill, fill, fill, fill};
  std::memcpy(buf, p, n * sizeof(float));
  return vld1q_f32(buf);
}

void store_tail(float* p, size_t n, float32x4_t v) {
  float buf[4];
  vst1q_f32(buf, v);
  std::memcpy(p, buf, n * sizeof(float));
}

template <float32x4_t (*F)(float32x4_t)>
void map_f32x4(size_t n, const float* in, float* out) {
  size_t i = 0;
  for (; i + 4 <= n; i += 4) vst1q_f32(out + i, F(vld1q_f32(in + i)));
  if (i < n) store_tail(out + i, n - i, F(load_tail(in + i, n - i, 0.f)));
}

void softmax_rows(int rows, int cols, const float* in, float* out) {
  const size_t n = static_cast<size_t>(cols);
  const size_t full = n & ~size_t{3};
  for (int r = 0; r < rows; ++r, in += n, out += n) {
    // vmaxnm skips NaN, as softmax_f32_ref's max does; the tail's -inf
    // padding changes neither the max nor (e^-inf = 0) the sum.
    float32x4_t vmax = load_tail(in + full, n - full, -INFINITY);
    for (size_t j = 0; j < full; j += 4) vmax = vmaxnmq_f32(vmax, vld1q_f32(in + j));
    const float32x4_t m = vdupq_n_f32(vmaxnmvq_f32(vmax));
    float32x4_t sum = vdupq_n_f32(0.f);
    for (size_t j = 0; j < full; j += 4) {
      const float32x4_t e = exp_f32x4(vsubq_f32(vld1q_f32(in + j), m));
      vst1q_f32(out + j, e);
      sum = vaddq_f32(sum, e);
    }
    if (full < n) {
      const float32x4_t e = exp_f32x4(vsubq_f32(load_tail(in + full, n - full, -INFINITY), m));
      store_tail(out + full, n - full, e);
      sum = vaddq_f32(sum, e);
    }
    const float inv = 1.f / vaddvq_f32(sum);
    for (size_t j = 0; j < n; ++j) out[j] *= inv;
  }
}

// x[j..j+3] widened to double, pairwise summed: (x0 + x2, x1 + x3) in double,
// or their squared deviations from mean.
float64x2_t sum4(const float* x, float64x2_t mean, bool squares) {
  const float32x4_t v = vld1q_f32(x);
  float64x2_t lo = vsubq_f64(vcvt_f64_f32(vget_low_f32(v)), mean);
  float64x2_t hi = vsubq_f64(vcvt_high_f64_f32(v), mean);
  if (squares) lo = vmulq_f64(lo, lo), hi = vmulq_f64(hi, hi);
  return vaddq_f64(lo, hi);
}

void layer_norm_rows(int rows, int cols, double eps, const float* in, const float* gamma,
                     const float* beta, float* out) {
  const size_t n = static_cast<size_t>(cols);
  const size_t full = n & ~size_t{3};
  for (int r = 0; r < rows; ++r, in += n, out += n) {
    const float64x2_t zero = vdupq_n_f64(0.0);
    float64x2_t s = zero;
    for (size_t j = 0; j < full; j += 4) s = vaddq_f64(s, sum4(in + j, zero, false));
    double sum = vaddvq_f64(s);
    for (size_t j = full; j < n; ++j) sum += in[j];
    const double mean = sum / cols;
    const float64x2_t vmean = vdupq_n_f64(mean);
    s = zero;
    for (size_t j = 0; j < full; j += 4) s = vaddq_f64(s, sum4(in + j, vmean, true));
    double sq = vaddvq_f64(s);
    for (size_t j = full; j < n; ++j) sq += (in[j] - mean) * (in[j] - mean);
    const double rstd = 1.0 / std::sqrt(sq / cols + eps);
    for (size_t j = 0; j < n; ++j) {
      double v = (in[j] - mean) * rstd;
      if (gamma) v *= gamma[j];
      if (beta) v += beta[j];
      out[j] = static_cast<float>(v);
    }
  }
}

constexpr F32RowKernel make_kernel(Isa isa) {
  return {"rows_f32_x4_neon", isa, &softmax_rows, &layer_norm_rows, &map_f32x4<sigmoid_f32x4>,
          &map_f32x4<tanh_f32x4>, &map_f32x4<silu_f32x4>, &map_f32x4<exp_f32x4>};
}

}  // namespace

const F32RowKernel* f32_row_kernel(Isa isa) {
  static const F32RowKernel table[] = {make_kernel(Isa::neon), make_kernel(Isa::neon_dotprod)};
  for (const F32RowKernel& k : table)
    if (k.isa == isa) return &k;
  return nullptr;
}

}  // namespace qrt::kernels::arm

#else

namespace qrt::kernels::arm {

const F32RowKernel* f32_row_kernel(Isa) { return nullptr; }

}  // namespace qrt::kernels::arm

#endif
