// Float32 GEMM on AVX-512 (the avx512vnni tier): tiles of up to 8 rows by 32
// columns (gemm_f32.h), masked loads and stores for the last columns.
#include <immintrin.h>

#include "kernels/x86/gemm_f32.h"

namespace qrt::kernels::x86 {
namespace {

struct Zmm {
  using V = __m512;
  using M = __mmask16;
  static constexpr int kLanes = 16;
  static M mask(int count) { return static_cast<M>((1u << count) - 1); }
  static V zero() { return _mm512_setzero_ps(); }
  static V load(const float* p) { return _mm512_loadu_ps(p); }
  static V load(const float* p, M m) { return _mm512_maskz_loadu_ps(m, p); }
  static V bcast(float x) { return _mm512_set1_ps(x); }
  static V fma(V a, V b, V c) { return _mm512_fmadd_ps(a, b, c); }
  // vmaxps/vminps return their second operand when either is NaN.
  static V clamp(V x, V lo, V hi) { return _mm512_min_ps(hi, _mm512_max_ps(lo, x)); }
  static void store(float* p, V v, M m) { _mm512_mask_storeu_ps(p, m, v); }
};

}  // namespace

const F32GemmKernel kF32GemmAvx512 =
    f32_gemm_kernel<Zmm, 8, 2>("gemm_f32_8x32_avx512", Isa::avx512vnni);

}  // namespace qrt::kernels::x86
