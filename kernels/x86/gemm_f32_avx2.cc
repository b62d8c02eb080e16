// Float32 GEMM on AVX2 + FMA (the avx2 and avxvnni tiers): tiles of up to 6
// rows by 16 columns (gemm_f32.h), 12 accumulators, two b vectors and a
// broadcast in the 16 ymm registers.
#include <immintrin.h>

#include "kernels/x86/gemm_f32.h"

namespace qrt::kernels::x86 {
namespace {

struct Ymm {
  using V = __m256;
  using M = __m256i;
  static constexpr int kLanes = 8;
  static M mask(int count) {
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(count), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
  }
  static V zero() { return _mm256_setzero_ps(); }
  static V load(const float* p) { return _mm256_loadu_ps(p); }
  static V load(const float* p, M m) { return _mm256_maskload_ps(p, m); }
  static V bcast(float x) { return _mm256_set1_ps(x); }
  static V fma(V a, V b, V c) { return _mm256_fmadd_ps(a, b, c); }
  // vmaxps/vminps return their second operand when either is NaN.
  static V clamp(V x, V lo, V hi) { return _mm256_min_ps(hi, _mm256_max_ps(lo, x)); }
  static void store(float* p, V v, M m) { _mm256_maskstore_ps(p, m, v); }
};

}  // namespace

const F32GemmKernel kF32GemmAvx2 = f32_gemm_kernel<Ymm, 6, 2>("gemm_f32_6x16_avx2", Isa::avx2);
const F32GemmKernel kF32GemmAvxvnni =
    f32_gemm_kernel<Ymm, 6, 2>("gemm_f32_6x16_avx2", Isa::avxvnni);

}  // namespace qrt::kernels::x86
