// The tile loop of the dynamic linear kernels, shared by every tier's file
// (x86 and ARM) over the tier's vector traits. Each file instantiates it
// only with traits from its own anonymous namespace, so no function
// compiled with one tier's -m flags can stand in for another's (see
// kernels/x86/layout.h).
//
// Traits T supply:
//   kNr, kPanels        the packed Layout (dynamic_linear.h)
//   kMr                 rows per tile
//   kSets               accumulator sets a lone row (the GEMV) alternates
//                       over the k groups, so that consecutive dot products
//                       do not wait for each other
//   Acc, W, A           a panel's accumulators, a panel's k group of
//                       weights, a row's k group of activations
//   Epilogue
//   static Acc zero();  static Acc add(const Acc&, const Acc&);
//   static W load_w(const int8_t* w);  static A load_a(const uint8_t* a);
//   static void dot(Acc& acc, const A& a, const W& w);
//   static void store(const Epilogue& e, const Acc& acc, int col, float* out);
#pragma once

#include <cstddef>
#include <cstdint>

#include "kernels/dynamic_linear.h"

namespace qrt::kernels::dynlin {

// One k group of MR rows.
template <class T, int MR, int NP>
inline void tile_step(typename T::Acc (&acc)[MR][NP], const int8_t* w, const uint8_t* a,
                      size_t a_stride) {
  typename T::W wv[NP];
#pragma GCC unroll 8
  for (int j = 0; j < NP; ++j) wv[j] = T::load_w(w + j * T::kNr * 4);
#pragma GCC unroll 8
  for (int r = 0; r < MR; ++r) {
    const typename T::A av = T::load_a(a + r * a_stride);
#pragma GCC unroll 8
    for (int j = 0; j < NP; ++j) T::dot(acc[r][j], av, wv[j]);
  }
}

// MR rows x the NP panels of block b. The loops are unrolled in full so
// that the accumulator arrays live in registers. Padding panels past n
// hold zero weights and are not stored.
template <class T, int MR, int NP>
void tile(const Packed* p, const typename T::Epilogue& e, int b, const uint8_t* a, float* out) {
  constexpr int kSets = MR == 1 ? T::kSets : 1;
  const int groups = p->k_pad / 4;
  const size_t a_stride = static_cast<size_t>(p->k_pad);
  const int8_t* w = block_w(p, b);
  typename T::Acc acc[kSets][MR][NP];
#pragma GCC unroll 8
  for (int u = 0; u < kSets; ++u) {
#pragma GCC unroll 8
    for (int r = 0; r < MR; ++r) {
#pragma GCC unroll 8
      for (int j = 0; j < NP; ++j) acc[u][r][j] = T::zero();
    }
  }
  int g = 0;
  for (; g + kSets <= groups; g += kSets) {
#pragma GCC unroll 8
    for (int u = 0; u < kSets; ++u, w += NP * T::kNr * 4) {
      tile_step<T, MR, NP>(acc[u], w, a + 4 * (g + u), a_stride);
    }
  }
  if (g < groups) tile_step<T, MR, NP>(acc[0], w, a + 4 * g, a_stride);
#pragma GCC unroll 8
  for (int r = 0; r < MR; ++r) {
#pragma GCC unroll 8
    for (int j = 0; j < NP; ++j) {
      typename T::Acc sum = acc[0][r][j];
#pragma GCC unroll 8
      for (int u = 1; u < kSets; ++u) sum = T::add(sum, acc[u][r][j]);
      const int col = (b * T::kPanels + j) * T::kNr;
      if (col < p->n) T::store(e, sum, col, out + static_cast<size_t>(r) * p->n);
    }
  }
}

// Every row of a call, block after block: a block's weights stay in L1
// while the row tiles pass over them, and the GEMV reads each block once,
// front to back. Two tile shapes only (full row tiles, then single rows):
// every block has all its panels, so the code stays small on the boards.
template <class T>
void gemm_blocks(const Packed* p, const typename T::Epilogue& e, int rows, const uint8_t* a,
                 float* out) {
  for (int b = 0; b < p->blocks; ++b) {
    int r = 0;
    for (; r + T::kMr <= rows; r += T::kMr) {
      tile<T, T::kMr, T::kPanels>(p, e, b, a + static_cast<size_t>(r) * p->k_pad,
                                  out + static_cast<size_t>(r) * p->n);
    }
    for (; r < rows; ++r) {
      tile<T, 1, T::kPanels>(p, e, b, a + static_cast<size_t>(r) * p->k_pad,
                             out + static_cast<size_t>(r) * p->n);
    }
  }
}

// The DynamicLinearKernel entries of a tier.
template <class T>
size_t packed_bytes_for(int n, int k) {
  return packed_bytes(Layout{T::kNr, T::kPanels}, n, k);
}

template <class T>
void pack_for(const DynamicLinearParams& p, void* packed) {
  pack(Layout{T::kNr, T::kPanels}, p, packed);
}

template <const TierOps& kOps>
void run_with(const void* packed, int rows, const float* in, float* out, void* scratch) {
  run(kOps, packed, rows, in, out, scratch);
}

}  // namespace qrt::kernels::dynlin
