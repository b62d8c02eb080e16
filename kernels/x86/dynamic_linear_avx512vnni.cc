// Dynamic linear on zmm vpdpbusd (AVX512-VNNI): dynamic_linear_u8s8_4x64_avx512vnni.
// Blocks of 64 columns; each k group's activation bytes, broadcast to every
// lane, meet 4 vectors of 16 columns' weights, and vpdpbusd adds the 4
// u8 x s8 products exactly into int32. The scan and quantize are
// dynamic_linear_avx2.cc's; the epilogue is dynamic_linear_ymm.h's on zmm.
#include <immintrin.h>

#include <cstring>

#include "kernels/dynamic_linear.h"
#include "kernels/dynamic_linear_tile.h"

namespace qrt::kernels::dynlin {
namespace {

struct Epilogue {
  const int32_t* rowsum;
  const float* scale;
  const float* bias;
  __m512i init_mult;
  __m512 a_scale, lo, hi;
  int n;
};

struct Zmm {
  static constexpr int kNr = 16, kPanels = 4, kMr = 4, kSets = 2;
  using Acc = __m512i;
  using W = __m512i;
  using A = __m512i;
  using Epilogue = dynlin::Epilogue;
  static Acc zero() { return _mm512_setzero_si512(); }
  static Acc add(const Acc& x, const Acc& y) { return _mm512_add_epi32(x, y); }
  static W load_w(const int8_t* w) { return _mm512_loadu_si512(w); }
  static A load_a(const uint8_t* a) {
    int32_t x;
    std::memcpy(&x, a, 4);
    return _mm512_set1_epi32(x);
  }
  // Ties the accumulator to the output, as gemm_avx512vnni.cc does.
  static void dot(Acc& acc, const A& a, const W& w) {
    __asm__("vpdpbusd %2, %1, %0" : "+v"(acc) : "v"(a), "v"(w));
  }
  // As ymm_store8: maxps(lo, v) and minps(hi, v) are std::max(v, lo) and
  // std::min(v, hi).
  static void store(const Epilogue& e, Acc acc, int col, float* out) {
    acc = _mm512_add_epi32(acc,
                           _mm512_mullo_epi32(_mm512_loadu_si512(e.rowsum + col), e.init_mult));
    const __m512 dq = _mm512_mul_ps(_mm512_loadu_ps(e.scale + col), e.a_scale);
    __m512 v = _mm512_mul_ps(_mm512_cvtepi32_ps(acc), dq);
    if (e.bias) v = _mm512_add_ps(v, _mm512_loadu_ps(e.bias + col));
    v = _mm512_min_ps(e.hi, _mm512_max_ps(e.lo, v));
    const int left = e.n - col;
    const __mmask16 mask = left >= 16 ? 0xFFFF : static_cast<__mmask16>((1u << left) - 1);
    _mm512_mask_storeu_ps(out + col, mask, v);
  }
};

void gemm(const Packed* p, const Quant& q, int rows, const uint8_t* a, float* out) {
  Epilogue e;
  e.rowsum = rowsum(p);
  e.scale = col_scale(p);
  e.bias = p->add_bias ? col_bias(p) : nullptr;
  e.init_mult = _mm512_set1_epi32(-q.zp);
  e.a_scale = _mm512_set1_ps(q.scale);
  e.lo = _mm512_set1_ps(p->src.act_min);
  e.hi = _mm512_set1_ps(p->src.act_max);
  e.n = p->n;
  gemm_blocks<Zmm>(p, e, rows, a, out);
}

constexpr TierOps kOps = {scan_avx2, quantize_avx2, gemm, 0};

}  // namespace

const DynamicLinearKernel kAvx512vnni = {"dynamic_linear_u8s8_4x64_avx512vnni", Isa::avx512vnni,
                                         packed_bytes_for<Zmm>, pack_for<Zmm>, scratch_bytes,
                                         run_with<kOps>};

}  // namespace qrt::kernels::dynlin
