// Float32 softmax and layer normalization rows on AVX2 + FMA, for every x86
// tier: these ops read each row two or three times from L1 and are bound by
// their exp and reductions, not by vector width.
//
// softmax: m = max (NaN skipped, as softmax_f32_ref), e_j = exp(x_j - m) in
// float, y_j = e_j * f32(1 / sum e). exp reduces x = n ln2 + r, |r| <= ln2/2
// (ln2 split in two so n ln2 is exact), and sums e^r's Taylor series to r^7
// (truncation < 6e-9 relative), then scales by 2^n through the exponent
// bits; x - m rounds once in float (2^-24 |x - m| <= 5.2e-6 for the
// 87.3 below which e^x is taken as 0). Every output is within 1e-5 relative
// of the double reference; outputs the reference makes subnormal may be 0.
// NaN propagates: a NaN in the row, an all -inf row (-inf - -inf) and a
// +inf logit (inf - inf) make the row NaN as in the reference.
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

// e^x for x <= 0 (and NaN): 0 below -87.33, where 2^n would leave the normal range.
__m256 exp_nonpositive(__m256 x) {
  const __m256 lo = _mm256_set1_ps(-87.33f);
  const __m256 underflow = _mm256_cmp_ps(x, lo, _CMP_LT_OQ);
  x = _mm256_max_ps(lo, x);  // NaN stays: vmaxps returns its second operand
  const __m256 n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504f)),
                                   _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693359375f), x);
  r = _mm256_fnmadd_ps(n, _mm256_set1_ps(-2.12194440e-4f), r);
  __m256 p = _mm256_set1_ps(1.f / 5040);
  for (const float c : {1.f / 720, 1.f / 120, 1.f / 24, 1.f / 6, 0.5f, 1.f, 1.f})
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(c));
  const __m256i bits = _mm256_slli_epi32(
      _mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
  return _mm256_andnot_ps(underflow, _mm256_mul_ps(p, _mm256_castsi256_ps(bits)));
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
    const __m256 e = exp_nonpositive(_mm256_sub_ps(_mm256_loadu_ps(in + j), m));
    _mm256_storeu_ps(out + j, e);
    sum = _mm256_add_ps(sum, e);
  }
  if (full < cols) {
    const __m256 e = _mm256_and_ps(
        exp_nonpositive(_mm256_sub_ps(_mm256_maskload_ps(in + full, tail), m)),
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

}  // namespace

const F32RowKernel* f32_row_kernel(Isa isa) {
  static const F32RowKernel table[] = {
      {"rows_f32_x8_avx2", Isa::avx2, &softmax_rows, &layer_norm_rows},
      {"rows_f32_x8_avx2", Isa::avxvnni, &softmax_rows, &layer_norm_rows},
      {"rows_f32_x8_avx2", Isa::avx512vnni, &softmax_rows, &layer_norm_rows},
  };
  for (const F32RowKernel& k : table)
    if (k.isa == isa) return &k;
  return nullptr;
}

}  // namespace qrt::kernels::x86
