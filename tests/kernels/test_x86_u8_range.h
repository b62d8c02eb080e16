// Inputs that steer the AVX2 GEMM onto its vpmaddubsw path (layout.h,
// u8_when_safe), for the x86 GEMM and conv differential tests: activations
// within the fbgemm profile's 0..127 (all of them, or all but a few
// scattered bytes, so that row blocks choose differently), and weights whose
// adjacent pairs cannot saturate int16.
#pragma once

#include <cstdint>
#include <random>
#include <vector>

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

inline void maybe_pair_safe(std::mt19937& rng, std::vector<int8_t>* w) {
  if (!coin(rng, 0.2)) return;
  const int bound = coin(rng) ? 64 : 40;
  for (auto& x : *w) x = static_cast<int8_t>(uniform(rng, -bound, bound));
}

}  // namespace qrt_x86_test
