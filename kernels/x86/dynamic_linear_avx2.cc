// Dynamic linear on AVX2: dynamic_linear_u8s8_2x16_avx2, and the scan and
// quantize every x86 tier shares (dynamic_linear.h has the numbers).
// Calls whose activations all stay below 128 take vpmaddubsw (Narrow).
//
// Activations use the whole 0..255 in the qnnpack profile, where
// vpmaddubsw's int16 pair sums saturate (2 * 255 * 128 > 32767), so both
// operands are widened to int16 and multiplied by vpmaddwd, whose int32
// pair sums are exact: the weights of a k group of 4 columns (16 bytes)
// become one ymm of int16, each column's 4 products land in two adjacent
// int32 lanes, and the epilogue adds the pairs (vphaddd, then vpermq puts
// the columns back in order). The weights stay int8 in memory: the GEMV
// streams 1 byte per MAC.
#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <cstring>

#include "kernels/dynamic_linear.h"
#include "kernels/dynamic_linear_tile.h"
#include "kernels/x86/dynamic_linear_ymm.h"

namespace qrt::kernels::dynlin {
namespace {

// Both operands widened to int16: vpmaddwd leaves each column's 4 products
// in two adjacent int32 lanes of lo (columns 0..3) and hi (4..7).
struct Wide {
  static constexpr int kNr = 8, kPanels = 2, kMr = 2, kSets = 1;
  struct Acc {
    __m256i lo, hi;
  };
  using W = Acc;
  using A = __m256i;
  using Epilogue = YmmEpilogue;
  static Acc zero() { return {_mm256_setzero_si256(), _mm256_setzero_si256()}; }
  static Acc add(const Acc& x, const Acc& y) {
    return {_mm256_add_epi32(x.lo, y.lo), _mm256_add_epi32(x.hi, y.hi)};
  }
  static W load_w(const int8_t* w) {
    return {_mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(w))),
            _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(w + 16)))};
  }
  static A load_a(const uint8_t* a) {
    int32_t x;
    std::memcpy(&x, a, 4);
    return _mm256_cvtepu8_epi16(_mm_set1_epi32(x));
  }
  static void dot(Acc& acc, const A& a, const W& w) {
    acc.lo = _mm256_add_epi32(acc.lo, _mm256_madd_epi16(w.lo, a));
    acc.hi = _mm256_add_epi32(acc.hi, _mm256_madd_epi16(w.hi, a));
  }
  // vphaddd gives columns 0 1 4 5 | 2 3 6 7; vpermq puts them in order.
  static void store(const Epilogue& e, const Acc& acc, int col, float* out) {
    ymm_store8(e, _mm256_permute4x64_epi64(_mm256_hadd_epi32(acc.lo, acc.hi), 0xD8), col, out);
  }
};

// Activations that all stay below 128 (the fbgemm profile's 0..127, or
// any call whose bytes do) make vpmaddubsw exact (2 * 127 * 128 < 2^15):
// a k group of 8 columns is then one vpmaddubsw and one vpmaddwd by ones,
// half the widening path's work.
struct Narrow : YmmU8S8 {
  static constexpr int kNr = 8, kPanels = 2, kMr = 4, kSets = 1;
  static void dot(Acc& acc, const A& a, const W& w) {
    acc = _mm256_add_epi32(acc, _mm256_madd_epi16(_mm256_maddubs_epi16(a, w),
                                                  _mm256_set1_epi16(1)));
  }
};

bool below_128(const uint8_t* a, size_t n) {
  __m256i any = _mm256_setzero_si256();
  size_t i = 0;
  for (; i + 32 <= n; i += 32) {
    any = _mm256_or_si256(any, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(a + i)));
  }
  uint8_t tail = 0;
  for (; i < n; ++i) tail |= a[i];
  return _mm256_movemask_epi8(any) == 0 && tail < 128;
}

void gemm(const Packed* p, const Quant& q, int rows, const uint8_t* a, float* out) {
  const YmmEpilogue e = ymm_epilogue(p, q, 0);
  if (below_128(a, static_cast<size_t>(rows) * p->k_pad)) {
    gemm_blocks<Narrow>(p, e, rows, a, out);
  } else {
    gemm_blocks<Wide>(p, e, rows, a, out);
  }
}

constexpr TierOps kOps = {scan_avx2, quantize_avx2, gemm, 0};

// Eight quantized values as int32, before the clamp: qnnpack rounds x * inv
// and adds zp after, fbgemm rounds fma(x, inv, zp) (inputs are finite and
// within the scanned range, so every value is far inside int32).
__m256i round8(const float* in, const Quant& q, __m256 inv, __m256 zpf, __m256i zpi) {
  const __m256 x = _mm256_loadu_ps(in);
  if (q.qnnpack) return _mm256_add_epi32(_mm256_cvtps_epi32(_mm256_mul_ps(x, inv)), zpi);
  return _mm256_cvtps_epi32(_mm256_fmadd_ps(x, inv, zpf));
}

}  // namespace

Range scan_avx2(const float* in, size_t n) {
  Range r{in[0], in[0], true};
  size_t i = 0;
  if (n >= 8) {
    __m256 lo = _mm256_loadu_ps(in), hi = lo;
    // x - x is +0 for a finite x and NaN otherwise.
    __m256 bad = _mm256_setzero_ps();
    for (; i + 8 <= n; i += 8) {
      const __m256 x = _mm256_loadu_ps(in + i);
      lo = _mm256_min_ps(lo, x);
      hi = _mm256_max_ps(hi, x);
      bad = _mm256_or_ps(bad, _mm256_sub_ps(x, x));
    }
    alignas(32) float l[8], h[8];
    _mm256_store_ps(l, lo);
    _mm256_store_ps(h, hi);
    r.lo = *std::min_element(l, l + 8);
    r.hi = *std::max_element(h, h + 8);
    r.finite = _mm256_testz_si256(_mm256_castps_si256(bad), _mm256_castps_si256(bad));
  }
  // The sign of a zero min or max does not change choose_quantization_params.
  for (; i < n; ++i) {
    r.lo = std::min(r.lo, in[i]);
    r.hi = std::max(r.hi, in[i]);
    r.finite &= std::isfinite(in[i]);
  }
  return r;
}

// packssdw and packuswb saturate exactly to clamp(value, 0, 255); their
// in-lane order is undone by one vpermd.
void quantize_avx2(const float* in, int k, int k_pad, const Quant& q, uint8_t flip, uint8_t* out) {
  const __m256 inv = _mm256_set1_ps(q.inv);
  const __m256 zpf = _mm256_set1_ps(static_cast<float>(q.zp));
  const __m256i zpi = _mm256_set1_epi32(q.zp);
  const __m256i order = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);
  const __m256i f = _mm256_set1_epi8(static_cast<char>(flip));
  alignas(32) float tail_in[32];
  alignas(32) uint8_t tail_out[32];
  for (int i = 0; i < k; i += 32) {
    const int count = std::min(32, k - i);
    const float* src = in + i;
    if (count < 32) {
      std::memset(tail_in, 0, sizeof(tail_in));
      std::memcpy(tail_in, src, count * sizeof(float));
      src = tail_in;
    }
    const __m256i ab = _mm256_packs_epi32(round8(src, q, inv, zpf, zpi),
                                          round8(src + 8, q, inv, zpf, zpi));
    const __m256i cd = _mm256_packs_epi32(round8(src + 16, q, inv, zpf, zpi),
                                          round8(src + 24, q, inv, zpf, zpi));
    const __m256i bytes =
        _mm256_xor_si256(_mm256_permutevar8x32_epi32(_mm256_packus_epi16(ab, cd), order), f);
    if (count == 32) {
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + i), bytes);
    } else {
      _mm256_store_si256(reinterpret_cast<__m256i*>(tail_out), bytes);
      std::memcpy(out + i, tail_out, count);
    }
  }
  std::memset(out + k, 0, k_pad - k);
}

const DynamicLinearKernel kAvx2 = {"dynamic_linear_u8s8_2x16_avx2", Isa::avx2,
                                   packed_bytes_for<Wide>, pack_for<Wide>, scratch_bytes,
                                   run_with<kOps>};

}  // namespace qrt::kernels::dynlin
