// Float32 GEMM on aarch64 NEON: gemm_f32_8x8_neon, under the F32GemmKernel
// contract (kernels/cpu.h) that the x86 tiers follow too: each output is its
// bias plus its k products in k order, every product fused into the sum
// (fmla, one rounding), then clamped as std::min(std::max(x, lo), hi).
//
// armv7 keeps the reference: its NEON arithmetic always flushes subnormal
// inputs and results to zero, so a vector vfma there is not the IEEE fused
// multiply-add of the contract.
//
// b is addressed per vector of 4 columns: vector v of a block, row kk at
// b + v * vec_stride + kk * row_stride. pack() stores FC's weights [n][k] as
// panels of 4 columns, [k][4] each (zero past n): vec_stride = 4 k,
// row_stride = 4. MatMul's b [k][n] is read where it lies: vec_stride = 4,
// row_stride = n; NEON has no masked load, so columns past the last whole
// vector of 4 take a scalar loop (std::fma, the same arithmetic).
//
// Two tiles, both with every accumulator in a register for the whole k
// loop: 8 rows x 8 columns (16 accumulators) for GEMM, and 1 row x 32
// columns for GEMV (one row's outputs are independent chains only across
// columns, and 8 of them cover the fmla latency).
#include "kernels/arm/tables.h"

#if defined(__aarch64__)

#include <arm_neon.h>

#include <algorithm>
#include <cmath>
#include <cstddef>

namespace qrt::kernels::arm {
namespace {

constexpr int kLanes = 4;
constexpr int kMr = 8;

struct Operand {
  const float* b;
  size_t vec_stride, row_stride;
  bool packed;
};

Operand operand(const F32GemmArgs& g) {
  if (g.packed)
    return {static_cast<const float*>(g.packed), static_cast<size_t>(g.k) * kLanes, kLanes, true};
  return {g.b, kLanes, g.b_stride, false};
}

// Vector column block starting at col (a multiple of 4 when packed).
const float* block_base(const Operand& op, int col) {
  return op.packed ? op.b + static_cast<size_t>(col / kLanes) * op.vec_stride : op.b + col;
}

// std::min(std::max(x, lo), hi) lane by lane: NaN stays NaN and -0 stays -0,
// where fmax/fmin would differ.
float32x4_t clamp(float32x4_t x, float32x4_t lo, float32x4_t hi) {
  x = vbslq_f32(vcltq_f32(x, lo), lo, x);
  return vbslq_f32(vcltq_f32(hi, x), hi, x);
}

// Rows [row, row + rows) (rows <= R) by columns [col, col + cols), cols <=
// NV * 4; every lane loaded from b exists (packed panels are zero past n;
// in place, cols is whole vectors). Rows past `rows` repeat the last one and
// vectors past `cols` the last one, computed and never stored. The bias and
// the results pass through `edge` so that only the k loop is unrolled.
template <int R, int NV>
void tile(const F32GemmArgs& g, const Operand& op, int row, int rows, int col, int cols) {
  constexpr int kCols = NV * kLanes;
  const int vectors = (cols + kLanes - 1) / kLanes;
  float edge[R][kCols];
  for (int j = 0; j < kCols; ++j) edge[0][j] = g.bias && j < cols ? g.bias[col + j] : 0.f;
  const float* a[R];
  float32x4_t acc[R][NV];
  const float* bv[NV];
  const float* base = block_base(op, col);
#pragma GCC unroll 8
  for (int r = 0; r < R; ++r) {
    a[r] = g.a + static_cast<size_t>(row + std::min(r, rows - 1)) * g.a_stride;
#pragma GCC unroll 8
    for (int v = 0; v < NV; ++v) acc[r][v] = vld1q_f32(edge[0] + v * kLanes);
  }
#pragma GCC unroll 8
  for (int v = 0; v < NV; ++v)
    bv[v] = base + static_cast<size_t>(std::min(v, vectors - 1)) * op.vec_stride;
  for (int kk = 0; kk < g.k; ++kk) {
    float32x4_t bk[NV];
#pragma GCC unroll 8
    for (int v = 0; v < NV; ++v) bk[v] = vld1q_f32(bv[v] + kk * op.row_stride);
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r) {
      const float ar = a[r][kk];
#pragma GCC unroll 8
      for (int v = 0; v < NV; ++v) acc[r][v] = vfmaq_n_f32(acc[r][v], bk[v], ar);
    }
  }
  const float32x4_t lo = vdupq_n_f32(g.act_min), hi = vdupq_n_f32(g.act_max);
#pragma GCC unroll 8
  for (int r = 0; r < R; ++r)
#pragma GCC unroll 8
    for (int v = 0; v < NV; ++v) vst1q_f32(edge[r] + v * kLanes, clamp(acc[r][v], lo, hi));
  for (int r = 0; r < rows; ++r)
    std::copy(edge[r], edge[r] + cols, g.out + static_cast<size_t>(row + r) * g.out_stride + col);
}

// Columns [col, n_end) of b read in place, fewer than 4.
void scalar_columns(const F32GemmArgs& g, int m_begin, int m_end, int col, int n_end) {
  for (int m = m_begin; m < m_end; ++m) {
    const float* a = g.a + static_cast<size_t>(m) * g.a_stride;
    for (int j = col; j < n_end; ++j) {
      float acc = g.bias ? g.bias[j] : 0.f;
      for (int kk = 0; kk < g.k; ++kk) acc = std::fma(a[kk], g.b[kk * g.b_stride + j], acc);
      g.out[static_cast<size_t>(m) * g.out_stride + j] =
          std::min(std::max(acc, g.act_min), g.act_max);
    }
  }
}

size_t packed_bytes(int n, int k) {
  const size_t panels = (static_cast<size_t>(n) + kLanes - 1) / kLanes;
  return panels * static_cast<size_t>(k) * kLanes * sizeof(float);
}

// Prepare-time only: cold, so GCC sizes it instead of vectorising it.
__attribute__((cold)) void pack(int n, int k, const float* w, void* packed) {
  float* dst = static_cast<float*>(packed);
  for (int p = 0; p * kLanes < n; ++p)
    for (int kk = 0; kk < k; ++kk)
      for (int j = 0; j < kLanes; ++j) {
        const int col = p * kLanes + j;
        *dst++ = col < n ? w[static_cast<size_t>(col) * k + kk] : 0.f;
      }
}

void run(const F32GemmArgs& g, int m_begin, int m_end, int n_begin, int n_end) {
  if (m_end <= m_begin || n_end <= n_begin) return;
  const Operand op = operand(g);
  // In place, the vector tiles stop at the last whole vector of columns.
  const int vec_end = op.packed ? n_end : n_begin + (n_end - n_begin) / kLanes * kLanes;
  if (m_end - m_begin == 1) {
    constexpr int kBlock = 8 * kLanes;
    for (int col = n_begin; col < vec_end; col += kBlock)
      tile<1, 8>(g, op, m_begin, 1, col, std::min(kBlock, vec_end - col));
  } else {
    // Columns outer: a block of b (k x 8) stays in cache while every row
    // tile passes it.
    constexpr int kBlock = 2 * kLanes;
    for (int col = n_begin; col < vec_end; col += kBlock)
      for (int m = m_begin; m < m_end; m += kMr)
        tile<kMr, 2>(g, op, m, std::min(kMr, m_end - m), col, std::min(kBlock, vec_end - col));
  }
  if (vec_end < n_end) scalar_columns(g, m_begin, m_end, vec_end, n_end);
}

const F32GemmKernel kNeon{"gemm_f32_8x8_neon", Isa::neon, kMr, 2 * kLanes, &packed_bytes, &pack,
                          &run};
const F32GemmKernel kNeonDot{"gemm_f32_8x8_neon", Isa::neon_dotprod, kMr, 2 * kLanes,
                             &packed_bytes, &pack, &run};

}  // namespace

// The dot product has nothing to offer float32: the dotprod tier runs the
// NEON kernel under its own tier.
const F32GemmKernel* f32_gemm_kernel(Isa isa) {
  return isa == Isa::neon ? &kNeon : isa == Isa::neon_dotprod ? &kNeonDot : nullptr;
}

}  // namespace qrt::kernels::arm

#else

namespace qrt::kernels::arm {

const F32GemmKernel* f32_gemm_kernel(Isa) { return nullptr; }

}  // namespace qrt::kernels::arm

#endif
