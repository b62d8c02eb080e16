// Inputs that steer the AVX2 GEMM onto its vpmaddubsw path (layout.h,
// u8_when_safe), for the x86 GEMM and conv differential tests: activations
// within the fbgemm profile's 0..127 (all of them, or all but a few
// scattered bytes, so that row blocks choose differently), and weights whose
// adjacent pairs cannot saturate int16.
#pragma once

#include <cstdint>
#include <random>
#include <vector>

#include "kernels/x86/layout.h"
#include "test_x86_common.h"

namespace qrt_x86_test {

inline void maybe_fbgemm_range(std::mt19937& rng, std::vector<uint8_t>* a) {
  const int mode = uniform(rng, 0, 9);
  if (mode >= 5) return;
  for (auto& x : *a) x &= 127;
  if (mode >= 3 || a->empty()) return;
  // A few bytes above 127 again.
  const int outliers = uniform(rng, 1, 3);
  for (int i = 0; i < outliers; ++i) {
    (*a)[uniform(rng, 0, static_cast<int>(a->size()) - 1)] |= 128;
  }
}

// Pair-safe weights (20%), or weights like a trained layer's (30%): small,
// with rare large ones anywhere in -128..127, which make a few k groups
// unsafe; a qnnpack GEMM of them packs with a step schedule on AVX2.
inline void maybe_pair_safe(std::mt19937& rng, std::vector<int8_t>* w) {
  const int mode = uniform(rng, 0, 9);
  if (mode < 2) {
    const int bound = coin(rng) ? 64 : 40;
    for (auto& x : *w) x = static_cast<int8_t>(uniform(rng, -bound, bound));
  } else if (mode < 5) {
    const int bound = uniform(rng, 8, 40);
    const double outliers = coin(rng) ? 0.002 : 0.02;
    for (auto& x : *w) {
      const bool large = coin(rng, outliers);
      x = static_cast<int8_t>(large ? (coin(rng, 0.3) ? (coin(rng) ? 127 : -128)
                                                      : uniform(rng, -128, 127))
                                    : uniform(rng, -bound, bound));
    }
  }
}

// Whether a packed AVX2 GEMM took the scheduled u8 layout.
inline bool gemm_scheduled(const void* packed) {
  return static_cast<const qrt::kernels::x86::GemmPacked*>(packed)->scheduled != 0;
}

}  // namespace qrt_x86_test
