// Float32 row kernels on AVX2 + FMA, for every x86 tier: softmax and layer
// normalization rows, and the sigmoid, tanh and silu activations (the fp32
// unary ops and the LSTM/GRU gates). They are bound by their exp and
// reductions, not by vector width.
//
// exp: x = n ln2 + r, |r| <= ln2/2 (ln2 split in two so n ln2 is exact), e^r
// by its Taylor series to r^7 (truncation < 6e-9 relative), scaled by 2^n in
// two halves, 2^(n/2) 2^(n - n/2), so that results that overflow or are
// subnormal round once, as libm's do. Within 2 ulp of e^x over the whole
// float range (tests/kernels/test_f32_rows.cc measures it); NaN propagates.
//
// softmax: m = max (NaN skipped, as softmax_f32_ref), e_j = exp(x_j - m) in
// float, y_j = e_j * f32(1 / sum e). x - m rounds once in float (2^-24 |x - m|
// <= 5.2e-6 where e^x is normal). Every output is within 1e-5 relative of the
// double reference. NaN propagates: a NaN in the row, an all -inf row
// (-inf - -inf) and a +inf logit (inf - inf) make the row NaN as in the
// reference.
//
// sigmoid 1 / (1 + exp(-x)) and silu x / (1 + exp(-x)): the reference's
// formulas with this exp (a true division): a few ulp. tanh: below 0.625 in
// magnitude x + x^3 P(x^2), P a degree-4 least-squares fit of
// (tanh x - x) / x^3 (< 1 ulp), where 1 - 2 / (e^2|x| + 1) would lose bits
// to cancellation; above, that formula with x's sign. NaN propagates, and
// +-inf give +-1, 1 and 0 (silu -inf: -inf / inf, NaN, as the reference).
//
// layer norm: the reference's arithmetic in double (float rows widened four
// lanes at a time), only the order of the two sums differs, so results are
// the reference's up to an ulp.
#include <immintrin.h>

#include <cmath>
#include <cstddef>
#include <initializer_list>

#include "kernels/x86/rows_f32.h"

namespace qrt::kernels::x86 {
namespace {

__m256i tail_mask(int count) {
  return _mm256_cmpgt_epi32(_mm256_set1_epi32(count), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

float hmax(__m256 v) {
  __m128 x = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  x = _mm_max_ps(x, _mm_movehl_ps(x, x));
  x = _mm_max_ss(x, _mm_shuffle_ps(x, x, 1));
  return _mm_cvtss_f32(x);
}

float hsum(__m256 v) {
  __m128 x = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  x = _mm_add_ps(x, _mm_movehl_ps(x, x));
  x = _mm_add_ss(x, _mm_shuffle_ps(x, x, 1));
  return _mm_cvtss_f32(x);
}

double hsum(__m256d v) {
  __m128d x = _mm_add_pd(_mm256_castpd256_pd128(v), _mm256_extractf128_pd(v, 1));
  return _mm_cvtsd_f64(_mm_add_sd(x, _mm_unpackhi_pd(x, x)));
}

// e^x; x is clamped to [-104, 88.75] first, beyond which e^x is 0 or inf.
__m256 exp_ps(__m256 x) {
  // vmaxps and vminps return their second operand when one is NaN: NaN stays.
  x = _mm256_min_ps(_mm256_set1_ps(88.75f), _mm256_max_ps(_mm256_set1_ps(-104.f), x));
  const __m256 n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504f)),
                                   _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693359375f), x);
  r = _mm256_fnmadd_ps(n, _mm256_set1_ps(-2.12194440e-4f), r);
  __m256 p = _mm256_set1_ps(1.f / 5040);
  for (const float c : {1.f / 720, 1.f / 120, 1.f / 24, 1.f / 6, 0.5f, 1.f, 1.f})
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(c));
  // n in [-150, 128]: each half's 2^k is a normal float.
  const __m256i ni = _mm256_cvtps_epi32(n);
  const __m256i n1 = _mm256_srai_epi32(ni, 1);
  const __m256i bias = _mm256_set1_epi32(127);
  const __m256 s1 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(n1, bias), 23));
  const __m256 s2 = _mm256_castsi256_ps(
      _mm256_slli_epi32(_mm256_add_epi32(_mm256_sub_epi32(ni, n1), bias), 23));
  return _mm256_mul_ps(_mm256_mul_ps(p, s1), s2);
}

__m256 one_plus_exp_neg(__m256 x) {
  return _mm256_add_ps(_mm256_set1_ps(1.f), exp_ps(_mm256_xor_ps(x, _mm256_set1_ps(-0.f))));
}

__m256 sigmoid_ps(__m256 x) { return _mm256_div_ps(_mm256_set1_ps(1.f), one_plus_exp_neg(x)); }
__m256 silu_ps(__m256 x) { return _mm256_div_ps(x, one_plus_exp_neg(x)); }

// Computed on |x|, x's sign put back last: tanh(-0) is -0.
__m256 tanh_ps(__m256 x) {
  const __m256 sign = _mm256_set1_ps(-0.f);
  const __m256 a = _mm256_andnot_ps(sign, x);
  const __m256 one = _mm256_set1_ps(1.f);
  const __m256 e = exp_ps(_mm256_add_ps(a, a));
  const __m256 big = _mm256_sub_ps(one, _mm256_div_ps(_mm256_set1_ps(2.f), _mm256_add_ps(e, one)));
  const __m256 u = _mm256_mul_ps(a, a);
  __m256 p = _mm256_set1_ps(-0.00571896276f);
  for (const float c : {0.0206531249f, -0.0537446588f, 0.133315131f, -0.333332866f})
    p = _mm256_fmadd_ps(p, u, _mm256_set1_ps(c));
  const __m256 small = _mm256_fmadd_ps(_mm256_mul_ps(a, u), p, a);
  const __m256 is_small = _mm256_cmp_ps(a, _mm256_set1_ps(0.625f), _CMP_LT_OQ);
  return _mm256_or_ps(_mm256_blendv_ps(big, small, is_small), _mm256_and_ps(sign, x));
}

template <__m256 (*F)(__m256)>
void map_ps(size_t n, const float* in, float* out) {
  size_t i = 0;
  for (; i + 8 <= n; i += 8) _mm256_storeu_ps(out + i, F(_mm256_loadu_ps(in + i)));
  if (i < n) {
    const __m256i tail = tail_mask(static_cast<int>(n - i));
    _mm256_maskstore_ps(out + i, tail, F(_mm256_maskload_ps(in + i, tail)));
  }
}

void softmax_row(int cols, const float* in, float* out) {
  const int full = cols & ~7;
  const __m256i tail = tail_mask(cols - full);
  const __m256 neg_inf = _mm256_set1_ps(-INFINITY);
  __m256 vmax = neg_inf;
  for (int j = 0; j < full; j += 8) vmax = _mm256_max_ps(_mm256_loadu_ps(in + j), vmax);
  if (full < cols)
    vmax = _mm256_max_ps(
        _mm256_blendv_ps(neg_inf, _mm256_maskload_ps(in + full, tail), _mm256_castsi256_ps(tail)),
        vmax);
  const __m256 m = _mm256_set1_ps(hmax(vmax));
  __m256 sum = _mm256_setzero_ps();
  for (int j = 0; j < full; j += 8) {
    const __m256 e = exp_ps(_mm256_sub_ps(_mm256_loadu_ps(in + j), m));
    _mm256_storeu_ps(out + j, e);
    sum = _mm256_add_ps(sum, e);
  }
  if (full < cols) {
    const __m256 e = _mm256_and_ps(
        exp_ps(_mm256_sub_ps(_mm256_maskload_ps(in + full, tail), m)),
        _mm256_castsi256_ps(tail));
    _mm256_maskstore_ps(out + full, tail, e);
    sum = _mm256_add_ps(sum, e);
  }
  const __m256 inv = _mm256_set1_ps(1.f / hsum(sum));
  for (int j = 0; j < full; j += 8)
    _mm256_storeu_ps(out + j, _mm256_mul_ps(_mm256_loadu_ps(out + j), inv));
  if (full < cols)
    _mm256_maskstore_ps(out + full, tail, _mm256_mul_ps(_mm256_maskload_ps(out + full, tail), inv));
}

void softmax_rows(int rows, int cols, const float* in, float* out) {
  for (size_t r = 0; r < static_cast<size_t>(rows); ++r)
    softmax_row(cols, in + r * cols, out + r * cols);
}

__m256d widen(const float* p) { return _mm256_cvtps_pd(_mm_loadu_ps(p)); }

void layer_norm_row(int cols, double eps, const float* x, const float* gamma, const float* beta,
                    float* y) {
  const int full = cols & ~3;
  __m256d s0 = _mm256_setzero_pd(), s1 = _mm256_setzero_pd();
  int j = 0;
  for (; j + 8 <= full; j += 8) {
    s0 = _mm256_add_pd(s0, widen(x + j));
    s1 = _mm256_add_pd(s1, widen(x + j + 4));
  }
  if (j < full) s0 = _mm256_add_pd(s0, widen(x + j));
  double sum = hsum(_mm256_add_pd(s0, s1));
  for (j = full; j < cols; ++j) sum += x[j];
  const double mean = sum / cols;
  const __m256d vmean = _mm256_set1_pd(mean);
  s0 = _mm256_setzero_pd(), s1 = _mm256_setzero_pd();
  for (j = 0; j + 8 <= full; j += 8) {
    const __m256d d0 = _mm256_sub_pd(widen(x + j), vmean);
    const __m256d d1 = _mm256_sub_pd(widen(x + j + 4), vmean);
    s0 = _mm256_add_pd(s0, _mm256_mul_pd(d0, d0));
    s1 = _mm256_add_pd(s1, _mm256_mul_pd(d1, d1));
  }
  if (j < full) {
    const __m256d d = _mm256_sub_pd(widen(x + j), vmean);
    s0 = _mm256_add_pd(s0, _mm256_mul_pd(d, d));
  }
  double sq = hsum(_mm256_add_pd(s0, s1));
  for (j = full; j < cols; ++j) sq += (x[j] - mean) * (x[j] - mean);
  const double rstd = 1.0 / std::sqrt(sq / cols + eps);
  const __m256d vrstd = _mm256_set1_pd(rstd);
  for (j = 0; j < full; j += 4) {
    __m256d v = _mm256_mul_pd(_mm256_sub_pd(widen(x + j), vmean), vrstd);
    if (gamma) v = _mm256_mul_pd(v, widen(gamma + j));
    if (beta) v = _mm256_add_pd(v, widen(beta + j));
    _mm_storeu_ps(y + j, _mm256_cvtpd_ps(v));
  }
  for (; j < cols; ++j) {
    double v = (x[j] - mean) * rstd;
    if (gamma) v *= gamma[j];
    if (beta) v += beta[j];
    y[j] = static_cast<float>(v);
  }
}

void layer_norm_rows(int rows, int cols, double eps, const float* in, const float* gamma,
                     const float* beta, float* out) {
  for (size_t r = 0; r < static_cast<size_t>(rows); ++r)
    layer_norm_row(cols, eps, in + r * cols, gamma, beta, out + r * cols);
}

constexpr F32RowKernel make_kernel(Isa isa) {
  return {"rows_f32_x8_avx2", isa,           &softmax_rows,     &layer_norm_rows,
          &map_ps<sigmoid_ps>, &map_ps<tanh_ps>, &map_ps<silu_ps>, &map_ps<exp_ps>};
}

}  // namespace

const F32RowKernel* f32_row_kernel(Isa isa) {
  static const F32RowKernel table[] = {make_kernel(Isa::avx2), make_kernel(Isa::avxvnni),
                                       make_kernel(Isa::avx512vnni)};
  for (const F32RowKernel& k : table)
    if (k.isa == isa) return &k;
  return nullptr;
}

}  // namespace qrt::kernels::x86
