// The float epilogue and common traits of the ymm dynamic linear kernels
// (dynamic_linear_avx2.cc, dynamic_linear_avxvnni.cc). For files compiled
// with -mavx2; internal linkage only (see layout.h).
#pragma once

#include <immintrin.h>

#include <cstdint>
#include <cstring>

#include "kernels/dynamic_linear.h"

namespace qrt::kernels::dynlin {

struct YmmEpilogue {
  const int32_t* rowsum;
  const float* scale;
  const float* bias;  // null when nothing is added
  __m256i init_mult;  // a_offset - zp
  __m256 a_scale, lo, hi;
  __m256i lane;  // 0..7
  int n;
};

static inline YmmEpilogue ymm_epilogue(const Packed* p, const Quant& q, int32_t a_offset) {
  YmmEpilogue e;
  e.rowsum = rowsum(p);
  e.scale = col_scale(p);
  e.bias = p->add_bias ? col_bias(p) : nullptr;
  e.init_mult = _mm256_set1_epi32(a_offset - q.zp);
  e.a_scale = _mm256_set1_ps(q.scale);
  e.lo = _mm256_set1_ps(p->src.act_min);
  e.hi = _mm256_set1_ps(p->src.act_max);
  e.lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  e.n = p->n;
  return e;
}

// Columns col..col+7 of one output row (those below n). The column arrays
// are padded to whole blocks, so their loads stay inside the buffer.
// maxps(lo, v) and minps(hi, v) are the reference's std::max(v, lo) and
// std::min(v, hi), NaN and signed zeros included: each returns v unless
// the bound compares strictly beyond it.
static inline void ymm_store8(const YmmEpilogue& e, __m256i acc, int col, float* out) {
  const __m256i sums = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(e.rowsum + col));
  acc = _mm256_add_epi32(acc, _mm256_mullo_epi32(sums, e.init_mult));
  const __m256 dq = _mm256_mul_ps(_mm256_loadu_ps(e.scale + col), e.a_scale);
  __m256 v = _mm256_mul_ps(_mm256_cvtepi32_ps(acc), dq);
  if (e.bias) v = _mm256_add_ps(v, _mm256_loadu_ps(e.bias + col));
  v = _mm256_min_ps(e.hi, _mm256_max_ps(e.lo, v));
  if (col + 8 <= e.n) {
    _mm256_storeu_ps(out + col, v);
  } else {
    const __m256i mask = _mm256_cmpgt_epi32(_mm256_set1_epi32(e.n - col), e.lane);
    _mm256_maskstore_ps(out + col, mask, v);
  }
}

// What the ymm traits on u8 x s8 groups (dynamic_linear_tile.h) share:
// int32 accumulators of 8 columns, a k group of their weights as 32 bytes,
// and a row's 4 activation bytes in every lane. In an unnamed namespace:
// its member functions must not be shared between files of different tiers.
namespace {
struct YmmU8S8 {
  using Acc = __m256i;
  using W = __m256i;
  using A = __m256i;
  using Epilogue = YmmEpilogue;
  static Acc zero() { return _mm256_setzero_si256(); }
  static Acc add(const Acc& x, const Acc& y) { return _mm256_add_epi32(x, y); }
  static W load_w(const int8_t* w) {
    return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(w));
  }
  static A load_a(const uint8_t* a) {
    int32_t x;
    std::memcpy(&x, a, 4);
    return _mm256_set1_epi32(x);
  }
  static void store(const Epilogue& e, const Acc& acc, int col, float* out) {
    ymm_store8(e, acc, col, out);
  }
};
}  // namespace

}  // namespace qrt::kernels::dynlin
