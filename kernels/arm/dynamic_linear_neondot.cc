// Dynamic linear on the aarch64 dot product (sdot):
// dynamic_linear_s8s8_4x16_neondot. sdot multiplies s8 by s8, so the
// quantize stores q - 128 (q xor 0x80) and the accumulator start adds
// 128 * rowsum(w) back: sum (q - 128) w + (128 - zp) rowsum = sum (q - zp) w.
// Blocks of 16 columns, k groups of 4 bytes (dynamic_linear.h); the scan
// and quantize are dynamic_linear_neon.cc's.
#include <arm_neon.h>

#include <cstring>

#include "kernels/arm/dynamic_linear_neon.h"
#include "kernels/dynamic_linear.h"
#include "kernels/dynamic_linear_tile.h"

namespace qrt::kernels::dynlin {
namespace {

struct Dot {
  static constexpr int kNr = 4, kPanels = 4, kMr = 4, kSets = 2;
  using Acc = int32x4_t;
  using W = int8x16_t;
  using A = int8x16_t;
  using Epilogue = NeonEpilogue;
  static Acc zero() { return vdupq_n_s32(0); }
  static Acc add(const Acc& x, const Acc& y) { return vaddq_s32(x, y); }
  static W load_w(const int8_t* w) { return vld1q_s8(w); }
  static A load_a(const uint8_t* a) {
    int32_t x;
    std::memcpy(&x, a, 4);
    return vreinterpretq_s8_s32(vdupq_n_s32(x));
  }
  static void dot(Acc& acc, const A& a, const W& w) { acc = vdotq_s32(acc, w, a); }
  static void store(const Epilogue& e, const Acc& acc, int col, float* out) {
    neon_store4(e, acc, col, out);
  }
};

void gemm(const Packed* p, const Quant& q, int rows, const uint8_t* a, float* out) {
  gemm_blocks<Dot>(p, neon_epilogue(p, q, 128), rows, a, out);
}

constexpr TierOps kOps = {scan_neon, quantize_neon, gemm, 0x80};

}  // namespace

const DynamicLinearKernel kNeondot = {"dynamic_linear_s8s8_4x16_neondot", Isa::neon_dotprod,
                                      packed_bytes_for<Dot>, pack_for<Dot>, scratch_bytes,
                                      run_with<kOps>};

}  // namespace qrt::kernels::dynlin
