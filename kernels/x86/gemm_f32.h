// The float32 GEMM of the x86 tiers (gemm_f32_avx2.cc, gemm_f32_avx512.cc),
// written once over a tier's vector type W:
//
//   V, M            kLanes floats; a lane mask
//   mask(c)         the first c lanes, c in [0, kLanes]
//   load(p[, m])    kLanes floats (masked: zero outside m, nothing read there)
//   bcast, fma      broadcast one float; a * b + c rounded once
//   clamp(x, lo, hi)  NaN stays NaN, as std::min(std::max(x, lo), hi) does
//   store(p, v, m)  the lanes of m
//
// A tile is R rows by NV vectors of columns, its accumulators in registers
// for the whole k loop, k in order from the bias (as fully_connected_f32_ref
// sums, with one rounding per product-add instead of two).
//
// b is addressed per vector of columns: vector v of a block, row kk at
// b + v * vec_stride + kk * row_stride. pack() stores FC's weights [n][k] as
// panels of kLanes columns, [k][kLanes] each (zero past n), so vec_stride =
// k * kLanes and row_stride = kLanes; MatMul's b [k][n] is read as it lies,
// vec_stride = kLanes and row_stride = n, with masked loads on the last
// columns (past n there may be nothing to read).
//
// Everything here has internal linkage: each tier file compiles its own copy
// with its own -m flags (see layout.h).
#pragma once

#include <algorithm>
#include <cstddef>

#include "kernels/cpu.h"

namespace qrt::kernels::x86 {

extern const F32GemmKernel kF32GemmAvx2;
extern const F32GemmKernel kF32GemmAvxvnni;
extern const F32GemmKernel kF32GemmAvx512;

namespace {

template <class W>
size_t f32_gemm_packed_bytes(int n, int k) {
  const size_t panels = (static_cast<size_t>(n) + W::kLanes - 1) / W::kLanes;
  return panels * static_cast<size_t>(k) * W::kLanes * sizeof(float);
}

template <class W>
void f32_gemm_pack(int n, int k, const float* w, void* packed) {
  float* dst = static_cast<float*>(packed);
  for (int p = 0; p * W::kLanes < n; ++p)
    for (int kk = 0; kk < k; ++kk)
      for (int j = 0; j < W::kLanes; ++j) {
        const int col = p * W::kLanes + j;
        *dst++ = col < n ? w[static_cast<size_t>(col) * k + kk] : 0.f;
      }
}

// Columns [col, col + cols) of rows [row, row + R), cols <= NV * kLanes.
template <class W, int R, int NV, bool kMaskLoads>
void f32_tile(const F32GemmArgs& g, const float* b, size_t vec_stride, size_t row_stride, int row,
              int col, int cols) {
  using V = typename W::V;
  typename W::M mask[NV];
  const float* bv[NV];
  V acc[R][NV];
  const int last = (cols - 1) / W::kLanes;
  for (int v = 0; v < NV; ++v) {
    mask[v] = W::mask(std::clamp(cols - v * W::kLanes, 0, W::kLanes));
    // A vector wholly past the columns reads the last real one (all lanes
    // masked off, or computed and not stored): its address stays valid.
    bv[v] = b + static_cast<size_t>(std::min(v, last)) * vec_stride;
    const V init = g.bias ? W::load(g.bias + col + std::min(v, last) * W::kLanes, mask[v])
                          : W::zero();
    for (int r = 0; r < R; ++r) acc[r][v] = init;
  }
  const float* a = g.a + static_cast<size_t>(row) * g.a_stride;
  for (int kk = 0; kk < g.k; ++kk) {
    V bk[NV];
    for (int v = 0; v < NV; ++v) {
      const float* p = bv[v] + kk * row_stride;
      bk[v] = kMaskLoads ? W::load(p, mask[v]) : W::load(p);
    }
    for (int r = 0; r < R; ++r) {
      const V ar = W::bcast(a[r * g.a_stride + kk]);
      for (int v = 0; v < NV; ++v) acc[r][v] = W::fma(ar, bk[v], acc[r][v]);
    }
  }
  const V lo = W::bcast(g.act_min), hi = W::bcast(g.act_max);
  float* out = g.out + static_cast<size_t>(row) * g.out_stride + col;
  for (int r = 0; r < R; ++r)
    for (int v = 0; v <= last && v < NV; ++v)
      W::store(out + r * g.out_stride + v * W::kLanes, W::clamp(acc[r][v], lo, hi), mask[v]);
}

// Few rows leave few accumulators per column vector, so they take wider
// blocks: every tile keeps at least 8 independent FMA chains (4 cycles of
// latency times 2 FMA ports) where the columns allow it.
template <int R>
constexpr int f32_wide_nv() {
  return R == 1 ? 8 : R == 2 ? 4 : 2;
}

template <class W, int R, int NV>
void f32_rows(const F32GemmArgs& g, int row, int n_begin, int n_end) {
  constexpr int kBlock = NV * W::kLanes;
  const bool packed = g.packed != nullptr;
  const float* b = packed ? static_cast<const float*>(g.packed) : g.b;
  const size_t vec_stride = packed ? static_cast<size_t>(g.k) * W::kLanes : W::kLanes;
  const size_t row_stride = packed ? W::kLanes : g.b_stride;
  // Column col sits in panel col / kLanes, lane col % kLanes (n_begin is a
  // multiple of kLanes), or at b + col.
  const auto base = [&](int col) {
    return packed ? b + static_cast<size_t>(col / W::kLanes) * vec_stride : b + col;
  };
  int col = n_begin;
  for (; col + kBlock <= n_end; col += kBlock)
    f32_tile<W, R, NV, false>(g, base(col), vec_stride, row_stride, row, col, kBlock);
  if (col == n_end) return;
  // The packed panels are zero past n, so only b read in place needs masks.
  if (packed)
    f32_tile<W, R, NV, false>(g, base(col), vec_stride, row_stride, row, col, n_end - col);
  else
    f32_tile<W, R, NV, true>(g, base(col), vec_stride, row_stride, row, col, n_end - col);
}

// R = min(rows, R) rows from row on, NV vectors a tile (0: f32_wide_nv).
template <class W, int R, int NV>
void f32_dispatch(const F32GemmArgs& g, int rows, int row, int n_begin, int n_end) {
  if constexpr (R > 1) {
    if (rows < R) return f32_dispatch<W, R - 1, NV>(g, rows, row, n_begin, n_end);
  }
  f32_rows<W, R, NV ? NV : f32_wide_nv<R>()>(g, row, n_begin, n_end);
}

template <class W, int MR, int NV>
void f32_gemm_run(const F32GemmArgs& g, int m_begin, int m_end, int n_begin, int n_end) {
  const int rows = m_end - m_begin;
  if (rows <= 0 || n_end <= n_begin) return;
  if (rows < MR) return f32_dispatch<W, MR - 1, 0>(g, rows, m_begin, n_begin, n_end);
  // Columns outer: each block of b (k x NV vectors) comes from memory once and
  // stays in L1/L2 while every row tile passes it; a, usually the smaller
  // operand, is what gets read again (from L2), once per block.
  constexpr int kBlock = NV * W::kLanes;
  for (int col = n_begin; col < n_end; col += kBlock)
    for (int m = m_begin; m < m_end; m += MR)
      f32_dispatch<W, MR, NV>(g, std::min(MR, m_end - m), m, col,
                                 std::min(col + kBlock, n_end));
}

// The tier's table: MR x NV vectors is the tile of many rows.
template <class W, int MR, int NV>
constexpr F32GemmKernel f32_gemm_kernel(const char* name, Isa isa) {
  return F32GemmKernel{name, isa, MR, NV * W::kLanes, &f32_gemm_packed_bytes<W>, &f32_gemm_pack<W>,
                       &f32_gemm_run<W, MR, NV>};
}

}  // namespace
}  // namespace qrt::kernels::x86
