// Dynamic linear on ymm vpdpbusd (AVX-VNNI, VEX encoded):
// dynamic_linear_u8s8_2x32_avxvnni. Blocks of 32 columns; each k group's
// activation bytes, broadcast to every lane, meet 4 vectors of 8 columns'
// weights, and vpdpbusd adds the 4 u8 x s8 products exactly into int32.
// The scan and quantize are dynamic_linear_avx2.cc's.
#include <immintrin.h>

#include "kernels/dynamic_linear.h"
#include "kernels/dynamic_linear_tile.h"
#include "kernels/x86/dynamic_linear_ymm.h"

namespace qrt::kernels::dynlin {
namespace {

// Two rows: 8 accumulators and 4 weight vectors fill the 16 ymm registers.
struct Ymm : YmmU8S8 {
  static constexpr int kNr = 8, kPanels = 4, kMr = 2, kSets = 2;
  // Ties the accumulator to the output, as gemm_avxvnni.cc does (GCC 12
  // would copy every accumulator per step otherwise).
  static void dot(Acc& acc, const A& a, const W& w) {
    __asm__("%{vex%} vpdpbusd %2, %1, %0" : "+x"(acc) : "x"(a), "x"(w));
  }
};

void gemm(const Packed* p, const Quant& q, int rows, const uint8_t* a, float* out) {
  gemm_blocks<Ymm>(p, ymm_epilogue(p, q, 0), rows, a, out);
}

constexpr TierOps kOps = {scan_avx2, quantize_avx2, gemm, 0};

}  // namespace

const DynamicLinearKernel kAvxvnni = {"dynamic_linear_u8s8_2x32_avxvnni", Isa::avxvnni,
                                      packed_bytes_for<Ymm>, pack_for<Ymm>, scratch_bytes,
                                      run_with<kOps>};

}  // namespace qrt::kernels::dynlin
